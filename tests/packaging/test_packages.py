#!/usr/bin/env python3
"""The Debian packages, installed for real: contents, lintian, the unit, the service as it would run,
an upgrade over an older package with data, and purge.

Runs as root on a throwaway Debian machine (CI): it installs tianyi-server and tianyi-admin into the
system with dpkg/apt and purges them at the end, also when a check fails. systemd need not run: the
service is started from the installed unit's own lines (User=, Group=, Environment=, ExecStart=,
NoNewPrivileges=, CapabilityBoundingSet= with setpriv; ProtectSystem=, ReadWritePaths=,
ProtectHome=, PrivateTmp= in a mount namespace), with a NOTIFY_SOCKET and WATCHDOG_USEC of this
script's, as systemd would.

The upgrade: the tianyi-server .deb repacked with an older version number (0.0.1-1) is installed and
used first (accounts, chat turns, an edited conffile); its database is then turned into what a
schema-5 release wrote (migration 6 undone with its own statements reversed), and the real packages
go over it with `apt install ./…`. Checked: the first start applies migration 6 and only it, once; a
restart applies nothing; the data directory, the JWT secret, the edited conffile, the accounts and
an access token issued before all survive. (Building an older tree for a real old binary would
double the packaging build time in CI; the migration path is the same code.)

Exit 77 (skipped) when not root, or when the packages were not built (tests/run.sh builds them; with
CI set, missing packages fail instead).
Usage: test_packages.py DEB_DIR
"""
import glob
import hashlib
import json
import os
import pwd
import re
import shlex
import shutil
import socket
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
import urllib.request

SKIP = 77
UNIT = "/lib/systemd/system/tianyi-server.service"
CONF = "/etc/tianyi/tianyi.conf"
DATA = "/var/lib/tianyi"
MAX_EXPOSURE = 2.0
START_TIMEOUT_S = 60
PASSWORD = "packaged-pass-1234"
ADMIN_PASSWORD = "packaged-admin-5678"
WATCHDOG_USEC = 2_000_000  # pings every second: at least one arrives during the chat turn

checks = []


def check(condition, what):
    if not condition:
        raise AssertionError(what)
    checks.append(what)
    print(f"ok - {what}", flush=True)


def run(cmd, **kw):
    """Runs cmd, fails with its output on a non-zero exit, returns stdout."""
    kw.setdefault("stdin", subprocess.DEVNULL)
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
    return p.stdout


def apt_env():
    return dict(os.environ, DEBIAN_FRONTEND="noninteractive")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_accepts(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def installed(package):
    p = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True)
    return p.returncode == 0 and "installed" in p.stdout and "not-installed" not in p.stdout


def purge_all():
    # Also what "purge" in docs/deployment.md says (apt purge), with the real apt.
    present = [p for p in ("tianyi-server", "tianyi-admin") if installed(p) or
               subprocess.run(["dpkg-query", "-W", p], capture_output=True).returncode == 0]
    if present:
        subprocess.run(["apt-get", "purge", "-y", "-q", *present], env=apt_env(), capture_output=True, text=True)


# ---------------------------------------------------------------- the unit's lines

def unit_settings(path):
    """Key -> list of values of the [Service] section (repeated keys keep every value)."""
    settings, section = {}, None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith(("#", ";")):
                continue
            if line.startswith("["):
                section = line.strip("[]")
                continue
            if section == "Service" and "=" in line:
                key, value = line.split("=", 1)
                settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def seconds(value):
    m = re.fullmatch(r"(\d+)\s*(s|min)?", value)
    assert m, f"unsupported time span {value!r}"
    return int(m.group(1)) * (60 if m.group(2) == "min" else 1)


class Service:
    """The installed unit's ExecStart= as its User=, with what systemd would give it."""

    def __init__(self, work):
        self.unit = unit_settings(UNIT)
        self.work = work
        self.messages = []
        self.proc = None
        self.port = None

    def start(self):
        u = self.unit
        check(u["Type"] == ["notify"], "the unit is Type=notify")
        user, group = u["User"][0], u["Group"][0]
        # The notify socket lives where the unprivileged service can reach it, as /run/systemd/notify is.
        os.chmod(self.work, 0o755)
        path = os.path.join(self.work, "notify")
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(path)
        os.chmod(path, 0o777)
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
               "NOTIFY_SOCKET": path, "WATCHDOG_USEC": str(WATCHDOG_USEC),
               "HOME": pwd.getpwnam(user).pw_dir, "USER": user, "LOGNAME": user}
        for assignment in u.get("Environment", []):
            for item in shlex.split(assignment):
                key, value = item.split("=", 1)
                env[key] = value
        for env_file in u.get("EnvironmentFile", []):
            optional = env_file.startswith("-")
            env_file = env_file.lstrip("-")
            if not os.path.exists(env_file):
                assert optional, f"EnvironmentFile {env_file} missing"
                continue
            with open(env_file, encoding="utf-8") as f:
                for line in f:
                    if "=" in line and not line.lstrip().startswith("#"):
                        key, value = line.strip().split("=", 1)
                        env[key] = value
        wrapper = ["setpriv", f"--reuid={user}", f"--regid={group}", "--init-groups"]
        if u.get("NoNewPrivileges") == ["yes"]:
            wrapper.append("--no-new-privs")
        if u.get("CapabilityBoundingSet") == [""]:
            wrapper += ["--bounding-set=-all", "--inh-caps=-all"]
        wrapper = sandbox(u) + wrapper
        self.log = open(os.path.join(self.work, "server.log"), "w+")
        self.proc = subprocess.Popen(wrapper + shlex.split(u["ExecStart"][0]), env=env, cwd="/",
                                     stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        self.wait_for_ready()

    def receive(self, timeout):
        self.notify.settimeout(timeout)
        try:
            data = self.notify.recv(4096).decode()
        except socket.timeout:
            return None
        self.messages.append((time.monotonic(), data))
        return data

    def wait_for_ready(self):
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"the service exited {self.proc.returncode} before READY=1:\n{self.output()}")
            data = self.receive(0.5)
            if data and "READY=1" in data.splitlines():
                # READY means "accepting": the port must take a connection right now, not soon.
                check(port_accepts(self.port), "READY=1 arrives only once the port accepts connections")
                return
        raise AssertionError(f"no READY=1 within {START_TIMEOUT_S} s:\n{self.output()}")

    def stop(self):
        """SIGTERM as systemd sends it (KillSignal=); returns the exit code and the seconds it took."""
        timeout = seconds(self.unit["TimeoutStopSec"][0])
        began = time.monotonic()
        self.proc.terminate()
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"no exit within TimeoutStopSec={timeout} s after SIGTERM")
        took = time.monotonic() - began
        while self.receive(0.2) is not None:
            pass
        self.notify.close()
        os.unlink(os.path.join(self.work, "notify"))
        return code, took, timeout

    def output(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def wait_for_state(self, state, timeout):
        """Reads queued and new notifications until `state` is among them (or timeout seconds pass)."""
        deadline = time.monotonic() + timeout
        while state not in self.states() and time.monotonic() < deadline:
            self.receive(max(0.05, deadline - time.monotonic()))
        return state in self.states()

    def states(self):
        return [line for _, data in self.messages for line in data.splitlines()]

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def sandbox(u):
    """The unit's file-system sandbox, as far as a mount namespace gives it without systemd: the whole
    tree read-only but ReadWritePaths= (ProtectSystem=strict), empty /home and /root (ProtectHome=yes),
    a private /tmp and /var/tmp (PrivateTmp=yes). Every step execs, so the server keeps the pid that
    gets SIGTERM. (The system call filter, PrivateDevices= and the other kernel protections need
    systemd itself: the docs' score covers them, the systemctl lines test them where systemd runs.)"""
    steps = []
    if u.get("ProtectSystem") == ["strict"]:
        for value in u.get("ReadWritePaths", []):
            for path in value.split():
                steps.append(f"mount --bind {shlex.quote(path)} {shlex.quote(path)}")
        steps.append("mount -o remount,bind,ro /")
    if u.get("PrivateTmp") == ["yes"]:
        steps += ["mount -t tmpfs -o mode=1777 tmpfs /tmp", "mount -t tmpfs -o mode=1777 tmpfs /var/tmp"]
    if u.get("ProtectHome") == ["yes"]:
        steps += ["mount -t tmpfs -o mode=0755 tmpfs /home", "mount -t tmpfs -o mode=0700 tmpfs /root"]
    script = "set -e; " + "; ".join(steps) + '; exec "$@"'
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, "sandbox"]


def cli(port, *args, password=PASSWORD):
    """The packaged tianyi-cli."""
    env = dict(os.environ, TIANYI_CLI_PASSWORD=password)
    return run(["/usr/bin/tianyi-cli", "--server", f"http://127.0.0.1:{port}", *args], env=env, timeout=120)


def http_get(port, path, token=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def set_port(port):
    """Edits the conffile as an operator would (this edit must survive the upgrade)."""
    with open(CONF, encoding="utf-8") as f:
        text = f.read()
    edited, n = re.subn(r"(?m)^port = \d+$", f"port = {port}", text)
    assert n == 1, "the conffile has no 'port = ' line"
    with open(CONF, "w", encoding="utf-8") as f:
        f.write(edited)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def schema_rows():
    db = sqlite3.connect(f"file:{DATA}/tianyi.sqlite3?mode=ro", uri=True)
    try:
        return db.execute("SELECT version, name, applied_at FROM schema_version ORDER BY version").fetchall()
    finally:
        db.close()


def sandboxed_read_only(pid):
    """From the service's own mount table: / read-only, the data directory read-write."""
    options = {}
    with open(f"/proc/{pid}/mountinfo", encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            options[fields[4]] = fields[5].split(",")
    return "ro" in options.get("/", []) and "rw" in options.get(DATA, [])


def table_rows(sql):
    db = sqlite3.connect(f"file:{DATA}/tianyi.sqlite3?mode=ro", uri=True)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def as_written_by_schema_5():
    """Turns the old release's database into the one a schema-5 release (before migration 6,
    device_logins) wrote, by undoing migration 6 with its own statements reversed: no device_logins
    table and index, no refresh_tokens.login_created_at. The upgrade then has a real migration to
    apply. Returns schema_version's rows (1-5)."""
    rows = schema_rows()
    # A new migration 7 makes this fail on purpose: then undo migration 7 here instead (its own
    # statements reversed), so that the upgrade keeps applying the newest migration.
    check([r[0] for r in rows] == [1, 2, 3, 4, 5, 6], f"the old release wrote schema versions 1-6 ({[r[0] for r in rows]})")
    db = sqlite3.connect(f"{DATA}/tianyi.sqlite3", isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        db.execute("ALTER TABLE refresh_tokens DROP COLUMN login_created_at")
        db.execute("DROP INDEX device_logins_user")
        db.execute("DROP TABLE device_logins")
        db.execute("DELETE FROM schema_version WHERE version = 6")
        db.execute("COMMIT")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
    # Written as root: give every file back to the service, as the old release left them.
    for name in os.listdir(DATA):
        shutil.chown(os.path.join(DATA, name), "tianyi", "tianyi")
    return schema_rows()


def wx_mappings(pid):
    """Memory mappings that are writable and executable at once (what MemoryDenyWriteExecute forbids)."""
    with open(f"/proc/{pid}/maps", encoding="utf-8") as f:
        return [line for line in f if len(line.split()) > 1 and "w" in line.split()[1] and "x" in line.split()[1]]


# ---------------------------------------------------------------- the steps

def check_contents(server_deb, admin_deb):
    listing = run(["dpkg-deb", "-c", server_deb])
    files = {line.split()[-1].lstrip("."): line.split()[0] for line in listing.splitlines()}
    for path, mode in [("/usr/bin/tianyi-server", "-rwxr-xr-x"), ("/usr/bin/tianyi-cli", "-rwxr-xr-x"),
                       (CONF, "-rw-r--r--"), (UNIT, "-rw-r--r--"),
                       ("/usr/share/doc/tianyi-server/copyright", "-rw-r--r--")]:
        check(files.get(path) == mode, f"tianyi-server ships {path} {mode} (has {files.get(path)})")
    check(run(["dpkg-deb", "-f", server_deb, "Version"]).strip().endswith("-1"), "the Debian revision is -1")
    control = tempfile.mkdtemp()
    run(["dpkg-deb", "-e", server_deb, control])
    with open(os.path.join(control, "conffiles")) as f:
        check(f.read().split() == [CONF], "tianyi.conf is the one conffile")
    for script in ("postinst", "prerm", "postrm"):
        check(os.stat(os.path.join(control, script)).st_mode & 0o777 == 0o755, f"{script} is 0755")
    shutil.rmtree(control)
    for deb, must in [(server_deb, ["adduser", "libqt6sql6-sqlite", "libqt6core6", "libqt6websockets6", "libsystemd0", "libsodium23"]),
                      (admin_deb, ["libqt6widgets6", "libqt6charts6", "libqt6multimedia6", "libqt6keychain1"])]:
        depends = run(["dpkg-deb", "-f", deb, "Depends"])
        names = {d.strip().split()[0] for d in re.split(r"[,|]", depends) if d.strip()}
        check(all(m in names for m in must), f"{os.path.basename(deb)} depends on {', '.join(must)}")
        check(not any(n.endswith("-dev") for n in names), f"{os.path.basename(deb)} depends on no -dev package")
    admin_files = run(["dpkg-deb", "-c", admin_deb])
    for path in ("./usr/bin/tianyi-admin", "./usr/share/applications/tianyi-admin.desktop",
                 "./usr/share/icons/hicolor/scalable/apps/tianyi-admin.svg"):
        check(path in admin_files, f"tianyi-admin ships {path[1:]}")


def check_lintian(debs):
    p = subprocess.run(["lintian", "--fail-on", "none", "--tag-display-limit", "0", *debs], capture_output=True, text=True)
    print(p.stdout, end="")
    tags = [line for line in p.stdout.splitlines() if re.match(r"^[EW]: ", line)]
    check(not tags, "lintian: no error and no warning left without a justified override" +
          ("" if not tags else ":\n" + "\n".join(tags)))


def check_unit_static():
    p = subprocess.run(["systemd-analyze", "verify", UNIT], capture_output=True, text=True)
    check(p.returncode == 0 and not (p.stdout + p.stderr).strip(),
          f"systemd-analyze verify is clean ({(p.stdout + p.stderr).strip()!r})")
    p = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager", UNIT], capture_output=True, text=True)
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", p.stdout)
    check(m is not None, "systemd-analyze security reports an exposure level")
    print(f"systemd-analyze security exposure: {m.group(1)}")
    check(float(m.group(1)) <= MAX_EXPOSURE, f"exposure {m.group(1)} <= {MAX_EXPOSURE}")
    u = unit_settings(UNIT)
    for key, value in [("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("ProtectHome", "yes"), ("PrivateTmp", "yes"),
                       ("ReadWritePaths", DATA), ("MemoryDenyWriteExecute", "yes"), ("CapabilityBoundingSet", "")]:
        check(u.get(key) == [value], f"the unit sets {key}={value}")
    check("@system-service" in u.get("SystemCallFilter", []), "the unit allows only @system-service system calls")
    check(u.get("RestrictAddressFamilies", [""])[0].split() == ["AF_INET", "AF_INET6", "AF_UNIX"], "RestrictAddressFamilies: IP and UNIX")


def check_installed_layout():
    user = pwd.getpwnam("tianyi")
    check(user.pw_dir == DATA and user.pw_shell == "/usr/sbin/nologin" and user.pw_uid < 1000, "tianyi is a system user without a shell")
    st = os.stat(DATA)
    check(stat.S_IMODE(st.st_mode) == 0o750 and st.st_uid == user.pw_uid, f"{DATA} is tianyi's, mode 0750")
    st = os.stat(CONF)
    check(stat.S_IMODE(st.st_mode) == 0o640 and st.st_uid == 0 and st.st_gid == user.pw_gid, f"{CONF} is root:tianyi 0640")
    missing = [line for line in run(["ldd", "/usr/bin/tianyi-server", "/usr/bin/tianyi-cli", "/usr/bin/tianyi-admin"]).splitlines()
               if "not found" in line]
    check(not missing, "every shared library of the three programs is found")
    version = run(["tianyi-admin", "--version"], env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
    check("tianyi-admin" in version, f"the installed console starts ({version.strip()})")


def create_admin():
    # docs/deployment.md: the first admin, as the service's user with the packaged config.
    env = dict(os.environ, TIANYI_ADMIN_PASSWORD=ADMIN_PASSWORD)
    out = run(["runuser", "-u", "tianyi", "--", "tianyi-server", "--config", CONF, "--create-admin", "admin"], env=env, cwd="/")
    check('Created admin user "admin"' in out, "--create-admin as the tianyi user creates the admin")


def serve_and_chat(work, port, first):
    svc = Service(work)
    svc.port = port
    try:
        svc.start()
        status, body = http_get(port, "/readyz")
        check(status == 200, f"/readyz answers 200 ({body.strip()[:80]})")
        if first:
            cli(port, "--user", "packaged_fan", "register")
        token = json.loads(cli(port, "--user", "packaged_fan", "--json", "login"))["access_token"]
        # Three turns: enough for Qt to JIT-compile the reply and memory patterns if its PCRE2 JIT were
        # on (measured: rwx mappings appear by the third turn), so the W^X check below has teeth.
        for text in ("你好，天依！", "我叫小明，我喜欢唱歌", "你记得我喜欢什么吗？") if first else ("你好，天依！",):
            turn = json.loads(cli(port, "--user", "packaged_fan", "--json", "chat", text).splitlines()[-1])
            check(turn.get("status") == "completed" and turn.get("sentences", 0) >= 1,
                  f"a chat turn completes with her voice ({ {k: turn.get(k) for k in ('status', 'sentences', 'text')} })")
        check(sandboxed_read_only(svc.proc.pid), "the service sees / read-only and /var/lib/tianyi writable (ProtectSystem=strict)")
        secret = os.stat(f"{DATA}/jwt_secret")
        check(stat.S_IMODE(secret.st_mode) == 0o600 and secret.st_uid == pwd.getpwnam("tianyi").pw_uid,
              "jwt_secret is tianyi's, mode 0600")
        check(svc.proc.pid and not wx_mappings(svc.proc.pid),
              "no writable+executable mapping after the turns (MemoryDenyWriteExecute can stand)")
        check(svc.wait_for_state("WATCHDOG=1", 3 * WATCHDOG_USEC / 1e6), "WATCHDOG=1 pings arrive (WatchdogSec)")
        code, took, timeout = svc.stop()
        check(code == 0, f"SIGTERM: exit 0 (after {took:.1f} s, TimeoutStopSec={timeout} s)")
        check("STOPPING=1" in svc.states(), "STOPPING=1 on SIGTERM")
        check(svc.states().count("READY=1") == 1, "READY=1 is sent once")
        return token, svc.output()
    except BaseException:
        print(svc.output() if svc.proc else "", file=sys.stderr)
        raise
    finally:
        svc.kill()


def history_texts(port, token):
    status, body = http_get(port, "/api/v1/me/history?limit=100", token)
    check(status == 200, "the history answers")
    return [(t["user_text"], t["status"]) for t in json.loads(body)["turns"]]


def backup_and_restore(work, port):
    """docs/deployment.md's backup (while the service runs) and restore (service stopped) commands, as
    written there: the restored server has every turn stored before the backup and none after it."""
    user = pwd.getpwnam("tianyi")
    backups = tempfile.mkdtemp(prefix="tianyi-backups-", dir="/var/tmp")  # the service user must reach it
    os.chown(backups, user.pw_uid, user.pw_gid)
    target = os.path.join(backups, "tianyi-" + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
    as_service = ["runuser", "-u", "tianyi", "--", "tianyi-server", "--config", CONF]
    try:
        svc = Service(work)
        svc.port = port
        try:
            svc.start()
            token = json.loads(cli(port, "--user", "packaged_fan", "--json", "login"))["access_token"]
            json.loads(cli(port, "--user", "packaged_fan", "--json", "chat", "备份之前").splitlines()[-1])
            before = history_texts(port, token)
            check(("备份之前", "completed") in before, "a turn stored before the backup")
            out = run(as_service + ["--backup", target])
            check(out.startswith("Backup written to " + target), f"--backup while the service runs ({out.splitlines()[0]})")
            check(os.path.isfile(os.path.join(target, "tianyi.sqlite3")) and os.stat(target).st_uid == user.pw_uid,
                  "the backup is a directory of the service user's with the database")
            check(glob.glob(os.path.join(target, "audio", "*", "*", "*.wav")), "the backup holds her audio")
            cli(port, "--user", "packaged_fan", "--json", "chat", "备份之后")
            refused = subprocess.run(as_service + ["--restore", target], capture_output=True, text=True, stdin=subprocess.DEVNULL)
            check(refused.returncode == 1 and "Stop the server first" in refused.stderr,
                  "--restore is refused while the service runs")
            code, _, _ = svc.stop()
            check(code == 0, "the service stops for the restore")
        finally:
            svc.kill()
        out = run(as_service + ["--restore", target])
        check(out.startswith("Restored "), f"--restore with the service stopped ({out.splitlines()[0]})")
        check(glob.glob(f"{DATA}/tianyi.sqlite3.before-restore-*"), "the replaced database is kept aside")
        svc = Service(work)
        svc.port = port
        try:
            svc.start()
            token = json.loads(cli(port, "--user", "packaged_fan", "--json", "login"))["access_token"]
            check(history_texts(port, token) == before, "the restored server has exactly the turns stored before the backup")
            code, _, _ = svc.stop()
            check(code == 0, "the restored service stops cleanly")
        finally:
            svc.kill()
    finally:
        shutil.rmtree(backups, ignore_errors=True)


def stop_started_unit():
    """Where systemd runs, postinst started (or restarted) the unit: stop it, so that this test's own
    run of ExecStart owns the port and the database."""
    if os.path.isdir("/run/systemd/system"):
        run(["systemctl", "stop", "tianyi-server"])


def systemd_commands(port):
    """docs/deployment.md's systemctl and journalctl lines, where systemd runs (CI has none: there the
    service was already run from the unit's own lines above)."""
    if not os.path.isdir("/run/systemd/system"):
        print("note: systemd is not running here: systemctl/journalctl lines not exercised")
        return
    run(["systemctl", "restart", "tianyi-server"])
    deadline = time.monotonic() + START_TIMEOUT_S
    while not port_accepts(port) and time.monotonic() < deadline:
        time.sleep(0.2)
    check(run(["systemctl", "show", "-p", "ActiveState", "--value", "tianyi-server"]).strip() == "active",
          "systemctl restart: the unit is active (READY=1 reached systemd)")
    check(port_accepts(port) and http_get(port, "/readyz")[0] == 200, "the hardened unit serves /readyz")
    run(["systemctl", "status", "--no-pager", "tianyi-server"])
    check("listening on" in run(["journalctl", "-u", "tianyi-server", "--no-pager"]), "the log is in the journal")
    run(["systemctl", "disable", "--now", "tianyi-server"])
    check(run(["systemctl", "show", "-p", "Result", "--value", "tianyi-server"]).strip() == "success",
          "systemctl stop: a clean exit")


def repack_older(server_deb, work):
    """The same package with an older version: the "previous release" to upgrade from."""
    tree = os.path.join(work, "old")
    run(["dpkg-deb", "-R", server_deb, tree])
    control = os.path.join(tree, "DEBIAN", "control")
    with open(control, encoding="utf-8") as f:
        text = f.read()
    with open(control, "w", encoding="utf-8") as f:
        f.write(re.sub(r"(?m)^Version: .*$", "Version: 0.0.1-1", text))
    old = os.path.join(work, "tianyi-server_0.0.1-1_old.deb")
    run(["dpkg-deb", "--root-owner-group", "-b", tree, old])
    return old


def check_purged():
    for path in (DATA, "/etc/tianyi", UNIT, "/usr/bin/tianyi-server", "/usr/bin/tianyi-cli", "/usr/bin/tianyi-admin"):
        check(not os.path.exists(path), f"after purge {path} is gone")
    check(not os.path.lexists("/etc/systemd/system/multi-user.target.wants/tianyi-server.service"),
          "after purge the unit is no longer enabled")
    helper_state = glob.glob("/var/lib/systemd/deb-systemd-helper-*/**/*tianyi*", recursive=True)
    check(not helper_state, f"after purge deb-systemd-helper keeps no state for the unit ({helper_state})")
    check(subprocess.run(["getent", "passwd", "tianyi"], capture_output=True).returncode != 0, "after purge the user is gone")
    check(subprocess.run(["getent", "group", "tianyi"], capture_output=True).returncode != 0, "after purge the group is gone")
    for package in ("tianyi-server", "tianyi-admin"):
        check(subprocess.run(["dpkg-query", "-W", package], capture_output=True).returncode != 0, f"dpkg no longer knows {package}")


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    deb_dir = os.path.abspath(sys.argv[1])
    if os.geteuid() != 0:
        print("SKIP: installs packages into the system; needs root (CI is root)")
        return SKIP
    servers = sorted(glob.glob(os.path.join(deb_dir, "tianyi-server_*.deb")))
    admins = sorted(glob.glob(os.path.join(deb_dir, "tianyi-admin_*.deb")))
    if len(servers) != 1 or len(admins) != 1:
        message = f"expected one tianyi-server and one tianyi-admin .deb in {deb_dir} (tests/run.sh builds them)"
        if os.environ.get("CI"):
            print("FAIL: " + message)
            return 1
        print("SKIP: " + message)
        return SKIP
    server_deb, admin_deb = servers[0], admins[0]
    for tool in ("dpkg-deb", "lintian", "systemd-analyze", "setpriv", "unshare", "runuser", "apt", "apt-get"):
        if shutil.which(tool) is None:
            print(f"FAIL: {tool} is missing (packaging/install-deps.sh test installs it)")
            return 1

    # Not under /tmp: the service gets a private /tmp, and the notify socket lives here (as systemd's
    # lives in /run).
    work = tempfile.mkdtemp(prefix="tianyi-pkg-", dir="/run")
    purge_all()  # a machine that kept an earlier run's packages starts clean
    try:
        check_contents(server_deb, admin_deb)
        check_lintian([server_deb, admin_deb])

        # The previous release, used: an account, a turn, an edited conffile.
        old = repack_older(server_deb, work)
        run(["dpkg", "-i", old], env=apt_env())
        run(["dpkg", "-i", old], env=apt_env())  # configure twice: the maintainer scripts are idempotent
        check_installed_layout_server_only()
        stop_started_unit()
        port = free_port()
        set_port(port)
        create_admin()
        old_token, _ = serve_and_chat(work, port, first=True)
        secret_before = sha256(f"{DATA}/jwt_secret")
        users_before = table_rows("SELECT id, username, password_hash FROM users ORDER BY id")
        check(len(users_before) == 2, "the old release holds the admin and the fan")
        schema_before = as_written_by_schema_5()

        # docs/deployment.md: apt install ./tianyi-server_*.deb, ./tianyi-admin_*.deb.
        run(["apt", "install", "-y", "-q", "./" + os.path.basename(server_deb)], env=apt_env(), cwd=deb_dir)
        run(["apt", "install", "-y", "-q", "./" + os.path.basename(admin_deb)], env=apt_env(), cwd=deb_dir)
        check(run(["dpkg-query", "-W", "-f=${Version}", "tianyi-server"]) != "0.0.1-1", "the upgrade replaced 0.0.1-1")
        stop_started_unit()
        check_installed_layout()
        check_unit_static()
        check(f"port = {port}" in open(CONF, encoding="utf-8").read(), "the edited conffile survives the upgrade")
        check(not glob.glob("/etc/tianyi/*.dpkg-*"), "no .dpkg-dist/.dpkg-old beside it (no conffile prompt)")
        check(sha256(f"{DATA}/jwt_secret") == secret_before, "the JWT secret survives the upgrade")

        # First start of the new package on the old data: migration 6 once, the rest untouched.
        _, first_log = serve_and_chat(work, port, first=False)
        schema_after = schema_rows()
        check(schema_after[:-1] == schema_before and [r[:2] for r in schema_after[-1:]] == [(6, "device_logins")],
              "the upgrade's first start applied migration 6, and only it")
        if not os.path.isdir("/run/systemd/system"):  # else systemd's restart in postinst ran it first
            applied = re.findall(r'applied migration (\d+)', first_log)
            check(applied == ["6"], f"the first start's log names migration 6 once ({applied})")
        check(table_rows("SELECT id, username, password_hash FROM users ORDER BY id") == users_before,
              "the accounts survive the migration (the fan logged in and chatted above)")
        svc = Service(work)
        svc.port = port
        try:
            svc.start()
            status, _ = http_get(port, "/api/v1/me/profile", old_token)
            check(status == 200, "an access token issued before the upgrade is still valid (same secret)")
            code, _, _ = svc.stop()
            check(code == 0, "second restart stops cleanly")
            check("applied migration" not in svc.output(), "a restart migrates nothing")
        finally:
            svc.kill()
        check(schema_rows() == schema_after, "schema_version is unchanged by the restart")

        backup_and_restore(work, port)

        # Remove keeps data and config; purge deletes them (documented in docs/deployment.md).
        systemd_commands(port)
        run(["apt", "remove", "-y", "-q", "tianyi-server"], env=apt_env())
        check(os.path.exists(f"{DATA}/jwt_secret") and os.path.exists(CONF), "remove keeps the data and the config")
        run(["apt", "purge", "-y", "-q", "tianyi-server", "tianyi-admin"], env=apt_env())
        check_purged()
    except AssertionError as e:
        print(f"FAIL: {e}")
        return 1
    finally:
        purge_all()
        shutil.rmtree(work, ignore_errors=True)
    print(f"{len(checks)} passed, 0 failed")
    return 0


def check_installed_layout_server_only():
    user = pwd.getpwnam("tianyi")
    st = os.stat(DATA)
    check(stat.S_IMODE(st.st_mode) == 0o750 and st.st_uid == user.pw_uid, f"{DATA} is tianyi's, mode 0750 (after configuring twice)")
    check(run(["getent", "passwd", "tianyi"]).count("\n") == 1, "one tianyi user")


if __name__ == "__main__":
    sys.exit(main())
