#!/usr/bin/env bash
# The one benchmark command: every benchmark scenario against a freshly started release server and the
# fake upstream at fixed latencies, JSON results + PNG plots in docs/benchmarks/, the report in
# docs/benchmarks.md. See bench/README.md.
#
#   bench/run.sh [--only latency,capacity,idle,original,isolation,memory,soak,listening] [--soak-s 1800] [--keep-logs DIR]
#   bench/run.sh --smoke [--build-dir DIR] [--out DIR]     (a tiny pass of every scenario; ctest runs it)
#
# Options: --build-dir DIR (default build/release, configured and built first unless --no-build),
# --out DIR (default docs/benchmarks; the report goes to DIR/../benchmarks.md only for the default).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build/release"
out="$root/docs/benchmarks"
report="$root/docs/benchmarks.md"
do_build=1
smoke=0
pass=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build="$(cd "$2" && pwd)"; shift 2 ;;
    --out) out="$2"; report="$2/benchmarks.md"; shift 2 ;;
    --no-build) do_build=0; shift ;;
    --smoke) smoke=1; pass+=("--smoke"); shift ;;
    --only|--soak-s|--keep-logs) pass+=("$1" "$2"); shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
if [ "$smoke" = 1 ] && [ "$out" = "$root/docs/benchmarks" ]; then
  out="$(mktemp -d)"; report="$out/benchmarks.md"; trap 'rm -rf "$out"' EXIT
fi

if [ "$do_build" = 1 ]; then
  (cd "$root" && cmake --preset release >/dev/null &&
   cmake --build "$build" --target tianyi-server tianyi-fake-upstream tianyi-cli tianyi-memorybench tianyi-benchplot -j2 >&2)
fi

start=$(date +%s)
status=0
python3 "$root/bench/bench.py" --build-dir "$build" --out "$out" "${pass[@]}" || status=$?
python3 "$root/bench/report.py" --results "$out" --report "$report" --plot "$build/bench/tianyi-benchplot" \
  --analysis "$root/docs/benchmarks/analysis.md" || status=$?
echo "run.sh: $(( $(date +%s) - start )) s, results in $out, report $report" >&2
exit $status
