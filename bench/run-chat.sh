#!/usr/bin/env bash
# Issue-4 benchmark: server-added latency of the conversation pipeline at 1/10/100 concurrent sessions,
# stop latency, and first audio with and without the early first-clause cut. The fake upstream runs at
# fixed latencies (LLM TTFT 200 ms, 40 tokens/s; TTS first chunk 150 ms, RTF 0.2) in its own process.
# The reply's first sentence is long and has an early comma, so the early first-clause cut matters.
# Usage: bench/run-chat.sh [sessions...]   (default: 1 10 100)   -> JSON lines on stdout
set -euo pipefail
cd "$(dirname "$0")/.."
sessions=("${@:-1 10 100}")
[ $# -eq 0 ] && sessions=(1 10 100)

cmake --preset release >/dev/null
cmake --build --preset release --target tianyi-server tianyi-fake-upstream tianyi-chatbench >&2

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

wait_for() { # file pattern
  for _ in $(seq 300); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "timeout waiting for $2 in $1" >&2; return 1
}

build/release/tests/fake-upstream/tianyi-fake-upstream --port 0 --ttft-ms 200 --tokens-per-second 40 \
  --tts-first-chunk-ms 150 --tts-rtf 0.2 \
  --reply "[开心]今天天气真不错呀，我们一起去公园散散步，然后再唱一首新歌，好不好？[平静]我已经准备好啦。" >"$work/fake.out" 2>"$work/fake.err" &
pids+=($!)
wait_for "$work/fake.out" "listening on"
fake=$(sed -n 's|.*listening on \(http://[^ ]*\).*|\1|p' "$work/fake.out" | head -1)
echo '{"default":{"ref_audio_path":"/srv/voices/calm.wav","prompt_text":"你好","prompt_lang":"zh"}}' > "$work/voices.json"

# Concurrency caps are raised for the fake (it has none): the bench measures what the server adds,
# not the queueing a deployment's llm.max_concurrent / tts.per_backend_concurrency would impose.
start_server() { # extra env...
  local data="$work/data-$RANDOM"
  env TIANYI_LLM_BASE_URL="$fake/v1" TIANYI_TTS_BASE_URLS="$fake" TIANYI_TTS_VOICES_FILE="$work/voices.json" \
      TIANYI_TTS_PER_BACKEND_CONCURRENCY=1024 TIANYI_LLM_MAX_CONCURRENT=1024 TIANYI_LIMITS_MAX_CONNECTIONS_PER_IP=100000 \
      TIANYI_CHAT_TURNS_PER_MINUTE=1000 TIANYI_AUTH_ARGON2_OPS_LIMIT=1 TIANYI_AUTH_ARGON2_MEM_LIMIT_KIB=8 \
      TIANYI_AUDIO_KEEP=false "$@" \
      build/release/server/tianyi-server --port 0 --data-dir "$data" >"$data.out" 2>"$data.err" &
  pids+=($!)
  wait_for "$data.out" "Browser:"
  sed -n 's|.*Browser: \(http://[0-9.:]*\)/.*|\1|p' "$data.out" | head -1
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); commit $(git rev-parse --short HEAD)" >&2
server=$(start_server)
for n in "${sessions[@]}"; do
  echo "{\"scenario\":\"latency\",\"sessions\":$n,\"result\":$(build/release/bench/tianyi-chatbench --server "$server" --fake "$fake" --sessions "$n")}"
done
echo "{\"scenario\":\"stop\",\"sessions\":100,\"result\":$(build/release/bench/tianyi-chatbench --server "$server" --fake "$fake" --sessions 100 --stop-after-ms 700)}"
server_nocut=$(start_server TIANYI_CHAT_EARLY_FIRST_CLAUSE=false)
echo "{\"scenario\":\"no_early_cut\",\"sessions\":10,\"result\":$(build/release/bench/tianyi-chatbench --server "$server_nocut" --fake "$fake" --sessions 10 --no-early-cut)}"
