#!/usr/bin/env bash
# README command 2: install what is needed, build everything with AddressSanitizer + UBSan
# (warnings are errors), and run every test with ctest. .ci/run calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

packaging/install-deps.sh test
cmake --preset asan
cmake --build --preset asan
ctest --preset asan --parallel "${TIANYI_TEST_JOBS:-2}"
