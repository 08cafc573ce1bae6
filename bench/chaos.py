#!/usr/bin/env python3
"""Crash safety under load: SIGKILL tianyi-server at random moments mid-turn, restart it on the same
data directory, and after all kills prove that nothing a client was told is lost or doubled.

Setup: one tianyi-fake-upstream (LLM, embeddings and GPT-SoVITS at fixed latencies) that lives through
every kill, U registered users. Each round ("epoch"): start the server, every user opens a chat socket
and chats in a loop (think time 0..T; a share of the turns gets a `stop` mid-reply), SIGKILL the server
a random time after the round's first turn_start: at a random moment while a turn is in flight, the
instant a client receives a turn_end, or the instant the server logs that an extraction job stored its
memories. The driver records, per turn, the (user, session_id, turn) and the turn_end it received.

Every user message is "我喜欢W<n>号。…" with a fresh n, and the fake answers the server's memory
extraction request for it with exactly one fact "你喜欢W<n>号": so every memory names its source turn,
and a re-delivered extraction job that stored its fact twice shows up as a duplicate (user, text).

After each kill, a copy of the database (the server is dead, the files are still) is opened: integrity
check, acknowledged turns whose final write is missing, extraction jobs left running whose fact is
already stored (the re-deliveries that exercise idempotency). After the last kill: one more start
(crash recovery: pending turns -> failed, running jobs -> pending), the outbox drains, every user's
history is read through the API, SIGTERM, then the checks on the files (sqlite3 CLI integrity_check).

Bounded: every loop has a count and a deadline; everything on 127.0.0.1; the child processes die with
this script (PR_SET_PDEATHSIG) and are killed in `finally`; the temporary directory goes unless --keep.
Exit status 0 only if every check passed. One JSON object on stdout (and in --json FILE).

  bench/chaos.py [--kills 100] [--users 12] [--build-dir build/release] [--json FILE] [--keep]
"""
import argparse
import asyncio
import base64
import ctypes
import hashlib
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

REPLY = "[开心]今天天气真不错呀，我们一起去公园散散步，然后再唱一首新歌，好不好？[平静]我已经准备好啦。"
SUMMARY = "用户和天依聊了很多喜欢的东西。"
# Latencies of the fake: a turn takes about a second (text and audio), so a kill often lands mid-reply.
FAKE_ARGS = ["--ttft-ms", "80", "--tokens-per-second", "120", "--tts-first-chunk-ms", "40", "--tts-rtf", "0.1",
             "--embedding-dimensions", "64"]
PASSWORD = "chaos password 1"
USER_TEXT = re.compile(r"我喜欢W(\d+)号")
SERVER_ENV = {
    "TIANYI_CHAT_TURNS_PER_MINUTE": "100000",
    "TIANYI_TTS_PER_BACKEND_CONCURRENCY": "1024",
    "TIANYI_LLM_MAX_CONCURRENT": "4096",
    "TIANYI_CHAT_MAX_SESSIONS_PER_USER": "100",
    "TIANYI_LIMITS_MAX_CONNECTIONS_PER_IP": "30000",
    "TIANYI_AUTH_ARGON2_OPS_LIMIT": "1",
    "TIANYI_AUTH_ARGON2_MEM_LIMIT_KIB": "8",
    "TIANYI_AUTH_ACCESS_TOKEN_TTL_S": "86400",
    "TIANYI_AUDIO_KEEP": "true",
    "TIANYI_EMBEDDING_DIMENSIONS": "64",
    "TIANYI_SERVER_LISTEN_ADDRESS": "127.0.0.1",
}
JOB_KINDS = ("extract_memories", "summarize")

# Bounds (seconds) of each wait; a run never waits longer than these in any one place.
START_TIMEOUT_S = 60       # the server prints its URL
CONNECT_TIMEOUT_S = 20     # a chat socket gets its hello
FIRST_TURN_TIMEOUT_S = 30  # the round's first turn_start
IN_FLIGHT_WAIT_S = 5       # after the kill moment: until some turn is in flight
CLIENT_END_TIMEOUT_S = 10  # the clients notice the dead server
HTTP_TIMEOUT_S = 30
STOP_TIMEOUT_S = 30        # SIGTERM to exit


def user_text(n):
    return f"我喜欢W{n}号。今天唱什么歌？"


def fact_text(n):
    return f"你喜欢W{n}号"


def log(*args):
    print("chaos:", *args, file=sys.stderr, flush=True)


def die_with_parent():
    """preexec_fn: the child gets SIGKILL when this script dies (even by SIGKILL), so no server outlives a test."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


# --- a minimal WebSocket client (RFC 6455, client side; stdlib only) ---------------------------------
class Closed(Exception):
    pass


class WebSocket:
    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, host, port, path):
        reader, writer = await asyncio.open_connection(host, port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = await reader.readuntil(b"\r\n\r\n")
        accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        if not head.startswith(b"HTTP/1.1 101") or accept.encode() not in head:
            writer.close()
            raise Closed("handshake refused: " + head.split(b"\r\n")[0].decode(errors="replace"))
        return cls(reader, writer)

    def _frame(self, opcode, data):
        mask = os.urandom(4)
        n = len(data)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        k = (mask * (n // 4 + 1))[:n]
        masked = (int.from_bytes(data, "big") ^ int.from_bytes(k, "big")).to_bytes(n, "big") if n else b""
        return head + mask + masked

    def send_json(self, obj):
        if not self.writer.is_closing():
            self.writer.write(self._frame(0x1, json.dumps(obj, ensure_ascii=False).encode()))

    async def recv_json(self):
        """The next text message as JSON; answers pings, skips binary (audio); Closed on close or EOF."""
        parts, opcode = [], None
        while True:
            try:
                b0, b1 = await self.reader.readexactly(2)
                n = b1 & 0x7F
                if n == 126:
                    n = struct.unpack(">H", await self.reader.readexactly(2))[0]
                elif n == 127:
                    n = struct.unpack(">Q", await self.reader.readexactly(8))[0]
                payload = await self.reader.readexactly(n)
            except (asyncio.IncompleteReadError, ConnectionError) as e:
                raise Closed(str(e))
            op = b0 & 0x0F
            if op == 0x8:
                raise Closed("close frame")
            if op == 0x9:
                if not self.writer.is_closing():
                    self.writer.write(self._frame(0xA, payload))
                continue
            if op == 0xA:
                continue
            if op != 0x0:
                opcode, parts = op, []
            parts.append(payload)
            if b0 & 0x80:
                if opcode == 0x1:
                    return json.loads(b"".join(parts))
                parts, opcode = [], None

    def close(self):
        try:
            self.writer.close()
        except Exception:
            pass


# --- the run -------------------------------------------------------------------------------------------
class Chaos:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.work = tempfile.mkdtemp(prefix="tianyi-chaos-")
        self.data = os.path.join(self.work, "data")
        self.db_path = os.path.join(self.data, "tianyi.sqlite3")
        os.makedirs(self.data)
        self.procs = []
        self.server = None
        self.users = []            # [{name, id, token}]
        self.next_fact = 0
        self.acked = {}            # (user_id, session_id, turn) -> {status, text, fact}
        self.unacked = []          # turns that got turn_start but no turn_end: (user_id, session_id, turn)
        self.refused = 0
        self.sent = 0
        self.in_flight = 0
        self.kills = []            # per kill: {epoch, after_first_turn_s, in_flight, acked_so_far}
        self.per_kill = {"integrity_failures": 0, "acked_turns_not_stored": 0, "jobs_running_with_effect_stored": 0}
        self.problems = []
        self.killed = False        # this round's server was SIGKILLed
        self.not_stored = set()    # acknowledged turns a killed server's files did not have as acknowledged
        self.deadline = time.monotonic() + args.time_limit_s

    # processes
    def spawn(self, name, cmd, env=None):
        out = open(os.path.join(self.work, name + ".out"), "a")
        err = open(os.path.join(self.work, name + ".err"), "a")
        p = subprocess.Popen(cmd, stdout=out, stderr=err, env={**os.environ, **(env or {})}, preexec_fn=die_with_parent)
        out.close()
        err.close()
        p.name = name
        p.killed = False
        self.procs.append(p)
        return p

    async def wait_for_line(self, p, pattern, start_at=0):
        path = os.path.join(self.work, p.name + ".out")
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            with open(path, errors="replace") as f:
                f.seek(start_at)
                m = re.search(pattern, f.read())
            if m:
                return m.group(1)
            if p.poll() is not None:
                break
            await asyncio.sleep(0.02)
        raise RuntimeError(f"{p.name} did not start (exit {p.poll()}): {self.tail(p.name + '.err')}")

    def tail(self, name, n=3000):
        try:
            with open(os.path.join(self.work, name), errors="replace") as f:
                return f.read()[-n:]
        except OSError:
            return ""

    def kill_all(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.procs = []

    async def start_fake(self):
        script = {}
        for n in range(self.args.facts):
            script[f"[extract_memories]\nUser: {user_text(n).split('。')[0]}"] = json.dumps(
                [{"text": fact_text(n), "kind": "preference", "importance": 0.7}], ensure_ascii=False)
        script["[summarize]"] = SUMMARY
        path = os.path.join(self.work, "script.json")
        with open(path, "w") as f:
            json.dump(script, f, ensure_ascii=False)
        p = self.spawn("fake", [self.args.fake, "--port", "0", "--host", "127.0.0.1", "--reply", REPLY, "--script", path] + FAKE_ARGS)
        self.fake_url = await self.wait_for_line(p, r"listening on (http://\S+)")
        with open(os.path.join(self.work, "voices.json"), "w") as f:
            json.dump({"default": {"ref_audio_path": "/srv/voices/calm.wav", "prompt_text": "你好", "prompt_lang": "zh"}}, f)

    async def start_server(self, label):
        out = os.path.join(self.work, "server.out")
        start_at = os.path.getsize(out) if os.path.exists(out) else 0
        with open(os.path.join(self.work, "server.err"), "a") as f:
            f.write(f"===== {label} =====\n")
        env = {**SERVER_ENV, "TIANYI_LLM_BASE_URL": self.fake_url + "/v1", "TIANYI_EMBEDDING_BASE_URL": self.fake_url + "/v1",
               "TIANYI_TTS_BASE_URLS": self.fake_url, "TIANYI_TTS_VOICES_FILE": os.path.join(self.work, "voices.json")}
        self.server = self.spawn("server", [self.args.server, "--port", "0", "--data-dir", self.data], env)
        url = await self.wait_for_line(self.server, r"Browser: (http://[0-9.:]+)/", start_at)
        u = urllib.parse.urlsplit(url)
        self.host, self.port, self.url = u.hostname, u.port, url

    # HTTP
    def http(self, method, path, body=None, token=None):
        req = urllib.request.Request(self.url + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json", **({"Authorization": "Bearer " + token} if token else {})})
        try:
            with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT_S) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def register_users(self):
        for i in range(self.args.users):
            name = f"chaos{i}"
            status, body = self.http("POST", "/api/v1/auth/register", {"username": name, "password": PASSWORD})
            if status != 201:
                raise RuntimeError(f"register {name}: {status} {body}")
            status, tok = self.http("POST", "/api/v1/auth/token", {"grant_type": "password", "username": name, "password": PASSWORD})
            if status != 200:
                raise RuntimeError(f"login {name}: {status} {tok}")
            self.users.append({"name": name, "id": body["user"]["id"], "token": tok["access_token"]})

    # one chat socket: chat after chat until the server dies (or the round's turn cap)
    async def session(self, user, state):
        session_id, turn = None, None
        try:
            ws = await asyncio.wait_for(WebSocket.connect(self.host, self.port, "/ws?token=" + user["token"]), CONNECT_TIMEOUT_S)
        except (OSError, EOFError, Closed, asyncio.TimeoutError) as e:  # EOFError: IncompleteReadError mid-handshake
            if not self.killed:
                self.problems.append(f"chat socket of {user['name']} did not open: {e!r}")
            return  # else the server died while the sockets opened (a kill can land there too)
        try:
            try:
                hello = await asyncio.wait_for(ws.recv_json(), CONNECT_TIMEOUT_S)
            except asyncio.TimeoutError:
                hello = {"type": f"nothing in {CONNECT_TIMEOUT_S} s"}
            if hello.get("type") != "hello":
                self.problems.append(f"expected hello, got {hello}")
                return
            session_id = hello["session_id"]
            for _ in range(self.args.max_turns_per_round):
                n = self.next_fact % self.args.facts
                self.next_fact += 1
                ws.send_json({"type": "chat", "text": user_text(n)})
                self.sent += 1
                turn = None
                while True:
                    msg = await ws.recv_json()
                    kind = msg.get("type")
                    if kind == "turn_start" and turn is None:
                        turn = msg["turn"]
                        self.in_flight += 1
                        state["first_turn"].set()
                        if self.rng.random() < self.args.stop_fraction:
                            asyncio.get_running_loop().call_later(self.rng.uniform(0.05, 0.8), ws.send_json, {"type": "stop", "turn": turn})
                    elif kind == "turn_end" and msg.get("turn") == turn:
                        # The acknowledgement: recorded the moment it arrives, before anything else.
                        self.acked[(user["id"], session_id, turn)] = {"status": msg["status"], "text": msg.get("text", ""), "fact": n}
                        self.in_flight -= 1
                        turn = None
                        if state.get("kill_on_ack"):
                            self.kill_server("on_turn_end")
                        break
                    elif kind == "error" and turn is None and msg.get("turn") is None:
                        self.refused += 1
                        break
                await asyncio.sleep(self.rng.uniform(0, self.args.think_ms / 1000))
        except Closed:
            pass
        finally:
            if turn is not None:
                self.in_flight -= 1
                self.unacked.append((user["id"], session_id, turn))
            ws.close()

    async def epoch(self, index):
        if self.server is None:  # round 0 uses the server that registered the users
            await self.start_server(f"round {index}")
        self.killed = False
        state = {"first_turn": asyncio.Event()}
        tasks = [asyncio.create_task(self.session(u, state)) for u in self.users]
        try:
            await asyncio.wait_for(state["first_turn"].wait(), FIRST_TURN_TIMEOUT_S)
        except asyncio.TimeoutError:
            raise RuntimeError(f"round {index}: no turn started within {FIRST_TURN_TIMEOUT_S} s; {self.tail('server.err')}")
        t0 = time.monotonic()
        await asyncio.sleep(self.rng.uniform(self.args.kill_min_s, self.args.kill_max_s))
        if self.server.poll() is not None:
            raise RuntimeError(f"round {index}: the server exited by itself ({self.server.returncode}): {self.tail('server.err')}")
        # Which moment: any (while a turn is in flight), the instant a client receives a turn_end (was
        # the turn stored before it was acknowledged?), or the instant the server logs that an extraction
        # job stored its memories (before the job is marked done: the re-delivery must add nothing).
        draw = self.rng.random()
        mode = "on_turn_end" if draw < self.args.ack_kill_fraction else \
            "on_memory_stored" if draw < self.args.ack_kill_fraction + self.args.memory_kill_fraction else "random"
        wait_until = time.monotonic() + IN_FLIGHT_WAIT_S
        if mode == "on_turn_end":
            state["kill_on_ack"] = True  # session() kills at once when the next turn_end arrives
            while self.server_pid_alive() and time.monotonic() < wait_until:
                await asyncio.sleep(0.005)
            mode = "random"  # no turn_end in time (kill_server keeps the first mode if session() killed)
        elif mode == "on_memory_stored":
            if not await self.wait_for_log(r"job \d+ stored \d+ new and \d+ updated memories", wait_until):
                mode = "random"
        else:
            while self.in_flight == 0 and time.monotonic() < wait_until:
                await asyncio.sleep(0.005)
        self.kill_server(mode)
        self.server.wait()
        self.procs.remove(self.server)
        self.server = None
        self.kills[-1].update({"round": index, "after_first_turn_s": round(time.monotonic() - t0, 3), "acked_so_far": len(self.acked)})
        done, pending = await asyncio.wait(tasks, timeout=CLIENT_END_TIMEOUT_S)
        for t in pending:
            t.cancel()
        for t in done:
            if t.exception():
                raise t.exception()
        self.check_after_kill(index)

    def server_pid_alive(self):
        return self.server is not None and not self.server.killed

    def kill_server(self, mode):
        """SIGKILL now (once per round); notes the moment's kind and the turns in flight."""
        if self.killed:
            return
        self.killed = True
        self.server.killed = True
        self.server.send_signal(signal.SIGKILL)
        self.kills.append({"mode": mode, "in_flight": self.in_flight})

    async def wait_for_log(self, pattern, deadline):
        """Polls the server's log (from where it is now) every millisecond until pattern appears or deadline."""
        path = os.path.join(self.work, "server.err")
        offset = os.path.getsize(path)
        rx = re.compile(pattern)
        with open(path, errors="replace") as f:
            f.seek(offset)
            buf = ""
            while time.monotonic() < deadline:
                buf = (buf + f.read())[-4096:]
                if rx.search(buf):
                    return True
                await asyncio.sleep(0.001)
        return False

    # the database as the killed server left it (a copy: the next start must see the files untouched)
    def check_after_kill(self, index):
        if index % self.args.check_every:
            return
        copy = os.path.join(self.work, "copy.sqlite3")
        for suffix in ("", "-wal"):
            if os.path.exists(self.db_path + suffix):
                shutil.copyfile(self.db_path + suffix, copy + suffix)
            elif os.path.exists(copy + suffix):
                os.remove(copy + suffix)
        db = sqlite3.connect(copy)
        try:
            ok = db.execute("PRAGMA integrity_check").fetchall()
            if ok != [("ok",)]:
                self.per_kill["integrity_failures"] += 1
                self.problems.append(f"round {index}: integrity_check after the kill: {ok[:5]}")
            stored = {(u, s, t): (st, txt) for u, s, t, st, txt in db.execute("SELECT user_id, session_id, turn_no, status, reply_text FROM turns")}
            for key, ack in self.acked.items():
                row = stored.get(key)
                if (row is None or row[0] != ack["status"] or row[1] != ack["text"]) and key not in self.not_stored:
                    self.not_stored.add(key)  # counted once, in the first round whose files miss it
                    self.per_kill["acked_turns_not_stored"] += 1
                    self.problems.append(f"round {index} ({self.kills[-1]['mode']} kill): turn {key} was acknowledged "
                                         f"{ack['status']} but the killed server's files have {row}")
            # Extraction jobs the kill left running although their fact is already stored: the next
            # start runs them again (at-least-once), which must not add a second memory.
            self.per_kill["jobs_running_with_effect_stored"] += db.execute(
                "SELECT COUNT(*) FROM outbox o JOIN turns t ON t.id = json_extract(o.payload, '$.turn_id')"
                " WHERE o.kind = 'extract_memories' AND o.status = 'running' AND EXISTS (SELECT 1 FROM memories m"
                " WHERE m.user_id = t.user_id AND m.text = '你喜欢' || substr(t.user_text, 4, instr(t.user_text, '号') - 3))").fetchone()[0]
        finally:
            db.close()

    async def drain_outbox(self):
        """After the final start: until no job is pending or running (bounded), reading the live database."""
        deadline = time.monotonic() + self.args.drain_s
        left = None
        while time.monotonic() < deadline:
            db = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=5)
            try:
                left = db.execute("SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'running')").fetchone()[0]
            finally:
                db.close()
            if left == 0:
                return 0
            await asyncio.sleep(0.25)
        return left

    def history_check(self):
        """Every acknowledged turn through GET /me/history, exactly once (bounded paging)."""
        found = {}
        for u in self.users:
            before, pages = None, 0
            max_pages = len(self.acked) // 100 + len(self.unacked) // 100 + 5 + self.sent // 100
            while pages < max_pages:
                status, body = self.http("GET", "/api/v1/me/history?limit=100" + (f"&before={before}" if before else ""), token=u["token"])
                if status != 200:
                    raise RuntimeError(f"history of {u['name']}: {status} {body}")
                pages += 1
                for t in body["turns"]:
                    key = (u["id"], t["session_id"], t["turn"])
                    found.setdefault(key, []).append(t)
                before = body.get("next_before")
                if not before or not body["turns"]:
                    break
        missing = [k for k in self.acked if k not in found]
        doubled = [k for k in self.acked if len(found.get(k, [])) > 1]
        wrong = [k for k in self.acked if len(found.get(k, [])) == 1
                 and (found[k][0]["status"] != self.acked[k]["status"] or found[k][0]["reply_text"] != self.acked[k]["text"])]
        return {"turns_listed": len(found), "acked_missing": len(missing), "acked_more_than_once": len(doubled),
                "acked_status_or_text_differs": len(wrong), "examples": [str(k) for k in (missing + doubled + wrong)[:5]]}

    def final_checks(self):
        out = {}
        r = subprocess.run(["sqlite3", self.db_path, "PRAGMA integrity_check;"], capture_output=True, text=True, timeout=120)
        out["integrity_check"] = r.stdout.strip() or r.stderr.strip()
        r = subprocess.run(["sqlite3", self.db_path, "PRAGMA foreign_key_check;"], capture_output=True, text=True, timeout=120)
        out["foreign_key_violations"] = len([l for l in r.stdout.splitlines() if l.strip()])
        db = sqlite3.connect(self.db_path)
        try:
            rows = db.execute("SELECT id, user_id, session_id, turn_no, status, reply_text, user_text FROM turns").fetchall()
            by_key = {}
            for row in rows:
                by_key.setdefault((row[1], row[2], row[3]), []).append(row)
            turns = {
                "stored": len(rows),
                "by_status": {s: c for s, c in db.execute("SELECT status, COUNT(*) FROM turns GROUP BY status")},
                "acked": len(self.acked),
                "acked_found_once": sum(1 for k in self.acked if len(by_key.get(k, [])) == 1),
                "acked_missing": sum(1 for k in self.acked if k not in by_key),
                "acked_more_than_once": sum(1 for k in self.acked if len(by_key.get(k, [])) > 1),
                "acked_status_or_text_differs": sum(1 for k, a in self.acked.items() if len(by_key.get(k, [])) == 1
                                                    and (by_key[k][0][4] != a["status"] or by_key[k][0][5] != a["text"])),
                "acked_by_status": {},
                "unacked_in_flight_at_kill": len(self.unacked),
                "unacked_stored_as": {},
                "same_turn_stored_twice": sum(1 for v in by_key.values() if len(v) > 1),
                "still_pending": sum(1 for r in rows if r[4] == "pending"),
            }
            for a in self.acked.values():
                turns["acked_by_status"][a["status"]] = turns["acked_by_status"].get(a["status"], 0) + 1
            for k in self.unacked:
                s = by_key[k][0][4] if k in by_key else "absent"
                turns["unacked_stored_as"][s] = turns["unacked_stored_as"].get(s, 0) + 1
            out["turns"] = turns

            # Jobs: every completed turn has exactly one job of each kind, in a known state; none for other turns.
            completed = {r[0]: r for r in rows if r[4] == "completed"}
            jobs = {}
            for jid, kind, status, attempts, payload, err in db.execute("SELECT id, kind, status, attempts, payload, last_error FROM outbox"):
                jobs.setdefault((kind, json.loads(payload).get("turn_id")), []).append((jid, status, attempts, err))
            lost = sum(1 for tid in completed for kind in JOB_KINDS if (kind, tid) not in jobs)
            doubled = sum(1 for v in jobs.values() if len(v) > 1)
            stray = sum(1 for (kind, tid) in jobs if tid not in completed)
            statuses = {}
            for v in jobs.values():
                for _, status, _, _ in v:
                    statuses[status] = statuses.get(status, 0) + 1
            dead = [{"kind": k, "turn_id": t, "attempts": a, "last_error": e[:200]} for (k, t), v in jobs.items() for _, s, a, e in v if s == "dead"]
            out["jobs"] = {"total": sum(len(v) for v in jobs.values()), "by_status": statuses, "lost": lost, "enqueued_twice": doubled,
                           "for_turns_not_completed": stray, "redelivered_attempts_gt_1": sum(1 for v in jobs.values() for j in v if j[2] > 1),
                           "dead_letters": dead[:20]}

            # Memories: no (user, text) twice; each done extraction job's fact is there; nothing else is.
            mem = db.execute("SELECT user_id, text FROM memories").fetchall()
            counts = {}
            for m in mem:
                counts[m] = counts.get(m, 0) + 1
            expected, done_facts = {}, set()
            for tid, r in completed.items():
                m = USER_TEXT.search(r[6])
                if not m:
                    continue
                fact = (r[1], fact_text(int(m.group(1))))
                expected[fact] = tid
                if any(s == "done" for _, s, _, _ in jobs.get(("extract_memories", tid), [])):
                    done_facts.add(fact)
            out["memories"] = {
                "stored": len(mem),
                "duplicates": sum(c - 1 for c in counts.values() if c > 1),
                "done_jobs_fact_missing": sum(1 for f in done_facts if f not in counts),
                "not_from_a_completed_turn": sum(1 for f in counts if f not in expected),
            }
            summaries = db.execute("SELECT COUNT(*) FROM summaries").fetchone()[0]
            out["summaries"] = summaries
            # Audio rows that point at a file: the file must be there (the audio store writes the file first).
            missing_files = 0
            for (rel,) in db.execute("SELECT relative_path FROM turn_audio WHERE relative_path <> ''"):
                if not os.path.exists(os.path.join(self.data, "audio", rel)):
                    missing_files += 1
            out["audio"] = {"rows_with_file": db.execute("SELECT COUNT(*) FROM turn_audio WHERE relative_path <> ''").fetchone()[0],
                            "rows_whose_file_is_missing": missing_files}
        finally:
            db.close()
        return out

    def verdict(self, final, history, left, stop_code):
        t, j, m = final["turns"], final["jobs"], final["memories"]
        checks = {
            "integrity_check ok": final["integrity_check"] == "ok",
            "no foreign key violation": final["foreign_key_violations"] == 0,
            "integrity ok after every checked kill": self.per_kill["integrity_failures"] == 0,
            "every acked turn stored once, as acked": t["acked_found_once"] == t["acked"] and t["acked_status_or_text_differs"] == 0,
            "every acked turn in the killed server's files": self.per_kill["acked_turns_not_stored"] == 0,
            "every acked turn in GET /me/history once, as acked": history["acked_missing"] == 0 and history["acked_more_than_once"] == 0
            and history["acked_status_or_text_differs"] == 0,
            "no turn stored twice": t["same_turn_stored_twice"] == 0,
            "no turn left pending after restart": t["still_pending"] == 0,
            "no job lost": j["lost"] == 0 and j["enqueued_twice"] == 0 and j["for_turns_not_completed"] == 0,
            "outbox drained": left == 0,
            "no duplicate memory": m["duplicates"] == 0,
            "every done extraction stored its fact": m["done_jobs_fact_missing"] == 0,
            "no memory from elsewhere": m["not_from_a_completed_turn"] == 0,
            "audio rows point at files": final["audio"]["rows_whose_file_is_missing"] == 0,
            "clean SIGTERM after the last restart": stop_code == 0,
            "every chat socket opened": not [p for p in self.problems if "expected hello" in p or "did not open" in p],
        }
        return checks

    async def run(self):
        started = time.monotonic()
        await self.start_fake()
        await self.start_server("setup")
        self.register_users()
        log(f"{len(self.users)} users, fake at {self.fake_url}, data in {self.data}")
        for i in range(self.args.kills):
            if time.monotonic() > self.deadline:
                self.problems.append(f"time limit reached after {i} kills")
                break
            await self.epoch(i)
            if (i + 1) % 10 == 0 or i + 1 == self.args.kills:
                log(f"{i + 1} kills, {len(self.acked)} turns acknowledged, {len(self.unacked)} in flight at kills, "
                    f"{time.monotonic() - started:.0f} s")
        # Crash recovery once more, then the outbox drains with no clients.
        if self.server is None:
            await self.start_server("final")
        left = await self.drain_outbox()
        history = self.history_check()
        self.server.send_signal(signal.SIGTERM)
        try:
            stop_code = self.server.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.server.kill()
            stop_code = self.server.wait()
        self.procs.remove(self.server)
        final = self.final_checks()
        checks = self.verdict(final, history, left, stop_code)
        result = {
            "kills": len(self.kills),
            "kills_with_turns_in_flight": sum(1 for k in self.kills if k["in_flight"] > 0),
            "kills_by_moment": {m: sum(1 for k in self.kills if k["mode"] == m) for m in ("random", "on_turn_end", "on_memory_stored")},
            "users": len(self.users),
            "chats_sent": self.sent,
            "turns_acknowledged": len(self.acked),
            "refused": self.refused,
            "outbox_left_after_drain": left,
            "final_stop_exit_code": stop_code,
            "per_kill": self.per_kill,
            "history_api": history,
            **final,
            "seconds": round(time.monotonic() - started, 1),
            "checks": checks,
            "passed": all(checks.values()),
            "problems": self.problems[:20],
            "kill_moments": self.kills if self.args.verbose else None,
        }
        return result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kills", type=int, default=100)
    ap.add_argument("--users", type=int, default=12)
    ap.add_argument("--build-dir", default=None, help="where the binaries are (default build/release)")
    ap.add_argument("--server", help="tianyi-server binary (default BUILD/server/tianyi-server)")
    ap.add_argument("--fake", help="tianyi-fake-upstream binary (default BUILD/tests/fake-upstream/tianyi-fake-upstream)")
    ap.add_argument("--kill-min-s", type=float, default=0.2, help="kill this long at least after a round's first turn_start")
    ap.add_argument("--kill-max-s", type=float, default=2.5)
    ap.add_argument("--think-ms", type=float, default=200, help="pause after a turn_end: uniform 0..this")
    ap.add_argument("--stop-fraction", type=float, default=0.15, help="share of turns that get a stop mid-reply")
    ap.add_argument("--ack-kill-fraction", type=float, default=0.3, help="share of kills the instant a client receives a turn_end")
    ap.add_argument("--memory-kill-fraction", type=float, default=0.2,
                    help="share of kills the instant the server logs stored memories (before the job is marked done)")
    ap.add_argument("--max-turns-per-round", type=int, default=200)
    ap.add_argument("--facts", type=int, default=5000, help="distinct facts (user messages) before they repeat")
    ap.add_argument("--check-every", type=int, default=1, help="inspect a copy of the database after every Nth kill")
    ap.add_argument("--drain-s", type=float, default=60, help="longest wait for the outbox after the final start")
    ap.add_argument("--time-limit-s", type=float, default=3600, help="no new round after this long")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--json", help="also write the result here")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, database)")
    ap.add_argument("--verbose", action="store_true", help="list every kill moment in the result")
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    build = args.build_dir or os.path.join(root, "build", "release")
    args.server = args.server or os.path.join(build, "server", "tianyi-server")
    args.fake = args.fake or os.path.join(build, "tests", "fake-upstream", "tianyi-fake-upstream")
    if args.seed is None:
        args.seed = random.randrange(1 << 30)
    for b in (args.server, args.fake):
        if not os.access(b, os.X_OK):
            ap.error(f"not an executable: {b} (build it: cmake --build {build} --target tianyi-server tianyi-fake-upstream)")
    if not shutil.which("sqlite3"):
        ap.error("the sqlite3 command-line shell is needed (packaging/install-deps.sh test)")

    # SIGTERM (ctest's timeout, a Ctrl-C) ends the run through `finally`: no process or directory is left.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(3))
    chaos = Chaos(args)
    log(f"seed {args.seed}, {args.kills} kills, work directory {chaos.work}")
    result, code = None, 1
    try:
        result = asyncio.run(chaos.run())
        result["seed"] = args.seed
        code = 0 if result["passed"] else 1
    except Exception as e:
        log(f"FAILED: {e}")
        result = {"error": str(e), "seed": args.seed, "kills": len(chaos.kills), "problems": chaos.problems[:20]}
        code = 1
    finally:
        chaos.kill_all()
        if result is not None:
            if code != 0:
                result["logs"] = chaos.work if args.keep else "rerun with --keep for the logs"
                log("server log tail:\n" + chaos.tail("server.err", 2000))
            line = json.dumps({k: v for k, v in result.items() if v is not None}, ensure_ascii=False, indent=1)
            print(line, flush=True)
            if args.json:
                with open(args.json, "w") as f:
                    f.write(line + "\n")
        if args.keep:
            log(f"kept {chaos.work}")
        else:
            shutil.rmtree(chaos.work, ignore_errors=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
