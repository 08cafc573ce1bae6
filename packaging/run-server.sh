#!/usr/bin/env bash
# README command 1: install what is needed, build the release preset, start tianyi-server with its
# embedded defaults (built-in offline providers, SQLite under ./data). Extra arguments go to the server.
# Environment: PORT (default 8080), DATA_DIR (default ./data), and any TIANYI_SECTION_KEY setting.
set -euo pipefail
cd "$(dirname "$0")/.."

packaging/install-deps.sh build
cmake --preset release >/dev/null
cmake --build --preset release --target tianyi-server

exec build/release/server/tianyi-server --port "${PORT:-8080}" --data-dir "${DATA_DIR:-./data}" "$@"
