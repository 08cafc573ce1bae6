#!/usr/bin/env python3
"""Writes the PNG plots and docs/benchmarks.md from the scenario JSON files of bench/bench.py.

The report is regenerated as a whole on every run: the method, the machine and every scenario's
tables and plots come from the JSON files present in the results directory (so `run.sh --only x`
refreshes x and keeps the others, each with its own commit and load average), and the hand-written
analysis (docs/benchmarks/analysis.md) is included at the end.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ORDER = ["latency", "capacity", "idle", "original", "isolation", "memory", "soak", "listening"]


def f(x, digits=1):
    if x is None:
        return "–"
    if isinstance(x, (int, float)):
        if abs(x) >= 100:
            return f"{x:,.0f}"
        return f"{x:.{digits}f}"
    return str(x)


def pct(summary, *keys):
    return " / ".join(f(summary.get(k)) for k in keys)


def run_by_label(record, label):
    return next((r for r in record.get("runs", []) if r.get("label") == label), None)


def slope_per_min(points):
    """Least-squares slope of [(minutes, value)]."""
    n = len(points)
    if n < 2:
        return None
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    den = sum((p[0] - mx) ** 2 for p in points)
    return sum((p[0] - mx) * (p[1] - my) for p in points) / den if den else None


class Report:
    def __init__(self, args):
        self.args = args
        self.records = {}
        for name in ORDER:
            path = os.path.join(args.results, name + ".json")
            if os.path.exists(path):
                self.records[name] = json.load(open(path))
        self.lines = []
        self.targets = []  # (target, measured, met, note)
        self.plot_failures = 0

    def out(self, *lines):
        self.lines.extend(lines)

    def plot(self, name, spec):
        if not os.path.exists(self.args.plot):
            self.out(f"_(plot {name} not drawn: {self.args.plot} not built — needs Qt Charts)_", "")
            return
        png = os.path.join(self.args.results, name + ".png")
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as t:
            json.dump(spec, t)
        r = subprocess.run([self.args.plot, t.name, png], capture_output=True, text=True,
                           env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
        os.unlink(t.name)
        if r.returncode != 0:
            self.out(f"_(plot {name} failed: {r.stderr.strip()[:200]})_", "")
            self.plot_failures += 1
            return
        rel = os.path.relpath(png, os.path.dirname(os.path.abspath(self.args.report)))
        self.out(f"![{spec['title']}]({rel})", "")

    def header(self, name, title):
        rec = self.records[name]
        m = rec["machine"]
        la, lb = rec.get("load_average_before", []), rec.get("load_average_after", [])
        self.out(f"## {title}", "",
                 f"_Run {rec['started_at']}, commit `{m['commit']}`{' (with local changes)' if m.get('dirty') else ''}, "
                 f"{rec.get('seconds', 0):.0f} s; load average before {' '.join(map(str, la))}, after {' '.join(map(str, lb))}."
                 + (" **Smoke pass: numbers are not meaningful.**" if rec.get("smoke") else "") + "_", "")
        if "error" in rec:
            self.out(f"**The scenario failed:** `{rec['error']}`", "")

    # --- sections ----------------------------------------------------------------------------------
    def latency(self):
        rec = self.records["latency"]
        self.header("latency", "1. Server-added latency against load")
        self.out("Burst: every session sends its chat in the same millisecond (rounds: 10 at 1 session, 5 at 10, 3 at 100, "
                 "2 at 300, 1 at 1000, each after the previous has ended) — the turn starts all queue at once, the worst case. "
                 "Steady: sessions start over a 5 s ramp, then chat again 2 s after each turn ends, for 20 s. Added = client "
                 "percentile − the direct (fake-only) median of the same schedule and concurrency; the last added column "
                 "subtracts the direct P99 from the client P99 instead (the fake's and load generator's own tail taken off "
                 "too; negative means the tail is inside that noise). SYN drops: "
                 "system-wide TCP listen-queue overflows during the measured phase (each costs a 1 s SYN retransmit).", "",
                 "| sessions | mode | turns (ok/started) | added TTFT P50 / P95 / P99 ms | added first audio P50 / P95 / P99 ms "
                 "| direct TTFT P50 / P99 ms | client TTFT P50 / P99 ms | violations | SYN drops | added TTFT P99 − direct P99 |",
                 "|---|---|---|---|---|---|---|---|---|---|")
        series = {}
        for r in rec.get("runs", []):
            if r["label"].startswith("stop"):
                continue
            t = r["turns"]
            at, aa = r["added"].get("ttft_ms", {}), r["added"].get("first_audio_ms", {})
            self.out(f"| {r['sessions']} | {r['mode']} | {t['completed']}/{t['started']} | {pct(at, 'p50', 'p95', 'p99')} "
                     f"| {pct(aa, 'p50', 'p95', 'p99')} | {pct(r['baseline']['ttft_ms'], 'p50', 'p99')} "
                     f"| {pct(r['client']['ttft_ms'], 'p50', 'p99')} | {r['guarantee_violations']} | {r.get('listen_overflows', '–')} "
                     f"| {f(r.get('added_by_quantile', {}).get('ttft_ms', {}).get('p99'))} |")
            for key, src in (("TTFT", at), ("first audio", aa)):
                for q in ("p50", "p99"):
                    if q in src:
                        series.setdefault((key, r["mode"], q), []).append([r["sessions"], max(src[q], 0.1)])
        self.out("")
        for key, fname in (("TTFT", "latency-ttft"), ("first audio", "latency-first-audio")):
            s = [{"name": f"{mode} {q.upper()}", "points": pts} for (k, mode, q), pts in sorted(series.items()) if k == key]
            if s:
                spec = {"title": f"Server-added {key} vs concurrent sessions", "x_label": "concurrent sessions",
                        "y_label": "added ms (log scale)", "log_x": True, "log_y": True, "series": s}
                if key == "TTFT":
                    spec["targets"] = [{"name": "target P50 2 ms", "y": 2}, {"name": "target P99 10 ms", "y": 10}]
                self.plot(fname, spec)
                self.out(f"_Log scale: added {key} values of 0.1 ms or less (including negative ones, inside the fake's "
                         "own noise) are drawn at 0.1 ms._", "")
        bursts = {}
        for b in rec.get("turn_start_bursts", []):
            # Bursts only: chats of one round arrive within max(50 ms, 0.1 ms per turn); coincidences of the
            # steady runs are left out.
            if b["start_spread_ms"] < max(50, 0.1 * b["turns"]):
                bursts.setdefault(b["turns"], []).append(b)
        if bursts:
            self.out("Inside the server, from its own log (`turn started` → the LLM request's `POST … attempt 1`, ms "
                     "timestamps, every burst of simultaneous turn starts incl. warm-up rounds): the part of a turn's start "
                     "that queues behind the other turns.", "",
                     "| turns starting together | bursts | chats arrive spread over (ms, median) | turn started → LLM request P50 / max (ms, median over bursts) |",
                     "|---|---|---|---|")
            med = lambda xs: sorted(xs)[len(xs) // 2]
            for n in sorted(bursts):
                g = bursts[n]
                self.out(f"| {n} | {len(g)} | {f(med([b['start_spread_ms'] for b in g]))} "
                         f"| {f(med([b['start_to_llm_p50_ms'] for b in g]))} / {f(med([b['start_to_llm_max_ms'] for b in g]))} |")
            self.out("")
        stop = next((r for r in rec.get("runs", []) if r["label"].startswith("stop")), None)
        if stop:
            s = stop["stop"]
            self.out(f"Stop: {stop['sessions']} sessions in a burst, each stops its turn {stop['stop_after_ms']} ms after the chat. "
                     f"Server `stopped.stop_ms` (stop received → everything cancelled) P50 / P99 / max "
                     f"**{pct(s['server_stop_ms'], 'p50', 'p99', 'max')} ms**; the client sees `stopped` "
                     f"{pct(s['client_stop_to_stopped_ms'], 'p50', 'p99', 'max')} ms after sending `stop` "
                     f"({s['server_stop_ms'].get('count', 0)} stops, {stop['guarantee_violations']} guarantee violations).", "")
            p99 = s["server_stop_ms"].get("p99")
            self.targets.append(("stop < 20 ms server side (100 sessions)", f"P99 {f(p99)} ms", p99 is not None and p99 < 20, ""))
        for label, what in (("burst-100", "burst"), ("steady-100", "steady")):
            r = run_by_label(rec, label)
            if r and r["added"].get("ttft_ms"):
                a = r["added"]["ttft_ms"]
                met = a["p50"] < 2 and a["p99"] < 10
                misses = [f"{q} by {f(a[key] - limit)} ms" for q, key, limit in (("P50", "p50", 2), ("P99", "p99", 10)) if a[key] >= limit]
                self.targets.append((f"added TTFT at 100 sessions ({what}): P50 < 2 ms, P99 < 10 ms",
                                     f"P50 {f(a['p50'])} ms, P99 {f(a['p99'])} ms", met, "" if met else "missed: " + ", ".join(misses)))

    def capacity(self):
        rec = self.records["capacity"]
        self.header("capacity", "2. Capacity: concurrent streaming turns with P99 added TTFT < 50 ms")
        self.out("Think time 0: every session always has a turn streaming (a new chat as soon as the last one ends), "
                 "15 s per level, ramped over 3 s; levels are stepped up until the P99 added TTFT reaches 50 ms.", "",
                 "| concurrent turns | turns/s | added TTFT P50 / P99 ms | added first audio P50 / P99 ms | direct TTFT P50 / P99 ms | server CPU (cores) | failed | SYN drops | pass |",
                 "|---|---|---|---|---|---|---|---|---|")
        pts50, pts99 = [], []
        for r in rec.get("runs", []):
            at, aa = r["added"].get("ttft_ms", {}), r["added"].get("first_audio_ms", {})
            self.out(f"| {r['sessions']} | {f(r['turns']['per_second'])} | {pct(at, 'p50', 'p99')} | {pct(aa, 'p50', 'p99')} "
                     f"| {pct(r['baseline']['ttft_ms'], 'p50', 'p99')} | {f(r.get('server', {}).get('cpu_share_of_one_core'), 2)} | {r['turns']['failed']} | {r.get('listen_overflows', '–')} | {'yes' if r.get('passed') else '**no**'} |")
            if "p99" in at:
                pts50.append([r["sessions"], max(at["p50"], 0.1)])
                pts99.append([r["sessions"], max(at["p99"], 0.1)])
        best = rec.get("max_passing_concurrency")
        self.out("", f"**Capacity: {best if best is not None else 'below the lowest level'} concurrent streaming turns** "
                 f"with P99 added TTFT < 50 ms.", "")
        self.targets.append(("capacity: concurrent turns with P99 added TTFT < 50 ms", f"{best}", None, ""))
        if pts99:
            self.plot("capacity", {"title": "Added TTFT vs concurrent streaming turns (think time 0)", "x_label": "concurrent turns",
                                   "y_label": "added TTFT ms (log)", "log_x": True, "log_y": True,
                                   "series": [{"name": "P50", "points": pts50}, {"name": "P99", "points": pts99}],
                                   "targets": [{"name": "limit P99 50 ms", "y": 50}]})

    def idle(self):
        rec = self.records["idle"]
        self.header("idle", "2b. Idle chat sessions: memory per connection")
        for r in rec.get("runs", []):
            s = r.get("server", {})
            self.out(f"{r['sessions']} authenticated chat sessions (one per user) opened and held idle; server VmRSS from "
                     f"`/proc/PID/status` after the logins and 2 s after the last `hello`.", "",
                     "| sessions | RSS before | RSS with sessions open | per session | open fds per session | SYN drops while opening |", "|---|---|---|---|---|---|",
                     f"| {r['sessions']} | {f(s.get('rss_before_sessions_kib', 0) / 1024)} MiB | {f(s.get('rss_sessions_open_kib', 0) / 1024)} MiB "
                     f"| **{f(s.get('kib_per_session'))} KiB** | {f(s.get('fds_per_session'), 2)} | {r.get('listen_overflows_whole_run', '–')} |", "")
            if "error" in r:
                self.out(f"Load error: `{r['error']}`", "")

    def original(self):
        rec = self.records["original"]
        self.header("original", "3. The original service's load: 30 users, one chat a minute each")
        for r in rec.get("runs", []):
            s = r.get("server", {})
            self.out(f"Time compression: {rec.get('compression')}. {r['users']} users each start a turn every "
                     f"{r['interval_ms'] / 1000:.0f} s (first turns spread over {r['ramp_s']:.0f} s); audio kept on disk as in production. "
                     "CPU = utime + stime of the server from `/proc/PID/stat` over the measured phase.", "",
                     "| turns | server CPU | CPU per turn | CPU per user | RSS start / end / max | added TTFT P50 / P99 | added first audio P50 / P99 | client turn total P50 |",
                     "|---|---|---|---|---|---|---|---|",
                     f"| {r['turns']['completed']}/{r['turns']['started']} | {f(s.get('cpu_s'), 2)} s in {f(r['wall_s'])} s "
                     f"({f(100 * s.get('cpu_share_of_one_core', 0), 2)} % of one core) | **{f(s.get('cpu_ms_per_turn'))} ms** "
                     f"| {f(1000 * s.get('cpu_s', 0) / max(r['users'], 1) / max(r['wall_s'] / 60, 1e-9))} ms per minute "
                     f"| {f(s.get('rss_start_kib', 0) / 1024)} / {f(s.get('rss_end_kib', 0) / 1024)} / {f(s.get('rss_max_kib', 0) / 1024)} MiB "
                     f"| {pct(r['added'].get('ttft_ms', {}), 'p50', 'p99')} ms | {pct(r['added'].get('first_audio_ms', {}), 'p50', 'p99')} ms "
                     f"| {f(r['client']['turn_total_ms'].get('p50'))} ms |", "")

    def isolation(self):
        rec = self.records["isolation"]
        self.header("isolation", "4. Isolation: chat latency during a login storm")
        self.out("Production Argon2id (`auth.argon2_ops_limit=2`, `auth.argon2_mem_limit_kib=65536`) for every account. "
                 "20 users chat (1 s think time); in the second run, 20 further pre-registered accounts log in at a fixed "
                 "rate (open loop: a login is sent on schedule whether or not earlier ones have answered).", "",
                 "| run | turns | client TTFT P50 / P99 ms | added TTFT P50 / P99 ms | added first audio P50 / P99 ms | logins ok / errors | login latency P50 / P99 ms | server CPU |",
                 "|---|---|---|---|---|---|---|---|")
        for r in rec.get("runs", []):
            lg = r["logins"]
            s = r.get("server", {})
            self.out(f"| {r['label']} | {r['turns']['completed']}/{r['turns']['started']} | {pct(r['client']['ttft_ms'], 'p50', 'p99')} "
                     f"| {pct(r['added'].get('ttft_ms', {}), 'p50', 'p99')} | {pct(r['added'].get('first_audio_ms', {}), 'p50', 'p99')} "
                     f"| {lg['latency_ms'].get('count', 0)} / {lg['errors']} | {pct(lg['latency_ms'], 'p50', 'p99')} "
                     f"| {f(100 * s.get('cpu_share_of_one_core', 0))} % of a core |")
        self.out("")

    def memory(self):
        rec = self.records["memory"]
        self.header("memory", "5. Memory retrieval")
        self.out("`tianyi-memorybench`: top-8 by cosine (weighted by importance and recency, de-duplicated) over one user's "
                 "1024-dimension float32 vectors, every vector a candidate (the worst case).", "",
                 "| memories per user | median ms | P95 ms | RAM held |", "|---|---|---|---|")
        pts, pts95 = [], []
        for run in rec.get("runs", []):
            for s in run["sizes"]:
                self.out(f"| {s['memories']:,} | {f(s['median_ms'], 2)} | {f(s['p95_ms'], 2)} | {f(s['mib'])} MiB |")
                pts.append([s["memories"], s["median_ms"]])
                pts95.append([s["memories"], s["p95_ms"]])
                if s["memories"] == 100000:
                    met = s["median_ms"] < 20
                    self.targets.append(("memory retrieval top-8 of 100k < 20 ms", f"median {f(s['median_ms'])} ms, P95 {f(s['p95_ms'])} ms",
                                         met, "" if met else f"missed by {f(s['median_ms'] - 20)} ms"))
        self.out("")
        if len(pts) > 1:
            self.plot("memory", {"title": "Memory retrieval, top-8", "x_label": "memories per user", "y_label": "ms (log)",
                                 "log_x": True, "log_y": True, "series": [{"name": "median", "points": pts}, {"name": "P95", "points": pts95}],
                                 "targets": [{"name": "target 20 ms", "y": 20}]})

    def soak(self):
        rec = self.records["soak"]
        self.header("soak", "6. Soak: mixed load")
        for r in rec.get("runs", []):
            samples = [s for s in r.get("server", {}).get("samples", []) if s.get("phase_s", -1) >= 0 and "rss_kib" in s]
            self.out(f"{r['users']} users chat for {r['duration_s'] / 60:.0f} min with 2 s think time; {int(r['stop_fraction'] * 100)} % of turns "
                     f"are stopped {r['stop_after_ms']} ms in; {r['login_rate']} logins/s (production Argon2id); {r['history_rate']} history "
                     "reads/s; audio kept (256 MiB budget, so retention deletes files). Server RSS and open files (`/proc/PID/fd`) "
                     "sampled every 10 s.", "",
                     f"Turns: {r['turns']['completed']} completed, {r['turns']['interrupted']} interrupted, {r['turns']['failed']} failed, "
                     f"{r['turns']['refused']} refused of {r['turns']['started']}; {r['guarantee_violations']} guarantee violations; "
                     f"logins {r['logins']['latency_ms'].get('count', 0)} ok / {r['logins']['errors']} errors; history reads "
                     f"{r['history']['latency_ms'].get('count', 0)} ok / {r['history']['errors']} errors, P99 {f(r['history']['latency_ms'].get('p99'))} ms; "
                     f"added TTFT P50 / P99 {pct(r['added'].get('ttft_ms', {}), 'p50', 'p99')} ms.", "")
            if len(samples) < 2:
                continue
            mins = lambda s: s["phase_s"] / 60
            half = [s for s in samples if s["phase_s"] >= samples[-1]["phase_s"] / 2]
            self.out("| measure | start | end | max | slope (whole run) | slope (second half) |", "|---|---|---|---|---|---|")
            for key, name, scale, unit in (("rss_kib", "RSS", 1 / 1024, "MiB"), ("fds", "open files", 1, ""), ("threads", "threads", 1, "")):
                vals = [s[key] * scale for s in samples if key in s]
                if not vals:
                    continue
                whole = slope_per_min([(mins(s), s[key] * scale) for s in samples if key in s])
                second = slope_per_min([(mins(s), s[key] * scale) for s in half if key in s])
                self.out(f"| {name} | {f(vals[0])} {unit} | {f(vals[-1])} {unit} | {f(max(vals))} {unit} "
                         f"| {f(whole, 3)} {unit}/min | {f(second, 3)} {unit}/min |")
            self.out("")
            rss_half = [s["rss_kib"] / 1024 for s in half]
            fds = [s["fds"] for s in samples]
            growth = (rss_half[-1] - rss_half[0]) / rss_half[0] * 100 if rss_half[0] else 0
            flat = abs(growth) < 5 and fds[-1] - fds[0] <= 10
            self.targets.append(("soak: RSS and open files flat", f"RSS {f(growth)} % over the second half, fds {fds[0]} → {fds[-1]}", flat, ""))
            self.plot("soak-rss", {"title": "Soak: server RSS", "x_label": "minutes", "y_label": "MiB",
                                   "series": [{"name": "VmRSS", "points": [[mins(s), s["rss_kib"] / 1024] for s in samples]}]})
            self.plot("soak-fds", {"title": "Soak: server open files and threads", "x_label": "minutes", "y_label": "count",
                                   "series": [{"name": "open fds", "points": [[mins(s), s["fds"]] for s in samples]},
                                              {"name": "threads", "points": [[mins(s), s.get("threads", 0)] for s in samples]}]})

    def listening(self):
        rec = self.records["listening"]
        self.header("listening", "7. Listening: hands-free voice turns")
        self.out("Every session opens a listening stream (`listen_start`) and streams 16 kHz PCM in real time, 20 ms frames "
                 "paced by the monotonic clock (`tianyi-cli load --voice FILE.wav`, `--listen`). A voice turn speaks an "
                 f"espeak-ng recording of “{rec.get('recording_text', '')}” into the stream, then the quiet room goes on; "
                 "each session speaks again 500 ms after her turn ended (while listening, the server holds `turn_end` until "
                 "her audio has played). The fakes answer at once (ASR, LLM and TTS latency 0; ASR: "
                 f"{rec.get('asr', '?')}), so everything after the server's endpointing decision is the server's own time.", "",
                 "**Server-added, defined:** from the moment the client receives `speech_end` (the server's endpointing "
                 "decision) to the first audio frame of her reply, on the client's monotonic clock. It contains the final "
                 "transcript's request to the fake ASR, the turn start, the LLM request and the first TTS request to the "
                 "fakes, and the loopback hops; the fakes' own processing is counted against the server. `speech_end` after "
                 "the voice is measured from when the recording's last voiced 10 ms (RMS above −40 dBFS) were spoken: it is "
                 "`voice.endpointing_ms` by design, plus up to one 20 ms frame and the trip to the client.", "",
                 "| listening sessions | voice turns (ok/started) | no turn / ASR failed | speech_end → first audio P50 / P95 / P99 / max ms "
                 "| speech_end → final transcript P50 / P99 | speech_end → turn_start P50 / P99 | speech_end after the voice P50 / P99 ms | server CPU |",
                 "|---|---|---|---|---|---|---|---|")
        target_run = None
        for r in rec.get("runs", []):
            v = r.get("voice")
            if not v or not r["label"].startswith("voice-"):
                continue
            t = r["turns"]
            self.out(f"| {r['sessions']} | {t['completed']}/{t['started']} | {v.get('no_turn', 0)} / {v.get('asr_failed', 0)} "
                     f"| **{pct(v['first_audio_after_speech_end_ms'], 'p50', 'p95', 'p99', 'max')}** "
                     f"| {pct(v['final_after_speech_end_ms'], 'p50', 'p99')} | {pct(v['turn_start_after_speech_end_ms'], 'p50', 'p99')} "
                     f"| {pct(v['speech_end_after_voice_ms'], 'p50', 'p99')} "
                     f"| {f(100 * r.get('server', {}).get('cpu_share_of_one_core', 0))} % of a core |")
            if r["sessions"] == 100 or (self.records["listening"].get("smoke") and target_run is None):
                target_run = r
        self.out("")
        if target_run:
            a = target_run["voice"]["first_audio_after_speech_end_ms"]
            p99 = a.get("p99")
            self.targets.append((f"listening: speech_end → first audio, server-added, P99 < 20 ms at {target_run['sessions']} listening sessions",
                                 f"P99 {f(p99)} ms (P50 {f(a.get('p50'))} ms)", p99 is not None and p99 < 20,
                                 "" if p99 is not None and p99 < 20 else "see the listening section"))
        idle = [r for r in rec.get("runs", []) if r["label"].startswith("listen-idle-")]
        if idle:
            self.out("CPU of listening: the sessions stream a quiet room in real time (no speech) for the hold; server CPU = "
                     "(utime + stime) delta from `/proc/PID/stat` over the hold / its wall time, as a share of one core.", "",
                     "| room | listening sessions | hold s | server CPU | per session | RSS start / end MiB |", "|---|---|---|---|---|---|")
            for r in idle:
                s = r.get("server", {})
                room = "digital silence" if r["voice"].get("room_dbfs") is None else f"white noise {f(r['voice']['room_dbfs'])} dBFS"
                share = s.get("cpu_share_of_one_core")
                sessions = r["voice"].get("listening_sessions", r["sessions"])
                self.out(f"| {room} | {sessions} | {f(s.get('cpu_wall_s'))} | **{f(None if share is None else 100 * share, 2)} % of one core** "
                         f"| {f(None if share is None else 100 * share / max(sessions, 1), 3)} % | {f(s.get('rss_start_kib', 0) / 1024)} / {f(s.get('rss_end_kib', 0) / 1024)} |")
                if share is not None:
                    self.targets.append((f"listening CPU: {sessions} sessions streaming {room} < 10 % of one core",
                                         f"{f(100 * share, 2)} %", share < 0.10, ""))
            self.out("")
        # What the figures mean and what dominates them: hand-written next to the results.
        notes = os.path.join(os.path.dirname(self.args.analysis), "listening.md")
        if os.path.exists(notes) and not rec.get("smoke"):
            self.out(open(notes).read().rstrip(), "")

    # --- the whole report ---------------------------------------------------------------------------
    def write(self):
        body = self.lines
        self.lines = []
        for name in ORDER:
            if name in self.records:
                getattr(self, name)()
        sections, self.lines = self.lines, body
        any_rec = next(iter(self.records.values()), None)
        self.out("# Benchmarks", "",
                 "<!-- Generated by bench/run.sh (bench/report.py) from docs/benchmarks/*.json; do not edit by hand. "
                 "The hand-written analysis is docs/benchmarks/analysis.md, included at the end. -->", "",
                 "`bench/run.sh` runs every scenario below against a freshly started release server (`RelWithDebInfo`) and "
                 "`tianyi-fake-upstream` in its own process at fixed latencies (LLM TTFT 200 ms then 40 tokens/s; GPT-SoVITS "
                 "first chunk 150 ms, RTF 0.2), driven by `tianyi-cli load`; `bench/run.sh --only a,b` reruns some scenarios "
                 "(each keeps its own commit and load average below). Load generator, fake and server share the machine.", "",
                 "**What \"added\" means.** Before each measured run, `tianyi-cli load` runs the same schedule (same sessions, "
                 "think time, ramp) directly against the fake: the completion streamed through the server's own text stages "
                 "(emotion tags removed, the same sentence segmenter), then TTS of the first clause as soon as it is complete. "
                 "The direct streams' median is the fake's (and the load generator's) own latency and overhead at that "
                 "concurrency; server-added = client percentile − direct median, so the whole tail is counted against the "
                 "server (conservative: the fake and the load generator share the 2 cores with it) (TTFT: chat sent → first "
                 "`text_delta`; first audio: chat sent → first audio frame). CPU and memory of the server come from "
                 "`/proc/PID/stat` (utime + stime) and `/proc/PID/status` (VmRSS), open files from `/proc/PID/fd`.", "",
                 "Every measured run is preceded by one unmeasured turn per session (and the direct baseline by one unmeasured "
                 "burst), so connection pools are warm as on a running server. The fake answers the server's background LLM "
                 "requests (memory extraction, rolling summary) with well-formed replies, so each turn also costs one "
                 "extraction request as it would with a real model. Limits that would refuse the load generator (connections "
                 "per IP, turns per minute, sessions per user, LLM/TTS concurrency caps) are raised; every scenario's JSON "
                 "lists the server settings it used.", "")
        if any_rec:
            m = any_rec["machine"]
            self.out(f"**Machine:** {m['cores']} cores ({m['cpu']}), {m['ram_gib']} GiB RAM, {m['os']}, Linux {m['kernel']}.", "")
        self.out("| scenario | commit | started | seconds | load average before → after (1/5/15 min) |", "|---|---|---|---|---|")
        for name in ORDER:
            r = self.records.get(name)
            if r:
                self.out(f"| {name} | `{r['machine']['commit']}`{'+' if r['machine'].get('dirty') else ''} | {r['started_at']} | {r.get('seconds', 0):.0f} "
                         f"| {' '.join(map(str, r.get('load_average_before', [])))} → {' '.join(map(str, r.get('load_average_after', [])))} |")
        self.out("", "## Targets", "", "| target | measured | met |", "|---|---|---|")
        for target, measured, met, note in self.targets:
            verdict = "reported" if met is None else ("**met**" if met else "**missed**")
            self.out(f"| {target} | {measured} | {verdict}{(' — ' + note) if note else ''} |")
        self.out("", "Why targets are missed and what would fix them: see [Analysis](#analysis).", "")
        self.lines.extend(sections)
        if os.path.exists(self.args.analysis):
            self.out(open(self.args.analysis).read().rstrip(), "")
        with open(self.args.report, "w") as out:
            out.write("\n".join(self.lines).rstrip() + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--results", required=True)
    ap.add_argument("--report", required=True)
    ap.add_argument("--plot", required=True, help="the tianyi-benchplot binary")
    ap.add_argument("--analysis", required=True, help="hand-written Markdown appended to the report")
    args = ap.parse_args()
    r = Report(args)
    if not r.records:
        print("report.py: no results in " + args.results, file=sys.stderr)
        sys.exit(1)
    r.write()
    print("report.py: wrote " + args.report, file=sys.stderr)
    if r.plot_failures:
        print(f"report.py: {r.plot_failures} plot(s) failed", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
