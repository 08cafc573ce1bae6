#!/usr/bin/env bash
# Reproduces docs/screenshots/admin-*.png with real data: builds the programs, starts a server on a
# fresh data directory (the LLM is tianyi-fake-upstream streaming at a human pace, so that the LLM
# chart has requests in flight; the voice is the built-in espeak-ng), creates the admin
# "root", lets two users chat through tianyi-cli, disables a third user, and runs
# `tianyi-admin --screenshots` under Xvfb. Usage: admin-gui/take-screenshots.sh [OUT_DIR]
# (default docs/screenshots). Needs xvfb (packaging/install-deps.sh test).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
preset="${PRESET:-asan}"
build="$root/build/$preset"
out="$(realpath -m "${1:-$root/docs/screenshots}")"
cd "$root"
cmake --preset "$preset" >/dev/null
cmake --build "$build" --target tianyi-server tianyi-cli tianyi-admin tianyi-fake-upstream

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
export ASAN_OPTIONS=detect_leaks=0   # a screenshot run, not a leak check (the tests do that)
export TIANYI_AUTH_ARGON2_OPS_LIMIT=1 TIANYI_AUTH_ARGON2_MEM_LIMIT_KIB=8
admin_pw='screenshots admin pass phrase'
user_pw='correct horse battery'

wait_for() { for _ in $(seq 1 300); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }
"$build/tests/fake-upstream/tianyi-fake-upstream" --port 0 --ttft-ms 400 --tokens-per-second 12 \
  --reply "[开心]你好呀！今天也要元气满满哦。[撒娇]陪我多聊一会儿嘛。[平静]我们慢慢说，好不好？" >"$work/fake.out" 2>"$work/fake.err" &
pids+=($!)
wait_for "$work/fake.out" "listening on" || { echo "take-screenshots: the fake upstream did not start" >&2; exit 1; }
fake="$(sed -n 's|.*listening on \(http://[0-9.:]*\).*|\1|p' "$work/fake.out")"

TIANYI_ADMIN_PASSWORD="$admin_pw" "$build/server/tianyi-server" --create-admin root --data-dir "$work/data" >/dev/null
TIANYI_LLM_BASE_URL="$fake/v1" "$build/server/tianyi-server" --port 0 --data-dir "$work/data" >"$work/server.out" 2>"$work/server.err" &
pids+=($!)
wait_for "$work/server.out" "Browser:" || true
server="$(sed -n 's|.*Browser: \(http://[0-9.:]*\)/.*|\1|p' "$work/server.out" | head -1)"
[ -n "$server" ] || { echo "take-screenshots: the server did not start" >&2; cat "$work/server.err" >&2; exit 1; }
echo "take-screenshots: server $server" >&2

cli=("$build/shared/cli/tianyi-cli" --server "$server")
for u in 天依粉丝 bob carol; do "${cli[@]}" register --user "$u" --password "$user_pw" >/dev/null; done
# carol is disabled, so that the users view shows both states.
token="$(curl -s -d grant_type=password -d username=root --data-urlencode "password=$admin_pw" "$server/api/v1/auth/token" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
curl -s -o /dev/null -X POST -H "Authorization: Bearer $token" -H 'Content-Length: 0' "$server/api/v1/admin/users/4/disable"

# Two users chatting: one line every 8 seconds (a turn ends before the next starts) for as long as the screenshots take.
chat() {
  local user="$1"; shift
  (for i in $(seq 1 40); do for line in "$@"; do echo "$line"; sleep 8; done; done) \
    | TIANYI_CLI_PASSWORD="$user_pw" "${cli[@]}" repl --user "$user" >/dev/null 2>&1 &
  pids+=($!)
}
chat 天依粉丝 "你好，天依！" "今天心情怎么样？" "给我唱首歌吧" "你最喜欢的食物是什么？"
sleep 2
chat bob "Hello Tianyi, how are you today?" "讲个笑话吧" "晚安"

mkdir -p "$out"
xvfb-run -a -s "-screen 0 1280x800x24" \
  env TIANYI_ADMIN_PASSWORD="$admin_pw" "$build/admin-gui/tianyi-admin" --screenshots "$out" \
      --server "$server" --user root --settings "$work/admin.ini" --language en
ls -l "$out"/admin-*.png
