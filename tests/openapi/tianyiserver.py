"""A real tianyi-server as a subprocess, for the tests of this folder: a fresh data directory, the
offline defaults (built-in responder, espeak-ng, hashing embedder), a free loopback port, a plain
HTTP client and a minimal WebSocket client for chat turns (the Python standard library only, so the
tests need nothing beyond Debian's python3)."""
import base64
import http.client
import json
import os
import shutil
import socket
import struct
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

    def __init__(self, binary, env=None):
        self.binary = binary
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

    def chat_socket(self, token):
        return ChatSocket(self.port, token)


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


class ChatSocket:
    """A minimal RFC 6455 client for /ws: text messages out (masked), text and binary frames in,
    pings answered. Enough for authenticating and running chat turns."""

    def __init__(self, port, token, timeout=60):
        self.sock, head, self.buffer = websocket_handshake(port, "/ws", timeout)
        if not head.startswith(b"HTTP/1.1 101"):
            raise SystemExit(f"FAIL: /ws handshake answered {head[:120]!r}")
        self.send({"type": "auth", "token": token})
        self.hello = self.wait_for("hello")

    def _read(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise SystemExit("FAIL: /ws closed by the server")
            self.buffer += chunk
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def _frame(self, opcode, payload):
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def send(self, message):
        self._frame(0x1, json.dumps(message).encode())

    def receive(self):
        """The next text message (a dict) or binary message (bytes); answers pings on the way."""
        message, kind = b"", None
        while True:
            b0, b1 = self._read(2)
            opcode, n = b0 & 0x0F, b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(n)
            if opcode == 0x9:
                self._frame(0xA, payload)
                continue
            if opcode == 0x8:
                code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else None
                raise ConnectionError(f"/ws closed with {code}: {payload[2:]!r}")
            if opcode in (0x1, 0x2):
                kind = opcode
            message += payload
            if b0 & 0x80:
                return json.loads(message) if kind == 0x1 else message

    def wait_for(self, type_):
        while True:
            m = self.receive()
            if isinstance(m, dict):
                if m.get("type") == type_:
                    return m
                if m.get("type") == "error" and type_ != "error":
                    continue

    def chat(self, text):
        """Runs one turn to its end; returns the turn_end message."""
        self.send({"type": "chat", "text": text})
        return self.wait_for("turn_end")

    def close(self):
        try:
            self._frame(0x8, struct.pack(">H", 1000))
        except OSError:
            pass
        self.sock.close()
