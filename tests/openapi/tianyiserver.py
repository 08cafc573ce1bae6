"""A real tianyi-server as a subprocess, for the tests of this folder: a fresh data directory, the
offline defaults (built-in responder, espeak-ng, hashing embedder), a free loopback port, a plain
HTTP client, and chat turns through tianyi-cli (the project's own WebSocket client)."""
import base64
import http.client
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time

ADMIN_NAME = "root_admin"
ADMIN_PASSWORD = "an admin pass phrase for tests"


class Failure(Exception):
    """A broken promise the test found; main() prints it as FAIL and exits 1."""


def fail(message):
    raise Failure(message)


def run_checks(checks):
    """Runs checks() and turns a Failure into "FAIL: ..." and exit status 1."""
    try:
        checks()
    except Failure as e:
        print(f"FAIL: {e}")
        return 1
    return 0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case names
        self.body = body

    @property
    def content_type(self):
        return self.headers.get("content-type", "")

    def json(self):
        return json.loads(self.body)


class TianyiServer:
    """Starts on enter, stops (SIGTERM, then kill) and removes its data directory on exit."""

    def __init__(self, binary, cli, env=None):
        self.binary = binary
        self.cli = cli
        self.extra_env = env or {}
        self.work = None
        self.proc = None
        self.port = None

    def __enter__(self):
        self.work = tempfile.mkdtemp(prefix="tianyi-openapi-")
        self.port = free_port()
        self.env = dict(os.environ,
                        TIANYI_SERVER_PORT=str(self.port),
                        TIANYI_SERVER_DATA_DIR=os.path.join(self.work, "data"),
                        # Cheap password hashing: the tests make many logins, not a security claim.
                        TIANYI_AUTH_ARGON2_OPS_LIMIT="1", TIANYI_AUTH_ARGON2_MEM_LIMIT_KIB="8",
                        **self.extra_env)
        created = subprocess.run([self.binary, "--create-admin", ADMIN_NAME],
                                 env=dict(self.env, TIANYI_ADMIN_PASSWORD=ADMIN_PASSWORD), capture_output=True, text=True)
        if created.returncode != 0:
            raise SystemExit(f"FAIL: --create-admin exited with {created.returncode}: {created.stdout}{created.stderr}")
        self.log_path = os.path.join(self.work, "server.log")
        self.proc = subprocess.Popen([self.binary], env=self.env, stdout=open(self.log_path, "w"), stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"FAIL: tianyi-server exited with {self.proc.returncode}\n{self.log_tail()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise SystemExit(f"FAIL: tianyi-server did not listen on {self.port}\n{self.log_tail()}")
                time.sleep(0.1)
        return self

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.work, ignore_errors=True)
        return False

    def log_tail(self, chars=3000):
        try:
            return open(self.log_path, errors="replace").read()[-chars:]
        except OSError:
            return ""

    def request(self, method, path, body=None, headers=None, token=None, form=None):
        """body: a dict/list (sent as JSON) or bytes; form: a dict sent form-encoded."""
        headers = dict(headers or {})
        data = None
        if form is not None:
            from urllib.parse import urlencode
            data = urlencode(form).encode()
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        elif isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        elif body is not None:
            data = body
        if token:
            headers["Authorization"] = f"Bearer {token}"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=data, headers=headers)
            r = conn.getresponse()
            return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        finally:
            conn.close()

    # Accounts -----------------------------------------------------------------------------------
    def register(self, username, password="correct horse battery staple"):
        r = self.request("POST", "/api/v1/auth/register", {"username": username, "password": password})
        if r.status != 201:
            raise SystemExit(f"FAIL: registering {username} answered {r.status} {r.body[:300]!r}")
        return r.json()["user"]

    def login(self, username, password="correct horse battery staple"):
        r = self.request("POST", "/api/v1/auth/token", form={"grant_type": "password", "username": username, "password": password})
        if r.status != 200:
            raise SystemExit(f"FAIL: logging in {username} answered {r.status} {r.body[:300]!r}")
        return r.json()

    def admin_tokens(self):
        return self.login(ADMIN_NAME, ADMIN_PASSWORD)

    def metrics_text(self):
        r = self.request("GET", "/metrics")
        if r.status != 200:
            raise SystemExit(f"FAIL: GET /metrics answered {r.status}")
        return r.body.decode()

    def repl(self, token):
        """A chat session that stays open between turns: tianyi-cli repl, one line per turn."""
        return CliSession([self.cli, "--server", f"http://127.0.0.1:{self.port}", "--token", token, "--json", "repl"])

    def chat(self, token, text, stop_after_ms=None):
        """One turn through tianyi-cli (optionally interrupted stop_after_ms after the chat is sent);
        returns its JSON summary of the turn (status, sentences, latencies)."""
        stop = ["--stop-after-ms", str(stop_after_ms)] if stop_after_ms is not None else []
        r = subprocess.run([self.cli, "--server", f"http://127.0.0.1:{self.port}", "--token", token, "--json", *stop, "chat", text],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0 or not r.stdout.strip():
            fail(f"tianyi-cli chat exited {r.returncode}: {r.stderr[-1000:]}")
        return json.loads(r.stdout.strip().splitlines()[-1])

class CliSession:
    """tianyi-cli repl as a subprocess: chat() sends one line and returns that turn's JSON summary."""

    def __init__(self, command):
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def chat(self, text):
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            fail(f"tianyi-cli repl ended without a turn: {self.proc.stderr.read()[-1000:]}")
        return json.loads(line)

    def close(self):
        """End of input: the repl waits for a running turn, then exits."""
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def websocket_handshake(port, path, timeout=60):
    """Opens a socket and sends a WebSocket upgrade for path: (socket, response head, bytes after it)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return sock, head, rest

