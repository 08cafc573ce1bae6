#!/usr/bin/env python3
"""The benchmarks: every scenario against a freshly started tianyi-server and tianyi-fake-upstream
at fixed latencies, driven by `tianyi-cli load`. Called by bench/run.sh (which builds first).

Each scenario writes OUT/<scenario>.json (machine, commit, load average, server settings, the load
runner's results); report.py then writes the PNG plots and the Markdown report from all of them.
"""
import argparse
import json
import os
import platform
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time

SCENARIOS = ["latency", "capacity", "idle", "original", "isolation", "memory", "soak", "listening"]

# The fake upstream's fixed latencies: LLM TTFT 200 ms, 40 tokens/s; GPT-SoVITS first
# chunk 150 ms, RTF 0.2. The reply's first sentence has an early comma (the first-clause cut matters).
FAKE_ARGS = ["--ttft-ms", "200", "--tokens-per-second", "40", "--tts-first-chunk-ms", "150", "--tts-rtf", "0.2"]
SMOKE_FAKE_ARGS = ["--ttft-ms", "50", "--tokens-per-second", "400", "--tts-first-chunk-ms", "20", "--tts-rtf", "0.05"]
REPLY = "[开心]今天天气真不错呀，我们一起去公园散散步，然后再唱一首新歌，好不好？[平静]我已经准备好啦。"
# The server's background LLM requests get well-formed answers (memory extraction: no facts; rolling
# summary: a sentence), so each turn costs what it would with a real model: one extraction call.
SCRIPT = {"[extract_memories]": "[]", "[summarize]": "用户和天依聊了天气，还约好一起唱歌。"}

# Limits lifted so that the bench measures what the server adds, not the admission limits a deployment
# sets (connections per IP: every virtual user comes from 127.0.0.1), and concurrency caps lifted for
# the fake (it has none). Cheap Argon2id so that registering thousands of users takes seconds.
BASE_ENV = {
    "TIANYI_TTS_PER_BACKEND_CONCURRENCY": "1024",
    "TIANYI_LLM_MAX_CONCURRENT": "4096",
    "TIANYI_LIMITS_MAX_CONNECTIONS": "30000",
    "TIANYI_LIMITS_MAX_CONNECTIONS_PER_IP": "30000",
    "TIANYI_LIMITS_WS_HANDSHAKE_TIMEOUT_MS": "60000",
    "TIANYI_CHAT_TURNS_PER_MINUTE": "100000",
    "TIANYI_CHAT_MAX_SESSIONS_PER_USER": "100",
    "TIANYI_CHAT_TTS_QUEUE_MAX": "1000000",
    "TIANYI_AUTH_ARGON2_OPS_LIMIT": "1",
    "TIANYI_AUTH_ARGON2_MEM_LIMIT_KIB": "8",
    "TIANYI_AUTH_ACCESS_TOKEN_TTL_S": "86400",
    # Thousands of virtual users register and log in from this one address: the per-address
    # registration and login limits protect a real server from exactly that.
    "TIANYI_AUTH_REGISTER_PER_ADDRESS_MAX": "1000000",
    "TIANYI_AUTH_REGISTER_GLOBAL_MAX": "1000000",
    "TIANYI_AUTH_LOGIN_MAX_FAILURES": "10000",
    "TIANYI_AUDIO_KEEP": "false",
}
PRODUCTION_ARGON2 = {"TIANYI_AUTH_ARGON2_OPS_LIMIT": "2", "TIANYI_AUTH_ARGON2_MEM_LIMIT_KIB": "65536"}


# Listening: the fakes answer at once (ASR, LLM and TTS latency 0), so that everything between the
# client receiving speech_end and the first audio frame of her reply is the server's own time (plus the
# fakes' processing and the loopback hops, counted against the server). The recording is espeak-ng
# Mandarin made at bench time (no binary file in the repository); one sentence without a pause, so
# that endpointing cuts it into exactly one utterance.
LISTEN_FAKE_ARGS = ["--ttft-ms", "0", "--tokens-per-second", "0", "--tts-first-chunk-ms", "0", "--tts-rtf", "0",
                    "--asr-latency-ms", "0", "--asr-text", "你好天依今天我们一起唱歌吧"]
LISTEN_TEXT = "你好天依今天我们一起唱歌吧"
LISTEN_REPLY = "[开心]好呀，我们一起唱歌吧！"
LISTEN_NOISE_DBFS = -60  # the "low noise" room: far below speech (about -20 dBFS), above a silent room's digital zeros


def capacity_passed(run):
    """The capacity criterion: P99 server-added TTFT under 50 ms, no failed turn."""
    p99 = run.get("added", {}).get("ttft_ms", {}).get("p99")
    return p99 is not None and p99 < 50 and run["turns"]["failed"] == 0 and "error" not in run


LOG_LINE = re.compile(r"(\d{4}-\d\d-\d\dT[\d:.]+)Z \S+\s+\S+ \[([^\]]+)\] (.*)")


def turn_start_breakdown(server_log):
    """From the server's own log (ISO timestamps, correlation ids): for every burst of turn starts
    (starts less than 300 ms apart), how long each turn took from "turn started" (the chat was
    parsed) to its LLM request leaving ("POST ... attempt 1"): the server's serial part of a turn start."""
    start, post = {}, {}
    with open(server_log, errors="replace") as f:
        for line in f:
            m = LOG_LINE.match(line)
            if not m:
                continue
            cid, msg = m.group(2), m.group(3)
            t = time.mktime(time.strptime(m.group(1)[:19], "%Y-%m-%dT%H:%M:%S")) * 1000 + float("0" + m.group(1)[19:]) * 1000
            if "turn started" in msg:
                start[cid] = t
            elif "attempt 1" in msg and cid in start and cid not in post:
                post[cid] = t
    keys = sorted((c for c in start if c in post), key=lambda c: start[c])
    groups = []
    for c in keys:
        if groups and start[c] - start[groups[-1][-1]] < 300:
            groups[-1].append(c)
        else:
            groups.append([c])
    out = []
    for g in groups:
        d = sorted(post[c] - start[c] for c in g)
        out.append({"turns": len(g), "start_spread_ms": round(start[g[-1]] - start[g[0]], 1),
                    "start_to_llm_p50_ms": d[len(d) // 2], "start_to_llm_max_ms": d[-1]})
    return out


def log(*args):
    print("bench:", *args, file=sys.stderr, flush=True)


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def machine(root):
    info = {"cores": os.cpu_count(), "kernel": platform.release()}
    with open("/proc/cpuinfo") as f:
        m = re.search(r"model name\s*:\s*(.*)", f.read())
        info["cpu"] = m.group(1).strip() if m else platform.processor()
    with open("/proc/meminfo") as f:
        info["ram_gib"] = round(int(re.search(r"MemTotal:\s*(\d+)", f.read()).group(1)) / 1048576, 1)
    try:
        info["os"] = re.search(r'PRETTY_NAME="(.*)"', open("/etc/os-release").read()).group(1)
    except (OSError, AttributeError):
        info["os"] = platform.system()
    git = lambda *a: subprocess.run(["git", "-C", root, *a], capture_output=True, text=True).stdout.strip()
    info["commit"] = git("rev-parse", "--short", "HEAD") or "unknown"
    info["dirty"] = bool(git("status", "--porcelain", "--untracked-files=no"))
    return info


class Bench:
    def __init__(self, args):
        self.args = args
        self.root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        b = args.build_dir
        self.server_bin = os.path.join(b, "server/tianyi-server")
        self.fake_bin = os.path.join(b, "tests/fake-upstream/tianyi-fake-upstream")
        self.cli_bin = os.path.join(b, "shared/cli/tianyi-cli")
        self.memory_bin = os.path.join(b, "bench/tianyi-memorybench")
        self.work = tempfile.mkdtemp(prefix="tianyi-bench-")
        self.procs = []
        self.machine = machine(self.root)
        self.smoke = args.smoke

    # --- processes -------------------------------------------------------------------------------
    def spawn(self, name, cmd, env=None):
        out = open(os.path.join(self.work, name + ".out"), "w")
        err = open(os.path.join(self.work, name + ".err"), "w")
        p = subprocess.Popen(cmd, stdout=out, stderr=err, env={**os.environ, **(env or {})}, preexec_fn=raise_nofile)
        p.bench_name = name
        self.procs.append(p)
        return p

    def wait_for(self, p, pattern, timeout=60):
        found = self.find_in_output(p, pattern, timeout)
        if found is not None:
            return found
        err = open(os.path.join(self.work, p.bench_name + ".err"), errors="replace").read()[-3000:]
        raise RuntimeError(f"{p.bench_name} did not start: {err}")

    def stop(self, p):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if p in self.procs:
            self.procs.remove(p)

    def stop_all(self):
        for p in list(self.procs):
            self.stop(p)

    def start_fake(self):
        script = os.path.join(self.work, "script.json")
        with open(script, "w") as f:
            json.dump(SCRIPT, f, ensure_ascii=False)
        p = self.spawn("fake", [self.fake_bin, "--port", "0", "--reply", REPLY, "--script", script]
                       + (SMOKE_FAKE_ARGS if self.smoke else FAKE_ARGS))
        self.fake_url = self.wait_for(p, r"listening on (http://\S+)")
        self.fake = p
        with open(os.path.join(self.work, "voices.json"), "w") as f:
            json.dump({"default": {"ref_audio_path": "/srv/voices/calm.wav", "prompt_text": "你好", "prompt_lang": "zh"}}, f)

    def start_server(self, name, extra_env=None):
        """A fresh server (empty data directory) pointed at the fake; returns (process, url, env)."""
        data = os.path.join(self.work, "data-" + name)
        os.makedirs(data, exist_ok=True)
        env = {**BASE_ENV, "TIANYI_LLM_BASE_URL": self.fake_url + "/v1", "TIANYI_TTS_BASE_URLS": self.fake_url,
               "TIANYI_TTS_VOICES_FILE": os.path.join(self.work, "voices.json"), **(extra_env or {})}
        p = self.spawn("server-" + name, [self.server_bin, "--port", "0", "--data-dir", data], env)
        url = self.wait_for(p, r"Browser: (http://[0-9.:]+)/")
        settings = {k: v for k, v in env.items() if not k.endswith("_URL") and not k.endswith("_URLS") and not k.endswith("_FILE")}
        return p, url, settings

    def load(self, server_url, label, *opts, sample=None, fake=True, timeout=None):
        """One `tianyi-cli load` run; returns its result JSON with the label."""
        out = os.path.join(self.work, f"load-{label}.json")
        cmd = [self.cli_bin, "load", "--server", server_url, "--json", out] + [str(o) for o in opts]
        if fake:
            cmd += ["--fake", self.fake_url]
        if sample:
            cmd += ["--sample-pid", str(sample.pid)]
        log(f"{label}: {' '.join(cmd[2:])}")
        t0 = time.time()
        r = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=raise_nofile, timeout=timeout)
        if r.returncode != 0 and not os.path.exists(out):
            raise RuntimeError(f"load {label} failed ({r.returncode}): {r.stderr[-3000:]}")
        result = json.load(open(out))
        if self.smoke and (r.returncode != 0 or "error" in result):
            raise RuntimeError(f"load {label} failed ({r.returncode}): {result.get('error')} {r.stderr[-2000:]}")
        result["label"] = label
        result["exit_code"] = r.returncode
        result["load_average_after"] = loadavg()
        added = result.get("added", {}).get("ttft_ms", {})
        log(f"{label}: {time.time() - t0:.1f} s, turns {result.get('turns', {})}, added TTFT {added}"
            + (f" ERROR {result['error']}" if "error" in result else ""))
        return result

    # --- scenarios ---------------------------------------------------------------------------------
    def scenario_latency(self):
        """1: server-added TTFT / first audio at 1..1000 concurrent sessions (burst and steady), stop latency."""
        levels = [1, 2] if self.smoke else [1, 10, 100, 300, 1000]
        steady_s = 2 if self.smoke else 20
        server, url, env = self.start_server("latency")
        runs = []
        rounds = {1: 10, 10: 5, 100: 3, 300: 2}
        for n in levels:
            runs.append(self.load(url, f"burst-{n}", "--users", n, "--rounds", 1 if self.smoke else rounds.get(n, 1), sample=server))
            runs.append(self.load(url, f"steady-{n}", "--users", n, "--duration-s", steady_s, "--ramp-s", min(5, steady_s / 2),
                                  "--think-ms", 2000, "--baseline-s", min(10, steady_s), sample=server))
        n = 2 if self.smoke else 100
        runs.append(self.load(url, f"stop-{n}", "--users", n, "--stop-after-ms", 700 if not self.smoke else 100, "--rounds", 1 if self.smoke else 3))
        self.stop(server)
        bursts = [g for g in turn_start_breakdown(os.path.join(self.work, "server-latency.err")) if g["turns"] >= 10 and g["start_spread_ms"] < 200]
        return {"server_env": env, "runs": runs, "turn_start_bursts": bursts}

    def scenario_capacity(self):
        """2a: the most concurrent streaming turns (think time 0) with P99 added TTFT < 50 ms."""
        levels = [2] if self.smoke else [5, 10, 25, 50, 100, 150, 200, 300, 400, 600, 800, 1000]
        duration = 2 if self.smoke else 15
        server, url, env = self.start_server("capacity")
        runs, passing = [], None
        for n in levels:
            r = self.load(url, f"capacity-{n}", "--users", n, "--duration-s", duration, "--ramp-s", min(3, duration / 2),
                          "--think-ms", 0, "--baseline-s", min(8, duration), sample=server)
            runs.append(r)
            r["passed"] = ok = capacity_passed(r)
            if not ok:
                break
            passing = n
        # One bisection step between the last passing and the first failing level.
        if not self.smoke and passing and runs[-1]["sessions"] > passing * 1.2:
            n = (passing + runs[-1]["sessions"]) // 2
            r = self.load(url, f"capacity-{n}", "--users", n, "--duration-s", duration, "--ramp-s", 3, "--think-ms", 0, "--baseline-s", 8,
                          sample=server)
            r["passed"] = capacity_passed(r)
            runs.insert(len(runs) - 1, r)
            if r["passed"]:
                passing = n
        self.stop(server)
        return {"server_env": env, "runs": runs, "limit_ms": 50, "max_passing_concurrency": passing}

    def scenario_idle(self):
        """2b: 10,000 idle authenticated chat sessions; server RSS and fds per session from /proc."""
        users = 20 if self.smoke else 10000
        server, url, env = self.start_server("idle")
        run = self.load(url, f"idle-{users}", "--users", users, "--idle", "--hold-s", 1 if self.smoke else 10, "--sample-ms", 1000,
                        "--setup-concurrency", 128, sample=server, fake=False)
        self.stop(server)
        return {"server_env": env, "runs": [run]}

    def scenario_original(self):
        """3: the original service's load, 30 users at one chat a minute each, in real time (no compression)."""
        duration = 4 if self.smoke else 180
        interval = 1000 if self.smoke else 60000
        server, url, env = self.start_server("original", {"TIANYI_AUDIO_KEEP": "true"})
        run = self.load(url, "original-30", "--users", 3 if self.smoke else 30, "--interval-ms", interval, "--duration-s", duration,
                        "--ramp-s", interval / 1000, "--sample-ms", 1000 if self.smoke else 5000, "--baseline-s", 2 if self.smoke else 10,
                        sample=server)
        self.stop(server)
        return {"server_env": env, "runs": [run], "compression": "none: real time, 30 users x 1 chat/min for 3 minutes"}

    def scenario_isolation(self):
        """4: chat P99 with and without a storm of 20 logins/s (production Argon2id)."""
        duration = 2 if self.smoke else 30
        users = 2 if self.smoke else 20
        rate = 2 if self.smoke else 20
        server, url, env = self.start_server("isolation", {} if self.smoke else PRODUCTION_ARGON2)
        common = ["--users", users, "--think-ms", 1000, "--duration-s", duration, "--ramp-s", 2, "--baseline-s", min(10, duration)]
        runs = [self.load(url, "isolation-quiet", *common, sample=server, fake=True),
                self.load(url, f"isolation-storm-{rate}", *common, "--login-rate", rate, "--login-users", 20, sample=server)]
        self.stop(server)
        return {"server_env": env, "runs": runs}

    def scenario_memory(self):
        """5: memory retrieval top-8 over 1k/10k/100k memories of one user (tianyi-memorybench)."""
        sizes = "1000" if self.smoke else "1000,10000,100000"
        r = subprocess.run([self.memory_bin, "--json", "--sizes", sizes, "--queries", "3" if self.smoke else "30"],
                           capture_output=True, text=True, check=True)
        return {"runs": [json.loads(r.stdout.strip().splitlines()[-1])]}

    def scenario_soak(self):
        """6: mixed load for 30 minutes; RSS and open files sampled every 10 s."""
        duration = 6 if self.smoke else self.args.soak_s
        server, url, env = self.start_server("soak", {**({} if self.smoke else PRODUCTION_ARGON2), "TIANYI_AUDIO_KEEP": "true",
                                                      "TIANYI_AUDIO_MAX_BYTES": str(256 << 20)})
        run = self.load(url, "soak", "--users", 4 if self.smoke else 50, "--think-ms", 2000, "--duration-s", duration, "--ramp-s", 2 if self.smoke else 10,
                        "--stop-after-ms", 700, "--stop-fraction", 0.2, "--login-rate", 0.5, "--login-users", 10,
                        "--history-rate", 1, "--sample-ms", 1000 if self.smoke else 10000, "--baseline-s", 2 if self.smoke else 10, sample=server)
        self.stop(server)
        return {"server_env": env, "runs": [run]}

    def scenario_listening(self):
        """7: hands-free listening. (a) speech_end -> first audio of her reply at 1, 10, 100 listening sessions, fakes at
        zero latency; (b) the server's CPU while 100 listening sessions stream a quiet room (silence, then low noise)."""
        wav = os.path.join(self.work, "listen.wav")
        subprocess.run(["espeak-ng", "-v", "cmn", "-w", wav, LISTEN_TEXT], check=True, capture_output=True)
        has_funasr = self.fake_has("--funasr-port")  # the fake FunASR server (streaming partials), when built in
        # The fake FunASR recognizes one --funasr-text per connection (one per utterance), then its default: one for every
        # utterance the runs can speak. The background LLM requests get well-formed answers (SCRIPT), as in every scenario.
        funasr_args = ["--funasr-port", "0"] + ["--funasr-text", LISTEN_TEXT] * 3000 if has_funasr else []
        fake = self.spawn("fake-listening", [self.fake_bin, "--port", "0", "--reply", LISTEN_REPLY, "--script",
                                             os.path.join(self.work, "script.json")] + LISTEN_FAKE_ARGS + funasr_args)
        fake_url = self.wait_for(fake, r"listening on (http://\S+)")
        funasr = self.find_in_output(fake, r"(wss?://[0-9.:]+\S*)") if has_funasr else None
        asr = ({"TIANYI_ASR_PROVIDER": "funasr", "TIANYI_ASR_BASE_URL": funasr} if funasr
               else {"TIANYI_ASR_PROVIDER": "openai", "TIANYI_ASR_BASE_URL": fake_url + "/v1"})
        server, url, env = self.start_server("listening", {**asr, "TIANYI_LLM_BASE_URL": fake_url + "/v1", "TIANYI_TTS_BASE_URLS": fake_url})
        env = {**env, "TIANYI_ASR_PROVIDER": asr["TIANYI_ASR_PROVIDER"]}
        levels = [1, 2] if self.smoke else [1, 10, 100]
        duration = 6 if self.smoke else 45
        runs = []
        for n in levels:
            runs.append(self.load(url, f"voice-{n}", "--users", n, "--voice", wav, "--duration-s", duration if n > 1 or self.smoke else 90,
                                  "--ramp-s", min(3, duration / 2), "--think-ms", 500, "--sample-ms", 1000 if self.smoke else 5000,
                                  sample=server, fake=False, timeout=600))
        hold = 2 if self.smoke else 30
        quiet_users = 2 if self.smoke else 100
        for label, noise in (("silence", None), ("noise", LISTEN_NOISE_DBFS)):
            extra = ["--noise-dbfs", noise] if noise is not None else []
            runs.append(self.load(url, f"listen-idle-{label}-{quiet_users}", "--users", quiet_users, "--listen", "--idle", "--hold-s", hold,
                                  "--sample-ms", 1000, *extra, sample=server, fake=False, timeout=600))
        self.stop(server)
        self.stop(fake)
        return {"server_env": env, "runs": runs, "asr": "funasr (fake, streaming partials)" if funasr else "openai (fake, one request per utterance)",
                "fake_listening": {"args": LISTEN_FAKE_ARGS, "reply": LISTEN_REPLY}, "recording_text": LISTEN_TEXT,
                "noise_dbfs": LISTEN_NOISE_DBFS}

    def fake_has(self, option):
        r = subprocess.run([self.fake_bin, "--help"], capture_output=True, text=True)
        return option in r.stdout

    def find_in_output(self, p, pattern, timeout=5):
        """A pattern in a process's stdout once it printed it (None if it never does, or exits first)."""
        path = os.path.join(self.work, p.bench_name + ".out")
        deadline = time.time() + timeout
        while True:
            exited = p.poll() is not None  # read once more after the exit: its last lines are in the file
            m = re.search(pattern, open(path, errors="replace").read())
            if m:
                return m.group(1)
            if exited or time.time() >= deadline:
                return None
            time.sleep(0.05)

    def run(self, only):
        self.start_fake()
        os.makedirs(self.args.out, exist_ok=True)
        failures = []
        for name in only:
            log(f"=== {name} ===")
            started = time.time()
            record = {"scenario": name, "smoke": self.smoke, "machine": self.machine, "load_average_before": loadavg(),
                      "started_at": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
                      "fake_upstream": {"args": SMOKE_FAKE_ARGS if self.smoke else FAKE_ARGS, "reply": REPLY, "script": SCRIPT}}
            try:
                record.update(getattr(self, "scenario_" + name)())
            except Exception as e:  # a scenario that breaks is reported, the others still run
                log(f"{name} FAILED: {e}")
                record["error"] = str(e)
                failures.append(name)
                for p in list(self.procs):
                    if p is not self.fake:
                        self.stop(p)
            record["load_average_after"] = loadavg()
            record["seconds"] = round(time.time() - started, 1)
            with open(os.path.join(self.args.out, name + ".json"), "w") as f:
                json.dump(record, f, indent=1, ensure_ascii=False)
            log(f"{name}: {record['seconds']} s")
        self.stop_all()
        return failures


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated subset of: " + ",".join(SCENARIOS))
    ap.add_argument("--smoke", action="store_true", help="a tiny pass of every scenario (seconds), numbers not meaningful")
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--out", required=True, help="directory for the scenario JSON files")
    ap.add_argument("--soak-s", type=float, default=1800)
    ap.add_argument("--keep-logs", help="copy the server, fake and load logs here")
    args = ap.parse_args()
    only = [s for s in args.only.split(",") if s]
    unknown = [s for s in only if s not in SCENARIOS]
    if unknown:
        ap.error("unknown scenario(s): " + ",".join(unknown))
    bench = Bench(args)
    try:
        failures = bench.run(only)
    finally:
        bench.stop_all()
    if args.keep_logs:
        subprocess.run(["mkdir", "-p", args.keep_logs])
        subprocess.run(f"cp {bench.work}/*.err {bench.work}/*.out {bench.work}/*.json {args.keep_logs}/", shell=True)
    if failures:
        log("failed scenarios: " + ",".join(failures) + " (logs in " + bench.work + ")")
        sys.exit(1)
    subprocess.run(["rm", "-rf", bench.work])


if __name__ == "__main__":
    main()
