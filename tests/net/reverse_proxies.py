#!/usr/bin/env python3
"""The shipped reverse-proxy configurations in front of a real tianyi-server, over loopback.

packaging/haproxy/tianyi.cfg and packaging/nginx/tianyi.conf are run by Debian's haproxy and nginx
(only their port, certificate and upstream replaced) with TLS, in front of tianyi-server with
server.trusted_proxies = 127.0.0.1 and limits.max_connections_per_ip = 1. Clients connect from
other loopback addresses (127.0.0.2, 127.0.0.3), so the proxy's address (127.0.0.1) differs from
every client's. Proves, through each proxy:
  - a WebSocket upgrade to /ws works (101) and is counted under the client's own address: a second
    connection from that client is refused (503) while another client is served (200);
  - a client cannot pass as someone else with its own X-Forwarded-For / Forwarded headers;
  - once the socket is closed, the client is served again.
Exit 77 (skipped) when haproxy, nginx or openssl is missing: packaging/install-deps.sh test
installs them.
Usage: reverse_proxies.py TIANYI_SERVER_BINARY
"""
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

SKIP = 77
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, what, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"FAIL: {what} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"FAIL: {what} did not listen on {port}")


def tls_connect(port, source):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # our self-signed test certificate
    raw = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
    return ctx.wrap_socket(raw, server_hostname="localhost")


def read_head(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def get_status(port, source, extra_headers=""):
    with tls_connect(port, source) as s:
        s.sendall(f"GET /healthz HTTP/1.1\r\nHost: localhost\r\n{extra_headers}Connection: close\r\n\r\n".encode())
        head = read_head(s)
    return int(head.split(b" ")[1]) if head.startswith(b"HTTP/1.1 ") else 0


def open_websocket(port, source):
    s = tls_connect(port, source)
    s.sendall(b"GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    head = read_head(s)
    if not head.startswith(b"HTTP/1.1 101"):
        raise SystemExit(f"FAIL: WebSocket upgrade through the proxy answered {head[:80]!r}")
    return s


def replace_once(text, old, new, name):
    if text.count(old) != 1:
        raise SystemExit(f"FAIL: {name} no longer contains exactly one {old!r}; update this test with it")
    return text.replace(old, new)


def haproxy_config(work, port, upstream, pem):
    text = open(os.path.join(ROOT, "packaging/haproxy/tianyi.cfg")).read()
    text = replace_once(text, "bind :443 ssl crt /etc/haproxy/certs/tianyi.pem", f"bind 127.0.0.1:{port} ssl crt {pem}", "tianyi.cfg")
    text = replace_once(text, "server tianyi 127.0.0.1:8080", f"server tianyi 127.0.0.1:{upstream}", "tianyi.cfg")
    path = os.path.join(work, "haproxy.cfg")
    open(path, "w").write(text)
    return ["haproxy", "-db", "-f", path]


def nginx_access_log(work):
    return os.path.join(work, "nginx-access.log")


def check_no_query_logged(name, port, work):
    """A device token in ?token= (compat.olv_path) must not reach the proxy's access log."""
    secret = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LWRldmljZS10b2tlbg.c2lnbmF0dXJl"
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, ctx.wrap_socket(raw) as s:
        s.sendall(f"GET /client-ws?token={secret} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
        while s.recv(4096):
            pass
    log = nginx_access_log(work)
    deadline = time.time() + 10
    while not (os.path.exists(log) and "/client-ws" in open(log).read()):
        if time.time() > deadline:
            raise SystemExit(f"FAIL ({name}): the request to /client-ws never reached the access log {log}")
        time.sleep(0.1)
    if secret in open(log).read() or "token=" in open(log).read():
        raise SystemExit(f"FAIL ({name}): the access log holds the query string (a device token):\n{open(log).read()[-1000:]}")
    print(f"ok: {name}: the access log has the path of /client-ws but not its ?token=")


def nginx_config(work, port, upstream, cert, key):
    text = open(os.path.join(ROOT, "packaging/nginx/tianyi.conf")).read()
    text = replace_once(text, "listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;", "tianyi.conf")
    text = replace_once(text, "/etc/ssl/tianyi/fullchain.pem", cert, "tianyi.conf")
    text = replace_once(text, "/etc/ssl/tianyi/privkey.pem", key, "tianyi.conf")
    text = replace_once(text, "server 127.0.0.1:8080;", f"server 127.0.0.1:{upstream};", "tianyi.conf")
    text = replace_once(text, "/var/log/nginx/tianyi-access.log", nginx_access_log(work), "tianyi.conf")
    open(os.path.join(work, "tianyi.conf"), "w").write(text)
    temp = "".join(f"{t}_temp_path {work}/{t};\n" for t in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    user = "user root root;\n" if os.geteuid() == 0 else ""
    main = (f"{user}pid {work}/nginx.pid;\nerror_log {work}/nginx-error.log;\nevents {{}}\n"
            f"http {{\naccess_log off;\n{temp}include {work}/tianyi.conf;\n}}\n")
    path = os.path.join(work, "nginx.conf")
    open(path, "w").write(main)
    return ["nginx", "-p", work, "-c", path, "-g", "daemon off;"]


def check_through(name, port, server_log):
    alice, bob = "127.0.0.2", "127.0.0.3"
    ws = open_websocket(port, alice)
    try:
        # The socket is counted under alice (limit 1): her next connection is refused, bob is served.
        status = get_status(port, alice)
        if status != 503:
            raise SystemExit(f"FAIL ({name}): a second connection of the client holding the WebSocket got {status}, expected 503 "
                             f"(the server does not count the forwarded address)\n{open(server_log).read()[-3000:]}")
        status = get_status(port, bob)
        if status != 200:
            raise SystemExit(f"FAIL ({name}): another client got {status}, expected 200 (all clients counted as the proxy?)")
        # Bob cannot take alice's (or anyone's) place by naming it himself.
        for spoof in (f"X-Forwarded-For: {alice}\r\n", f"Forwarded: for={alice}\r\n", f"X-Forwarded-For: {alice}, {alice}\r\n"):
            status = get_status(port, bob, spoof)
            if status != 200:
                raise SystemExit(f"FAIL ({name}): a client sending {spoof.strip()!r} got {status}: the header was believed")
    finally:
        ws.close()
    deadline = time.time() + 10
    while get_status(port, alice) != 200:
        if time.time() > deadline:
            raise SystemExit(f"FAIL ({name}): the client was still refused 10 s after closing its WebSocket")
        time.sleep(0.1)
    print(f"ok: {name}: WebSocket upgrade through TLS, per-IP limit per forwarded client, spoofed headers ignored")


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    server_bin = sys.argv[1]
    missing = [b for b in ("haproxy", "nginx", "openssl") if not shutil.which(b)]
    if "openssl" in missing:
        print("SKIP: openssl is missing (packaging/install-deps.sh test installs it)")
        return SKIP
    proxies = [p for p in ("haproxy", "nginx") if p not in missing]
    if not proxies:
        print("SKIP: neither haproxy nor nginx is installed (packaging/install-deps.sh test installs both)")
        return SKIP
    work = tempfile.mkdtemp(prefix="tianyi-proxies-")
    procs = []
    try:
        cert, key, pem = (os.path.join(work, f) for f in ("cert.pem", "key.pem", "both.pem"))
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        open(pem, "w").write(open(cert).read() + open(key).read())

        upstream = free_port()
        env = dict(os.environ,
                   TIANYI_SERVER_PORT=str(upstream), TIANYI_SERVER_DATA_DIR=os.path.join(work, "data"),
                   TIANYI_SERVER_TRUSTED_PROXIES="127.0.0.1", TIANYI_LIMITS_MAX_CONNECTIONS_PER_IP="1",
                   TIANYI_CHAT_AUTH_TIMEOUT_MS="60000")
        server_log = os.path.join(work, "server.log")
        server = subprocess.Popen([server_bin], env=env, stdout=open(server_log, "w"), stderr=subprocess.STDOUT)
        procs.append(server)
        wait_for_port(upstream, server, "tianyi-server")

        for name in proxies:
            port = free_port()
            cmd = haproxy_config(work, port, upstream, pem) if name == "haproxy" else nginx_config(work, port, upstream, cert, key)
            proc = subprocess.Popen(cmd, stdout=open(os.path.join(work, f"{name}.log"), "w"), stderr=subprocess.STDOUT)
            procs.append(proc)
            wait_for_port(port, proc, name)
            check_through(name, port, server_log)
            if name == "nginx":
                check_no_query_logged(name, port, work)
            proc.terminate()
            proc.wait(10)
        for m in missing:
            print(f"SKIP: {m} is not installed (packaging/install-deps.sh test installs it)")
        return SKIP if missing else 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
