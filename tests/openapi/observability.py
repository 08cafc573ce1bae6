#!/usr/bin/env python3
"""The shipped monitoring files against a real tianyi-server's /metrics.

packaging/grafana/tianyi-dashboard.json and packaging/prometheus/tianyi-alerts.yml name metrics in
PromQL; a renamed or removed metric would leave an empty panel or an alert that never fires, silently.
This test starts tianyi-fake-upstream and a real tianyi-server using it for the LLM, GPT-SoVITS and
embeddings (so the upstream clients' metrics exist), runs one chat turn and one stopped turn (so the
latency histograms have samples), and proves:
  - every metric name in every dashboard and rule expression is in /metrics: a histogram's
    _bucket/_sum/_count series have samples, gauges have samples, counters are declared (a counter's
    labelled series appear with its first event); every label a selector matches on is one the
    metric has; every other word of an expression is a PromQL function or keyword;
  - the rules file is valid: the structure Prometheus requires (groups, unique names,
    alert/expr/for/labels/annotations) and, when promtool is installed, `promtool check rules` on
    it and on the dashboard's queries;
  - the dashboard is importable JSON: schemaVersion, a datasource variable of type prometheus, and
    every panel and query using it.
Usage: observability.py TIANYI_SERVER_BINARY TIANYI_FAKE_UPSTREAM_BINARY TIANYI_CLI_BINARY
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

from tianyiserver import TianyiServer, fail, run_checks

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DASHBOARD = os.path.join(ROOT, "packaging", "grafana", "tianyi-dashboard.json")
RULES = os.path.join(ROOT, "packaging", "prometheus", "tianyi-alerts.yml")
DATASOURCE_UID = "${datasource}"

# What may appear in an expression besides metric names.
PROMQL_FUNCTIONS = {
    "abs", "absent", "absent_over_time", "avg_over_time", "ceil", "changes", "clamp", "clamp_max", "clamp_min",
    "count_over_time", "delta", "deriv", "exp", "floor", "histogram_quantile", "holt_winters", "idelta",
    "increase", "irate", "label_join", "label_replace", "last_over_time", "ln", "log2", "log10",
    "max_over_time", "min_over_time", "predict_linear", "quantile_over_time", "rate", "resets", "round",
    "scalar", "sort", "sort_desc", "sqrt", "stddev_over_time", "sum_over_time", "time", "timestamp", "vector",
    "sum", "avg", "min", "max", "count", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values", "group",
}
PROMQL_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset"}
# Series Prometheus itself adds to every scrape, not the server's.
SCRAPE_SERIES = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


# ---- PromQL -------------------------------------------------------------------------------------
def selectors(expr):
    """(metric name, [label names matched]) of every series selector of a PromQL expression."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)              # string literals (label values, regexes)
    text = re.sub(r"\$\{?\w+\}?", "1m", text)                     # Grafana variables ($__rate_interval, ${x})
    text = re.sub(r"\[[^\]]*\]", "", text)                        # range selectors [5m]
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)  # label lists
    if text.count("(") != text.count(")") or text.count("{") != text.count("}"):
        fail(f"unbalanced brackets in {expr!r}")
    found = []
    for m in re.finditer(r"([A-Za-z_:][A-Za-z0-9_:]*)\s*(\{[^}]*\})?\s*(\()?", text):
        word, matchers, call = m.group(1), m.group(2), m.group(3)
        if re.fullmatch(r"[0-9.e+-]+|Inf|NaN", word, re.I):
            continue
        if call and not matchers:
            if word not in PROMQL_FUNCTIONS:
                fail(f"{word}( is not a PromQL function, in {expr!r}")
            continue
        if word in PROMQL_KEYWORDS:
            continue
        labels = re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)", matchers or "")
        found.append((word, labels))
    return found


# ---- /metrics -----------------------------------------------------------------------------------
def parse_exposition(text):
    """families: name -> type; samples: series name -> set of label names seen."""
    families, samples = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            families[name] = kind
        elif line and not line.startswith("#"):
            m = re.match(r"([A-Za-z_:][A-Za-z0-9_:]*)(\{(.*)\})?\s", line)
            if not m:
                fail(f"/metrics: unparseable line {line!r}")
            labels = set(re.findall(r'([A-Za-z_][A-Za-z0-9_]*)="', m.group(3) or ""))
            samples.setdefault(m.group(1), set()).update(labels)
    return families, samples


def check_metric(name, labels, families, samples, where):
    """Why `name` (as used in PromQL) is not served, or None."""
    if name in SCRAPE_SERIES:
        return None
    family, suffix = name, ""
    for s in HISTOGRAM_SUFFIXES:
        if name.endswith(s) and families.get(name[: -len(s)]) == "histogram":
            family, suffix = name[: -len(s)], s
    kind = families.get(family)
    if kind is None:
        return f"{where}: {name} is not in /metrics"
    if kind == "histogram" and not suffix:
        return f"{where}: {name} is a histogram; PromQL needs {name}_bucket, _sum or _count"
    if name not in samples:
        if kind == "counter":
            return None  # declared; its labelled series appear with the first event
        return f"{where}: {name} ({kind}) has no samples in /metrics after a chat turn"
    if kind == "histogram" and suffix == "_bucket":
        labels = [l for l in labels if l != "le"]
    unknown = [l for l in labels if l not in samples[name]]
    if unknown:
        return f"{where}: {name} has no label {', '.join(unknown)} (it has {sorted(samples[name]) or 'none'})"
    return None


# ---- the files ----------------------------------------------------------------------------------
def dashboard_expressions():
    with open(DASHBOARD, encoding="utf-8") as f:
        dash = json.load(f)
    if not isinstance(dash.get("schemaVersion"), int) or dash["schemaVersion"] < 30:
        fail("dashboard: schemaVersion must be a number (Grafana 8+ dashboards: 30 or more)")
    for key in ("title", "uid", "panels"):
        if not dash.get(key):
            fail(f"dashboard: {key} is required")
    variables = {v.get("name"): v for v in dash.get("templating", {}).get("list", [])}
    ds = variables.get("datasource")
    if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        fail("dashboard: a templating variable 'datasource' of type datasource, query prometheus, is required")
    exprs, ids = [], set()
    for panel in dash["panels"]:
        if panel.get("id") in ids:
            fail(f"dashboard: panel id {panel.get('id')} is used twice")
        ids.add(panel.get("id"))
        grid = panel.get("gridPos", {})
        if not all(isinstance(grid.get(k), int) for k in ("h", "w", "x", "y")) or grid["x"] + grid["w"] > 24:
            fail(f"dashboard: panel {panel.get('title')!r} needs a gridPos within 24 columns")
        if panel.get("type") == "row":
            continue
        where = f"dashboard panel {panel.get('title')!r}"
        if (panel.get("datasource") or {}).get("uid") != DATASOURCE_UID:
            fail(f"{where}: datasource.uid must be {DATASOURCE_UID}")
        if not panel.get("targets"):
            fail(f"{where}: no queries")
        for t in panel["targets"]:
            if (t.get("datasource") or {}).get("uid") != DATASOURCE_UID or not t.get("expr") or not t.get("refId"):
                fail(f"{where}: every query needs refId, expr and datasource.uid {DATASOURCE_UID}")
            exprs.append((where, t["expr"]))
    return exprs


def rules_expressions():
    with open(RULES, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    if not isinstance(doc, dict) or set(doc) != {"groups"} or not doc["groups"]:
        fail("rules: the file must be {groups: [...]}")
    exprs, group_names, alert_names = [], set(), set()
    for group in doc["groups"]:
        if not group.get("name") or group["name"] in group_names or not group.get("rules"):
            fail(f"rules: every group needs a unique name and rules: {group.get('name')}")
        group_names.add(group["name"])
        for rule in group["rules"]:
            allowed = {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
            if set(rule) - allowed or not re.fullmatch(r"[A-Z][A-Za-z0-9]+", str(rule.get("alert", ""))):
                fail(f"rules: {rule.get('alert')}: alert must be CamelCase and keys among {sorted(allowed)}")
            if rule["alert"] in alert_names:
                fail(f"rules: alert {rule['alert']} is defined twice")
            alert_names.add(rule["alert"])
            if "for" in rule and not re.fullmatch(r"([0-9]+(ms|s|m|h|d|w|y))+", str(rule["for"])):
                fail(f"rules: {rule['alert']}: 'for' {rule['for']!r} is not a Prometheus duration")
            if (rule.get("labels") or {}).get("severity") not in ("critical", "warning", "info"):
                fail(f"rules: {rule['alert']}: labels.severity must be critical, warning or info")
            annotations = rule.get("annotations") or {}
            if not annotations.get("summary") or not annotations.get("description"):
                fail(f"rules: {rule['alert']}: annotations summary and description are required")
            if not isinstance(rule.get("expr"), str) or not rule["expr"].strip():
                fail(f"rules: {rule['alert']}: expr is required")
            exprs.append((f"alert {rule['alert']}", rule["expr"]))
    return exprs, len(alert_names)


def promtool_check(dashboard):
    """promtool (Debian's prometheus package; not installed by install-deps: 96 MB for one check)
    parses the rules file and, as recording rules in a scratch file, the dashboard's queries; None when
    promtool is not installed (a skipped check is reported as a note, never as "ok")."""
    promtool = shutil.which("promtool")
    if not promtool:
        return None
    with tempfile.TemporaryDirectory() as work:
        queries = os.path.join(work, "dashboard-queries.yml")
        rules = [{"record": f"dashboard:query_{i}", "expr": re.sub(r"\$\{?__rate_interval\}?", "5m", expr)}
                 for i, (_, expr) in enumerate(dashboard)]
        with open(queries, "w") as f:
            yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, f)
        for path in (RULES, queries):
            r = subprocess.run([promtool, "check", "rules", path], capture_output=True, text=True)
            if r.returncode != 0:
                fail(f"promtool check rules {os.path.basename(path)} failed:\n{r.stdout}{r.stderr}")
    return "promtool check rules accepts the rules file and every dashboard query"


# ---- the server ---------------------------------------------------------------------------------
def served_metrics(server_bin, fake_bin, cli_bin):
    work = tempfile.mkdtemp(prefix="tianyi-observability-")
    fake = subprocess.Popen([fake_bin, "--port", "0", "--ttft-ms", "20", "--tokens-per-second", "40", "--tts-first-chunk-ms", "20"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = fake.stdout.readline()
        m = re.search(r"listening on (http://\S+)", line)
        if not m:
            fail(f"tianyi-fake-upstream did not start: {line!r}")
        url = m.group(1)
        voices = os.path.join(work, "voices.json")
        with open(voices, "w") as f:
            json.dump({"default": {"ref_audio_path": "/srv/voices/calm.wav", "prompt_text": "你好", "prompt_lang": "zh"}}, f)
        env = {"TIANYI_LLM_BASE_URL": url + "/v1", "TIANYI_EMBEDDING_BASE_URL": url + "/v1",
               "TIANYI_TTS_BASE_URLS": url, "TIANYI_TTS_VOICES_FILE": voices}
        with TianyiServer(server_bin, cli_bin, env) as server:
            server.register("alice")
            token = server.login("alice")["access_token"]
            end = server.chat(token, "你好，天依！")
            if end.get("status") != "completed":
                fail(f"the chat turn ended {end}\n{server.log_tail()}")
            # A stopped turn (the fake streams 40 tokens/s, so 300 ms is mid-reply): the stop latency
            # histogram gets a sample too.
            end = server.chat(token, "给我讲一个很长的故事吧。", stop_after_ms=300)
            if end.get("status") != "interrupted":
                fail(f"the stopped turn ended {end}")
            return server.metrics_text()
    finally:
        fake.terminate()
        fake.wait(10)
        shutil.rmtree(work, ignore_errors=True)


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)

    def checks():
        dash = dashboard_expressions()
        print(f"ok: the dashboard is importable JSON ({len(dash)} queries, all on the ${{datasource}} variable)")
        rules, alerts = rules_expressions()
        print(f"ok: the rules file has the structure Prometheus requires ({alerts} alerts)")
        checked = promtool_check(dash)
        print(f"ok: {checked}" if checked else "note: promtool is not installed: the rules were checked for structure only")
        named = [(where, name, labels) for where, expr in dash + rules for name, labels in selectors(expr)]
        families, samples = parse_exposition(served_metrics(sys.argv[1], sys.argv[2], sys.argv[3]))
        problems = [p for p in (check_metric(n, l, families, samples, w) for w, n, l in named) if p]
        if problems:
            fail("metrics named but not served:\n  " + "\n  ".join(problems))
        distinct = sorted({n for _, n, _ in named})
        print(f"ok: all {len(distinct)} metrics the dashboard and the alerts name are in /metrics after a chat turn and a stopped turn:")
        print("    " + " ".join(distinct))
        unused = sorted(f for f in families if f not in {n[: -len(s)] if n.endswith(s) else n for n in distinct for s in HISTOGRAM_SUFFIXES + ("",)})
        if unused:
            print(f"note: served but on no panel or alert: {' '.join(unused)}")

    return run_checks(checks)


if __name__ == "__main__":
    sys.exit(main())
