#!/usr/bin/env bash
# README command 2: install what is needed, build the Debian packages (release build of the three
# programs + CPack; tests/packaging installs them), build everything with AddressSanitizer + UBSan
# (warnings are errors), and run every test with ctest. .ci/run calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

packaging/install-deps.sh test
cmake --preset release
cmake --build --preset release --target tianyi-server tianyi-cli tianyi-admin
rm -rf build/release/packages
cpack --config build/release/CPackConfig.cmake -B build/release/packages
cmake --preset asan
cmake --build --preset asan
ctest --preset asan --parallel "${TIANYI_TEST_JOBS:-2}"
