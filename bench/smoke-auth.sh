#!/usr/bin/env bash
# ctest smoke pass of the auth benchmark harness: a real server, a one-second storm, sane JSON out.
# Usage: smoke-auth.sh SERVER_BINARY AUTHBENCH_BINARY
set -euo pipefail
server="$1"; bench="$2"
data=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data"' EXIT
TIANYI_AUTH_ARGON2_OPS_LIMIT=1 TIANYI_AUTH_ARGON2_MEM_LIMIT_KIB=8 "$server" --port 0 --data-dir "$data" >"$data/out" 2>"$data/err" &
pid=$!
url=""
for _ in $(seq 300); do
  url=$(sed -n 's|.*Browser: \(http://[0-9.:]*\)/.*|\1|p' "$data/out" 2>/dev/null | head -1)
  [ -n "$url" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$data/err" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "server did not start" >&2; exit 1; }
"$bench" --server "$url" --users 2 --concurrency 2 --seconds 1 --probes 20 > "$data/result.json"
python3 - "$data/result.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["logins"] > 0 and r["login_errors"] == 0, r
assert r["healthz_quiet"]["count"] == 20, r
print("authbench smoke ok:", r["logins"], "logins")
PY
