#!/usr/bin/env bash
# Installs the Debian bookworm packages tianyi needs to build, run and test. Idempotent: only
# missing packages are installed. Usage: packaging/install-deps.sh [build|test]
set -euo pipefail

what="${1:-build}"

build_packages=(
  build-essential cmake ninja-build pkg-config git
  qt6-base-dev qt6-base-dev-tools qt6-websockets-dev qt6-httpserver-dev qt6-multimedia-dev qt6-charts-dev
  libqt6opengl6-dev   # Qt6Charts' CMake package needs Qt6OpenGL's (tianyi-admin)
  qt6-tools-dev qt6-tools-dev-tools qt6-l10n-tools libqt6sql6-sqlite libqt6sql6-psql qtkeychain-qt6-dev libgl-dev
  libsodium-dev libespeak-ng-dev espeak-ng-data
  libsqlite3-dev                # tianyi-server --backup / --restore use SQLite's online backup API directly
  libsystemd-dev                # sd_notify for the Type=notify unit
  libwebrtc-audio-processing-dev  # noise suppression + voice detection of the listening microphone stream
)
test_packages=(
  python3 python3-jwt sqlite3 curl
  chromium fonts-wqy-microhei   # browser tests of the web client (the font renders Chinese in screenshots)
  xvfb xauth                    # admin-gui/take-screenshots.sh runs tianyi-admin under xvfb-run
  haproxy nginx-light openssl   # tests/net/reverse_proxies.py: the shipped proxy configurations with TLS
  python3-jsonschema python3-yaml  # tests/openapi: docs/openapi.yaml and the monitoring files against the real server
  clang libclang-rt-14-dev      # bench/fuzz.sh: the fuzz preset (clang 14, libFuzzer + sanitizer runtimes)
  lintian dpkg-dev              # tests/packaging: CPack's dpkg-shlibdeps and the packages' lint
  espeak-ng                     # tests/support/speechaudio: real speech for the listening tests (the CLI)
)

packages=("${build_packages[@]}")
if [ "$what" = "test" ]; then
  packages+=("${test_packages[@]}")
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Node.js and npm run the browser tests. Any installation will do (the machine may carry NodeSource's
# build, which bundles npm); Debian's packages are the fallback.
if [ "$what" = "test" ]; then
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd=(sudo)
fi
echo "install-deps: installing ${missing[*]}"
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
