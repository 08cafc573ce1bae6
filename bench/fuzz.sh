#!/usr/bin/env bash
# Fuzzes every parser of network and disk input (tests/fuzz, one libFuzzer target each) with clang's
# libFuzzer + ASan + UBSan + LeakSanitizer, and reports per target: executions, exec/s, coverage
# (cov/ft of libFuzzer's last status line), corpus size, and crash/leak/timeout/oom artifacts.
#
#   bench/fuzz.sh [--seconds N | --cpu-seconds N] [--only fuzz_jwt,fuzz_config,...] [--jobs J] [--no-build] [--json FILE]
#   bench/fuzz.sh --report-only [--only ...] [--json FILE]   (the table of the last runs, nothing run)
#
# --seconds N: wall seconds per target (default 60); --cpu-seconds N: instead, each target runs until
# its own user+system CPU time reaches N (then libFuzzer is interrupted with SIGINT, which prints its final
# stats and keeps the corpus), so a busy machine stretches the wall time, not the fuzzing; --jobs J: targets at once (default 2, one core each, run under
# nice -n 15); --json FILE: the results (default build/fuzz/run/results.json); the Markdown table goes
# to stdout. Builds the `fuzz` preset (clang) first unless --no-build. Each target starts from its seed
# corpus (tests/fuzz/corpus/<target>, read only) with its dictionary; what it finds is kept in
# build/fuzz/run/<target>/corpus, artifacts (inputs that crashed, leaked or timed out) in
# build/fuzz/run/<target>/artifacts, the libFuzzer log in build/fuzz/run/<target>/log.
# Exit status 1 when any target left an artifact. CPU seconds are reported beside wall seconds: the
# fuzzers run niced, so on a busy machine they get less than a core each.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build/fuzz"
run="$build/run"
seconds=""
cpu_seconds=""
jobs=2
do_build=1
run_fuzzers=1
json=""
only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --cpu-seconds) cpu_seconds="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --no-build) do_build=0; shift ;;
    --report-only) do_build=0; run_fuzzers=0; shift ;;
    --json) json="$2"; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
json="${json:-$run/results.json}"
if [ -n "$cpu_seconds" ]; then
  [ -z "$seconds" ] || { echo "fuzz.sh: --seconds and --cpu-seconds exclude each other" >&2; exit 2; }
  # A wall-clock bound all the same, so a starved machine cannot keep a fuzzer running for ever.
  seconds=$((cpu_seconds * 30))
fi
[ "$run_fuzzers" = 1 ] && seconds="${seconds:-60}"

# Target -> -max_len: a little above the largest meaningful input (a request head at the fuzz limits,
# a WAV header plus some PCM, a small graph), so time goes into structure, not into bulk.
declare -A max_len=(
  [fuzz_http_request]=4096 [fuzz_chat_message]=4096 [fuzz_sse_chunk]=8192 [fuzz_gptsovits_stream]=8192
  [fuzz_emotion_segmenter]=2048 [fuzz_config]=4096 [fuzz_knowledge_import]=4096 [fuzz_jwt]=2048
  [fuzz_multipart]=4096
)
all=(fuzz_http_request fuzz_chat_message fuzz_sse_chunk fuzz_gptsovits_stream fuzz_emotion_segmenter
     fuzz_config fuzz_knowledge_import fuzz_jwt fuzz_multipart)
if [ -n "$only" ]; then
  IFS=, read -r -a targets <<<"$only"
  for t in "${targets[@]}"; do
    [ -n "${max_len[$t]:-}" ] || { echo "fuzz.sh: no target $t (targets: ${all[*]})" >&2; exit 2; }
  done
else
  targets=("${all[@]}")
fi

if [ "$do_build" = 1 ]; then
  (cd "$root" && cmake --preset fuzz >/dev/null && cmake --build --preset fuzz --target "${targets[@]}" -j2 >&2)
fi

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=0"
export LSAN_OPTIONS="suppressions=$root/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export QT_LOGGING_RULES="*.debug=false;*.info=false;*.warning=false"   # parsers log refusals; keep the logs to libFuzzer
export QT_QPA_PLATFORM=offscreen

# libFuzzer's exit status after SIGINT (clang 14's libFuzzer has no flag to change it); it counts as a
# clean end only when this script sent the interrupt (the marker file), never as a finding's status.
interrupted_status=72
# Polls the fuzzer's own CPU time (utime + stime, fields 14 and 15 of /proc/PID/stat, in clock ticks)
# and interrupts it once the budget is spent, leaving the marker $2; returns when the process is gone.
stop_at_cpu_budget() {
  local pid="$1" marker="$2" budget_ticks=$(( $3 * $(getconf CLK_TCK) )) stat
  while stat=$(cat "/proc/$pid/stat" 2>/dev/null); do
    set -- ${stat##*) }   # fields after the command name, which may contain spaces; $12/$13 = utime/stime
    if [ $(( ${12} + ${13} )) -ge "$budget_ticks" ]; then touch "$marker"; kill -INT "$pid" 2>/dev/null; return; fi
    sleep 5
  done
}

fuzz_one() {
  local t="$1" dir="$run/$1"
  rm -rf "$dir"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  local dict=()
  [ -f "$root/tests/fuzz/$t.dict" ] && dict=("-dict=$root/tests/fuzz/$t.dict")
  local start end status=0
  start=$(date +%s)
  # `times` in the same subshell: the fuzzer's user and system CPU time (the machine may be shared,
  # so wall time overstates the work done).
  (cd "$dir" && {
     nice -n 15 "$build/tests/fuzz/$t" -max_total_time="$seconds" -max_len="${max_len[$t]}" -timeout=10 \
       -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$dir/artifacts/" "${dict[@]}" "$dir/corpus" "$root/tests/fuzz/corpus/$t" >"$dir/log" 2>&1 &
     pid=$!
     [ -n "$cpu_seconds" ] && stop_at_cpu_budget "$pid" "$dir/stopped-at-cpu-budget" "$cpu_seconds"
     wait "$pid" || { rc=$?; [ "$rc" = "$interrupted_status" ] && [ -f "$dir/stopped-at-cpu-budget" ] || echo "$rc" >"$dir/status"; }
     times >"$dir/times"; })
  [ -f "$dir/status" ] && status=$(cat "$dir/status")
  end=$(date +%s)
  echo "$status $start $end" >"$dir/exit"
  echo "fuzz.sh: $t done after $((end - start)) s (exit $status)" >&2
}

if [ "$run_fuzzers" = 1 ]; then
  if [ -n "$cpu_seconds" ]; then
    echo "fuzz.sh: ${#targets[@]} targets x $cpu_seconds CPU s (wall bound $seconds s), $jobs at a time" >&2
  else
    echo "fuzz.sh: ${#targets[@]} targets x $seconds s, $jobs at a time" >&2
  fi
  running=0
  for t in "${targets[@]}"; do
    if [ "$running" -ge "$jobs" ]; then
      wait -n || true
      running=$((running - 1))
    fi
    fuzz_one "$t" &
    running=$((running + 1))
  done
  wait || true
fi

python3 - "$root" "$run" "$json" "${seconds:-0}" "${cpu_seconds:-0}" "${targets[@]}" <<'EOF'
import glob, json, os, platform, re, subprocess, sys, time

root, run, out, seconds, cpu_budget, targets = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6:]

def git(*args):
    try:
        return subprocess.run(["git", "-C", root, *args], capture_output=True, text=True, check=True).stdout.strip()
    except Exception:
        return ""

results = []
for t in targets:
    d = os.path.join(run, t)
    if not os.path.exists(os.path.join(d, "exit")):
        print(f"fuzz.sh: {t} has not run (no {d}/exit)", file=sys.stderr)
        continue
    log = open(os.path.join(d, "log"), errors="replace").read() if os.path.exists(os.path.join(d, "log")) else ""
    status, start, end = (open(os.path.join(d, "exit")).read().split() + ["-1", "0", "0"])[:3]
    # `times`: line 2 is the children's "XmY.YYYs XmY.YYYs" (user, system).
    cpu = 0.0
    if os.path.exists(os.path.join(d, "times")):
        tl = open(os.path.join(d, "times")).read().splitlines()
        if len(tl) >= 2:
            cpu = sum(int(m) * 60 + float(s) for m, s in re.findall(r"(\d+)m([\d.]+)s", tl[1]))
    stats = dict(re.findall(r"^stat::(\w+):\s+(\d+)", log, re.M))
    # The last status line (#N DONE / pulse / NEW ... cov: X ft: Y corp: A/B).
    lines = re.findall(r"^#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)/(\S+)", log, re.M)
    last = lines[-1] if lines else None
    arts = [os.path.basename(p) for p in glob.glob(os.path.join(d, "artifacts", "*"))]
    kinds = lambda prefix: sorted(a for a in arts if a.startswith(prefix))
    results.append({
        "target": t,
        "exit_status": int(status),
        "seconds": int(end) - int(start),
        "cpu_seconds": round(cpu, 1),
        "executions": int(stats.get("number_of_executed_units", last[0] if last else 0)),
        "exec_per_s": int(stats.get("average_exec_per_sec", 0)),
        "cov": int(last[1]) if last else 0,
        "ft": int(last[2]) if last else 0,
        "corpus_units": int(last[3]) if last else 0,
        "new_units": int(stats.get("new_units_added", 0)),
        "peak_rss_mb": int(stats.get("peak_rss_mb", 0)),
        "crashes": kinds("crash-"), "leaks": kinds("leak-"), "timeouts": kinds("timeout-"), "ooms": kinds("oom-"),
        "seed_files": len(os.listdir(os.path.join(root, "tests/fuzz/corpus", t))),
    })

record = {
    "scenario": "fuzz",
    "started_at": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    "machine": {"cores": os.cpu_count(), "kernel": platform.release(), "commit": git("rev-parse", "--short", "HEAD") or "unknown",
                "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))},
    "load_average": list(os.getloadavg()),
    "seconds_per_target_requested": seconds if seconds > 0 and cpu_budget == 0 else None,
    "cpu_seconds_per_target_requested": cpu_budget if cpu_budget > 0 else None,
    "sanitizers": "libFuzzer + ASan + UBSan + LeakSanitizer (clang, fuzz preset)",
    "targets": results,
}
os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
json.dump(record, open(out, "w"), indent=1, ensure_ascii=False)

print("| target | wall s | CPU s | executions | exec/s | cov | ft | corpus (seeds) | crashes | leaks | timeouts |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in results:
    print(f"| {r['target']} | {r['seconds']} | {r['cpu_seconds']:.0f} | {r['executions']:,} | {r['exec_per_s']:,} | {r['cov']} | {r['ft']} | "
          f"{r['corpus_units']} ({r['seed_files']}) | {len(r['crashes'])} | {len(r['leaks'])} | {len(r['timeouts']) + len(r['ooms'])} |")
found = [r for r in results if r["crashes"] or r["leaks"] or r["timeouts"] or r["ooms"] or r["exit_status"] != 0]
for r in found:
    print(f"\n{r['target']}: exit {r['exit_status']}, artifacts {r['crashes'] + r['leaks'] + r['timeouts'] + r['ooms']} "
          f"in {os.path.join(run, r['target'], 'artifacts')}, log {os.path.join(run, r['target'], 'log')}")
print(f"\nJSON: {out}", file=sys.stderr)
sys.exit(1 if found else 0)
EOF
