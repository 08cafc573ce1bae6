#!/usr/bin/env bash
# Puts the open-source scripts of the Live2D avatar into DIR/lib (DIR is web.live2d_dir):
# pixi.min.js (pixi.js 6) and cubism4.min.js (pixi-live2d-display 0.4), from npm at the versions
# pinned in packaging/live2d/package-lock.json. Live2D Cubism Core (live2dcubismcore.min.js) is
# proprietary: download it from Live2D (https://www.live2d.com/en/sdk/download/web/), accept its
# licence, and put it into DIR/lib yourself; this script says whether it is there.
# Usage: packaging/install-live2d-libs.sh DIR
set -euo pipefail
if [ $# -ne 1 ]; then
  echo "usage: $0 LIVE2D_DIR   (the directory you set as web.live2d_dir)" >&2
  exit 2
fi
dir="$1"
here="$(cd "$(dirname "$0")" && pwd)"
command -v npm >/dev/null || { echo "install-live2d-libs: npm is needed (apt-get install npm)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$here/live2d/package.json" "$here/live2d/package-lock.json" "$work/"
(cd "$work" && npm ci --no-audit --no-fund --loglevel=error --ignore-scripts)
mkdir -p "$dir/lib"
cp "$work/node_modules/pixi.js/dist/browser/pixi.min.js" "$dir/lib/pixi.min.js"
cp "$work/node_modules/pixi-live2d-display/dist/cubism4.min.js" "$dir/lib/cubism4.min.js"
echo "install-live2d-libs: $dir/lib has pixi.min.js and cubism4.min.js"
if [ -f "$dir/lib/live2dcubismcore.min.js" ]; then
  echo "install-live2d-libs: Live2D Cubism Core found ($dir/lib/live2dcubismcore.min.js)"
else
  echo "install-live2d-libs: Live2D Cubism Core is missing: put live2dcubismcore.min.js (from Live2D's Cubism SDK for Web) into $dir/lib"
fi
