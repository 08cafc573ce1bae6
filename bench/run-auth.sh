#!/usr/bin/env bash
# Issue-2 benchmark: logins per second and /healthz latency with and without a login storm,
# against a freshly started release tianyi-server with production Argon2id settings.
# Usage: bench/run-auth.sh [seconds] [concurrency]   -> JSON on stdout, progress on stderr
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
concurrency="${2:-8}"

cmake --preset release >/dev/null
cmake --build --preset release --target tianyi-server tianyi-authbench >&2

data=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
build/release/server/tianyi-server --port "$port" --data-dir "$data" >"$data/server.out" 2>"$data/server.err" &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 100); do
  grep -q "Browser:" "$data/server.out" 2>/dev/null && break
  sleep 0.1
done

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" >&2
echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)" >&2
build/release/bench/tianyi-authbench --server "http://127.0.0.1:$port" --seconds "$seconds" --concurrency "$concurrency"
