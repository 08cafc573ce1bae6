#!/usr/bin/env bash
# Browser tests of the web client: installs the pinned playwright-core (npm ci) and runs
# node's test runner. Needs TIANYI_SERVER_BIN and TIANYI_FAKE_BIN (ctest sets them) and
# Debian's chromium (/usr/bin/chromium, or CHROMIUM_BIN).
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --loglevel=error
exec node --test --test-concurrency=1 web.test.js live2d-voice.test.js phone-language.test.js devices.test.js handsfree.test.js resampler.test.js
