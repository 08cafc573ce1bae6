#!/usr/bin/env bash
# Regenerates docs/configuration.md: the hand-written part (configuration.head.md) followed by the
# key table printed by the server itself. Run after adding a key: tst_config fails until you do.
set -euo pipefail
cd "$(dirname "$0")/.."
server="${1:-build/debug/server/tianyi-server}"
{ cat docs/configuration.head.md; "$server" --print-config-reference; } > docs/configuration.md
echo "docs/configuration.md regenerated from $server"
