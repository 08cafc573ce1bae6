#!/usr/bin/env python3
"""docs/openapi.yaml against a real tianyi-server (a subprocess on a free loopback port, fresh data).

Proves:
  - the file is an OpenAPI 3.1 document: its structure (paths, operations, parameters, responses,
    every $ref resolves, every schema is a valid JSON Schema 2020-12), and, when the Python package
    openapi-spec-validator is importable, the official OpenAPI 3.1 meta-schema it ships;
  - every route the server registers (read from the router registrations in server/src) is in the
    spec, and every path and method of the spec is registered; a method the spec does not list on a
    path answers 405 or 404;
  - every operation is exercised, each documented success status at least once and the main error
    statuses (400, 401, 403, 404, 409, 429); each answer's status must be documented for its
    operation, and its content type, required headers and body must match the spec (jsonschema's
    Draft202012Validator); every request the server accepts (2xx) must match the spec's query
    parameters and request body for its content type (JSON or form).
Usage: contract.py TIANYI_SERVER_BINARY TIANYI_CLI_BINARY
"""
import os
import re
import sys
import time

import jsonschema
import yaml

from tianyiserver import ADMIN_NAME, ADMIN_PASSWORD, Failure, TianyiServer, fail, run_checks, websocket_handshake

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPEC_PATH = os.path.join(ROOT, "docs", "openapi.yaml")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
PASSWORD = "correct horse battery staple"
MAX_BODY_BYTES = 8192  # limits.max_body_bytes of the test server: a 413 costs little to provoke
WAIT_S = 30  # upper bound for conditions the server reaches asynchronously (memories extracted)


# ---- the spec itself ----------------------------------------------------------------------------
class Spec:
    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            self.doc = yaml.safe_load(f)
        self.operations = {}  # (METHOD, template) -> operation
        for template, item in self.doc.get("paths", {}).items():
            for method in METHODS:
                if method in item:
                    self.operations[(method.upper(), template)] = item[method]

    def deref(self, node):
        while isinstance(node, dict) and "$ref" in node:
            node = self.pointer(node["$ref"])
        return node

    def pointer(self, ref):
        if not ref.startswith("#/"):
            fail(f"spec: only local references are used, not {ref}")
        node = self.doc
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                fail(f"spec: {ref} does not resolve")
            node = node[part]
        return node

    def validate(self, schema, instance, where):
        # The schema inside a root that carries the spec's components, so "#/components/..." resolves
        # the same way in python3-jsonschema 4.10 (bookworm) and newer versions, with no resolver API.
        root = {"components": self.doc.get("components", {}), "allOf": [schema]}
        validator = jsonschema.Draft202012Validator(root, format_checker=jsonschema.FormatChecker())
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
        if errors:
            details = "; ".join(f"{'/'.join(map(str, e.path)) or '(root)'}: {e.message[:300]}" for e in errors[:5])
            fail(f"{where}: the body does not match the spec: {details}")


def check_structure(spec):
    """The OpenAPI 3.1 rules this file depends on, checked without any package beyond jsonschema."""
    doc = spec.doc
    if not re.fullmatch(r"3\.1\.\d+", str(doc.get("openapi", ""))):
        fail(f"spec: openapi must be 3.1.x, is {doc.get('openapi')!r}")
    info = doc.get("info") or {}
    if not info.get("title") or not info.get("version"):
        fail("spec: info.title and info.version are required")
    ids = set()
    schemes = set((doc.get("components") or {}).get("securitySchemes", {}))
    for (method, template), op in spec.operations.items():
        where = f"{method} {template}"
        if not template.startswith("/"):
            fail(f"spec: path {template!r} must start with /")
        op_id = op.get("operationId")
        if not op_id or op_id in ids:
            fail(f"spec: {where} needs a unique operationId")
        ids.add(op_id)
        params = [spec.deref(p) for p in doc["paths"][template].get("parameters", []) + op.get("parameters", [])]
        for p in params:
            if p.get("in") not in ("query", "header", "path", "cookie") or not p.get("name") or "schema" not in p:
                fail(f"spec: {where}: a parameter needs name, in and schema: {p}")
            if p["in"] == "path" and p.get("required") is not True:
                fail(f"spec: {where}: path parameter {p['name']} must be required")
        declared = {p["name"] for p in params if p["in"] == "path"}
        in_template = set(re.findall(r"\{([^}]+)\}", template))
        if declared != in_template:
            fail(f"spec: {where}: path parameters {sorted(declared)} differ from the template's {sorted(in_template)}")
        for requirement in op.get("security", []):
            for name in requirement:
                if name not in schemes:
                    fail(f"spec: {where}: unknown security scheme {name}")
        responses = op.get("responses") or {}
        if not responses:
            fail(f"spec: {where} has no responses")
        for status, response in responses.items():
            if not re.fullmatch(r"[1-5][0-9][0-9]", str(status)):
                fail(f"spec: {where}: response key {status!r} is not a status code (quote it in YAML)")
            response = spec.deref(response)
            if "description" not in response:
                fail(f"spec: {where} {status}: a response needs a description")
            for header in (response.get("headers") or {}).values():
                spec.deref(header)
    # Every $ref resolves and every schema is a valid JSON Schema 2020-12.
    def walk(node, trail):
        if isinstance(node, dict):
            if "$ref" in node:
                spec.pointer(node["$ref"])
            if "schema" in node and isinstance(node["schema"], (dict, bool)) and trail[-1:] != ["properties"]:
                try:
                    jsonschema.Draft202012Validator.check_schema(node["schema"])
                except jsonschema.SchemaError as e:
                    fail(f"spec: the schema at {'/'.join(trail)} is not valid JSON Schema 2020-12: {e.message}")
            for k, v in node.items():
                walk(v, trail + [str(k)])
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, trail + [str(i)])
    walk(doc, [])
    for name, schema in (doc.get("components") or {}).get("schemas", {}).items():
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as e:
            fail(f"spec: components/schemas/{name} is not valid JSON Schema 2020-12: {e.message}")


def check_meta_schema(spec):
    """The official OpenAPI 3.1 meta-schema, when the openapi-spec-validator package is there."""
    try:
        from openapi_spec_validator import validate
    except ImportError:
        return "openapi-spec-validator is not installed: official meta-schema not checked (structure checked)"
    try:
        validate(spec.doc)
    except Exception as e:  # the package's own error types differ between versions
        fail(f"spec: the OpenAPI 3.1 meta-schema rejects the file: {str(e)[:800]}")
    return "the official OpenAPI 3.1 meta-schema (openapi-spec-validator) accepts the file"


# ---- what the server registers ------------------------------------------------------------------
def registered_routes():
    """(METHOD, pattern) of every route the server's source registers: Router::add calls, the admin
    route table, the WebSocket endpoints, and "/" (the web client's index behind the router's
    fallback; its other static files are not routes)."""
    routes = set()
    add = re.compile(r'\badd\("([A-Z]+)",\s*QStringLiteral\("([^"]+)"\)')
    table = re.compile(r'\{"([A-Z]+)",\s*"(/api/[^"]+)",\s*"[^"]*",\s*&handle\w+\}')
    ws = re.compile(r'addWebSocketEndpoint\(QStringLiteral\("([^"]+)"\)\)')
    for folder, _, files in os.walk(os.path.join(ROOT, "server", "src")):
        for name in files:
            if not name.endswith(".cpp"):
                continue
            text = open(os.path.join(folder, name), encoding="utf-8").read()
            routes.update(add.findall(text))
            routes.update(table.findall(text))
            routes.update(("GET", p) for p in ws.findall(text))
            if "registerStaticFiles(" in text and "setFallback" not in text:
                routes.add(("GET", "/"))
    return routes


def check_route_lists(spec):
    registered = registered_routes()
    if len(registered) < 20:
        fail(f"only {len(registered)} routes were found in server/src: has the registration code changed shape? {sorted(registered)}")
    documented = set(spec.operations)
    missing = registered - documented
    extra = documented - registered
    if missing:
        fail(f"the server registers routes the spec lacks: {sorted(missing)}")
    if extra:
        fail(f"the spec lists routes the server does not register: {sorted(extra)}")
    return len(registered)


# ---- exercising the server ----------------------------------------------------------------------
class Client:
    def __init__(self, server, spec):
        self.server = server
        self.spec = spec
        self.seen = {}  # operationId -> set of statuses

    def call(self, method, template, expect, params=None, query="", **kwargs):
        """Sends the request of operation (method, template), checks the answer against the spec and
        that its status is `expect` (a status, or a tuple of those that may come). Returns the response."""
        expected = expect if isinstance(expect, tuple) else (expect,)
        op = self.spec.operations.get((method, template))
        if op is None:
            fail(f"the test calls {method} {template}, which the spec lacks")
        path = template
        for name, value in (params or {}).items():
            path = path.replace("{" + name + "}", str(value))
        if "{" in path:
            fail(f"{method} {template}: unfilled path parameters")
        if any(200 <= e < 300 for e in expected):
            self.check_request(op, f"{method} {template}{query}", query, kwargs)
        r = self.server.request(method, path + query, **kwargs)
        where = f"{method} {path}{query} -> {r.status}"
        self.check(op, r, where)
        if r.status not in expected:
            fail(f"{where}, expected {expect}: {r.body[:300]!r}")
        self.seen.setdefault(op["operationId"], set()).add(r.status)
        return r

    def check_request(self, op, where, query, kwargs):
        """A request the server accepts must be one the spec documents: its query parameters and
        its body (JSON or form) validate against the operation's parameters and requestBody."""
        from urllib.parse import parse_qsl
        params = {p["name"]: p for p in map(self.spec.deref, op.get("parameters", [])) if p["in"] == "query"}
        for name, value in parse_qsl(query.lstrip("?")):
            if name not in params:
                fail(f"{where}: query parameter {name} is not documented")
            schema = params[name]["schema"]
            self.spec.validate(schema, int(value) if schema.get("type") == "integer" else value, f"{where} query {name}")
        if "form" in kwargs:
            media, body = "application/x-www-form-urlencoded", kwargs["form"]
        elif isinstance(kwargs.get("body"), (dict, list)):
            media, body = "application/json", kwargs["body"]
        else:
            if (op.get("requestBody") or {}).get("required"):
                fail(f"{where}: accepted without the body the spec requires")
            return
        content = (op.get("requestBody") or {}).get("content", {})
        if media not in content:
            fail(f"{where}: accepted a {media} body the spec does not document ({sorted(content)})")
        self.spec.validate(content[media]["schema"], body, f"{where} request body")

    def check(self, op, r, where):
        responses = op["responses"]
        if str(r.status) not in responses:
            fail(f"{where}: status {r.status} is not documented for {op['operationId']} (documented: {sorted(responses)}): {r.body[:300]!r}")
        documented = self.spec.deref(responses[str(r.status)])
        for name, header in (documented.get("headers") or {}).items():
            header = self.spec.deref(header)
            value = r.headers.get(name.lower())
            if value is None:
                if header.get("required"):
                    fail(f"{where}: the documented header {name} is missing")
                continue
            self.spec.validate(header["schema"], value, f"{where} header {name}")
        # Front-door refusals too: they get an id of their own for the log line that records them.
        always = ("cache-control", "x-content-type-options", "x-request-id")
        for name in always:
            if name not in r.headers:
                fail(f"{where}: the response lacks {name}, which every such response carries")
        content = documented.get("content")
        if not content:
            if r.body:
                fail(f"{where}: the spec documents no body, the server sent {len(r.body)} bytes")
            return
        media = r.content_type.split(";")[0].strip()
        if media not in content:
            fail(f"{where}: content type {r.content_type!r} is not documented ({sorted(content)})")
        schema = content[media].get("schema", {})
        if media == "application/json":
            self.spec.validate(schema, r.json(), where)
        elif media == "audio/wav":
            if not (r.body[:4] == b"RIFF" and r.body[8:12] == b"WAVE"):
                fail(f"{where}: not a RIFF/WAVE file")
        else:
            self.spec.validate(schema, r.body.decode("utf-8"), where)

    def websocket_upgrade(self, template):
        """The socket endpoints: a real handshake answers 101, a plain GET 404."""
        op = self.spec.operations[("GET", template)]
        sock, head, _ = websocket_handshake(self.server.port, template, 30)
        sock.close()
        status = int(head.split(b" ")[1]) if head.startswith(b"HTTP/1.1 ") else 0
        if str(status) not in op["responses"] or status != 101:
            fail(f"GET {template} with a WebSocket handshake answered {head[:120]!r}")
        self.seen.setdefault(op["operationId"], set()).add(status)
        self.call("GET", template, 404)


    def until_429(self, method, template, attempts, request):
        """Repeats a request (request(n) gives its arguments) until the limit answers 429; each answer
        on the way is checked against the spec."""
        op = self.spec.operations[(method, template)]
        for n in range(attempts):
            r = self.server.request(method, template, **request(n))
            self.check(op, r, f"{method} {template} #{n + 1} -> {r.status}")
            if r.status == 429:
                self.seen.setdefault(op["operationId"], set()).add(429)
                return
        fail(f"{attempts} requests of {method} {template} never answered 429")


def exercise(server, c):
    """Every operation of the spec, each success status and the main errors."""
    j = lambda r: r.json()
    # Operations and the web client.
    c.call("GET", "/healthz", 200)
    c.call("GET", "/readyz", 200)
    c.call("GET", "/metrics", 200)
    c.call("GET", "/", 200)

    # Registration.
    c.call("POST", "/api/v1/auth/register", 201, body={"username": "alice", "password": PASSWORD, "nickname": "Alice"})
    for name in ("bob", "carol", "dave"):
        c.call("POST", "/api/v1/auth/register", 201, body={"username": name, "password": PASSWORD})
    c.call("POST", "/api/v1/auth/register", 409, body={"username": "ALICE", "password": PASSWORD})
    c.call("POST", "/api/v1/auth/register", 400, body=b"{", headers={"Content-Type": "application/json"})
    c.call("POST", "/api/v1/auth/register", 400, body={"username": "erin", "password": PASSWORD, "age": 3})
    c.call("POST", "/api/v1/auth/register", 400, body={"username": "erin", "password": "erin"})
    c.call("POST", "/api/v1/auth/register", 413, body={"username": "erin", "password": "x" * MAX_BODY_BYTES})
    c.call("POST", "/api/v1/auth/token", 413, form={"grant_type": "password", "username": "erin", "password": "x" * MAX_BODY_BYTES})

    # Tokens: both grants, form and JSON, RFC 6749 errors.
    tokens = j(c.call("POST", "/api/v1/auth/token", 200, form={"grant_type": "password", "username": "alice", "password": PASSWORD}))
    tokens = j(c.call("POST", "/api/v1/auth/token", 200, body={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}))
    c.call("POST", "/api/v1/auth/token", 400, form={"grant_type": "client_credentials"})
    c.call("POST", "/api/v1/auth/token", 400, form={"grant_type": "password", "username": "alice"})
    c.call("POST", "/api/v1/auth/token", 400, form={"grant_type": "refresh_token", "refresh_token": "not-a-token"})
    c.call("POST", "/api/v1/auth/token", 400, body=b"{", headers={"Content-Type": "application/json"})
    token = tokens["access_token"]
    login = lambda name: j(c.call("POST", "/api/v1/auth/token", 200, form={"grant_type": "password", "username": name, "password": PASSWORD}))
    bob, carol, dave = login("bob"), login("carol"), login("dave")
    admin = j(c.call("POST", "/api/v1/auth/token", 200, form={"grant_type": "password", "username": ADMIN_NAME, "password": ADMIN_PASSWORD}))
    admin_token = admin["access_token"]

    # Logout (RFC 7009).
    spare = login("bob")
    c.call("POST", "/api/v1/auth/logout", 204, body={"refresh_token": spare["refresh_token"]})
    c.call("POST", "/api/v1/auth/logout", 204, form={"refresh_token": "unknown-token"})
    c.call("POST", "/api/v1/auth/logout", 400, body={})

    # Profile.
    c.call("GET", "/api/v1/me/profile", 200, token=token)
    c.call("GET", "/api/v1/me/profile", 401)
    r = c.call("GET", "/api/v1/me/profile", 401, token=token[:-4] + "AAAA")
    if 'error="invalid_token"' not in r.headers.get("www-authenticate", ""):
        fail("a tampered token's 401 must say error=\"invalid_token\" (RFC 6750)")
    c.call("PUT", "/api/v1/me/profile", 200, token=token, body={"description": "likes 《普通DISCO》", "preferences": {"voice": "on"}})
    c.call("PUT", "/api/v1/me/profile", 400, token=token, body={"mood": "happy"})
    c.call("PUT", "/api/v1/me/profile", 401, body={"description": "x"})

    # Logins and device tokens (the device endpoint is on: TIANYI_COMPAT_OLV_ENABLED below).
    listed = j(c.call("GET", "/api/v1/me/logins", 200, token=token))
    if listed["device_endpoint"] != "/client-ws" or [l["current"] for l in listed["logins"]] != [True]:
        fail(f"GET /api/v1/me/logins: expected this one browser login, current, and the device endpoint: {listed}")
    c.call("GET", "/api/v1/me/logins", 401)
    devices = "/api/v1/me/device-tokens"
    c.call("POST", devices, 401, body={"name": "desk pet", "password": PASSWORD})
    c.call("POST", devices, 400, token=token, body={"name": "  ", "password": PASSWORD})
    c.call("POST", devices, 400, token=token, body={"name": "desk pet"})
    c.call("POST", devices, 413, token=token, body={"name": "desk pet", "password": "x" * MAX_BODY_BYTES})
    made = [j(c.call("POST", devices, 201, token=token, body={"name": f"desk pet {n}", "password": PASSWORD})) for n in range(10)]
    c.call("POST", devices, 409, token=token, body={"name": "one too many", "password": PASSWORD})
    c.call("GET", "/api/v1/me/profile", 401, token=made[0]["token"])  # a device token is not for the HTTP API
    device = {"id": made[0]["id"]}
    c.call("DELETE", "/api/v1/me/logins/{id}", 404, params=device, token=bob["access_token"])  # not bob's
    c.call("DELETE", "/api/v1/me/logins/{id}", 401, params=device)
    c.call("DELETE", "/api/v1/me/logins/{id}", 204, params=device, token=token)
    c.call("DELETE", "/api/v1/me/logins/{id}", 404, params=device, token=token)
    if len(j(c.call("GET", "/api/v1/me/logins", 200, token=token))["logins"]) != 10:
        fail("GET /api/v1/me/logins: expected the browser login and the 9 device tokens left")

    # A chat turn (the socket), then history, audio and memories.
    c.websocket_upgrade("/ws")
    c.websocket_upgrade("/ws/admin")
    ws = server.repl(token)
    try:
        end = ws.chat("我叫小明，我最喜欢猫，我住在上海。")
        if end.get("status") != "completed":
            fail(f"the chat turn ended {end}")
        # The turn is stored before turn_end; its audio files are written after it, in the background.
        deadline = time.time() + WAIT_S
        while True:
            page = j(c.call("GET", "/api/v1/me/history", 200, token=token))
            if not page["turns"]:
                fail("history is empty after a completed turn")
            turn = page["turns"][0]
            if turn["sentences"] and turn["sentences"][0]["audio_url"]:
                break
            if time.time() > deadline:
                fail(f"the turn's first sentence has no audio {WAIT_S} s after its end: {turn}")
            time.sleep(0.2)
        c.call("GET", "/api/v1/me/history", 200, token=token, query=f"?before={turn['id'] + 1}&limit=1")
        c.call("GET", "/api/v1/me/history", 400, token=token, query="?limit=0")
        c.call("GET", "/api/v1/me/history", 400, token=token, query="?before=x")
        c.call("GET", "/api/v1/me/history", 401)
        audio = {"turn_id": turn["id"], "sentence": "0.wav"}
        c.call("GET", "/api/v1/me/audio/{turn_id}/{sentence}", 200, params=audio, token=token)
        c.call("GET", "/api/v1/me/audio/{turn_id}/{sentence}", 200, params=audio, token=token, headers={"Range": "bytes=0-10"})
        c.call("GET", "/api/v1/me/audio/{turn_id}/{sentence}", 404, params=audio, token=bob["access_token"])
        c.call("GET", "/api/v1/me/audio/{turn_id}/{sentence}", 404, params={"turn_id": turn["id"], "sentence": "x.wav"}, token=token)
        c.call("GET", "/api/v1/me/audio/{turn_id}/{sentence}", 401, params=audio)

        deadline = time.time() + WAIT_S
        while True:
            memories = j(c.call("GET", "/api/v1/me/memories", 200, token=token))["memories"]
            if memories:
                break
            if time.time() > deadline:
                fail(f"no memory was extracted within {WAIT_S} s of a completed turn")
            time.sleep(0.2)
        c.call("GET", "/api/v1/me/memories", 200, token=token, query="?limit=1&before=0")
        c.call("GET", "/api/v1/me/memories", 400, token=token, query="?limit=201")
        c.call("GET", "/api/v1/me/memories", 401)
        memory = {"id": memories[0]["id"]}
        c.call("DELETE", "/api/v1/me/memories/{id}", 404, params=memory, token=bob["access_token"])
        c.call("DELETE", "/api/v1/me/memories/{id}", 401, params=memory)
        c.call("DELETE", "/api/v1/me/memories/{id}", 204, params=memory, token=token)
        c.call("DELETE", "/api/v1/me/memories/{id}", 404, params=memory, token=token)

        # Admin: every route, 401 without a token, 403 for a non-admin.
        admin_get = [("/api/v1/admin/sessions", {}), ("/api/v1/admin/queues", {}), ("/api/v1/admin/users", {})]
        for template, params in admin_get:
            c.call("GET", template, 200, params=params, token=admin_token)
            c.call("GET", template, 401, params=params)
            c.call("GET", template, 403, params=params, token=token)
        sessions = j(c.call("GET", "/api/v1/admin/sessions", 200, token=admin_token))["sessions"]
        if [s["username"] for s in sessions] != ["alice"]:
            fail(f"admin sessions {sessions} do not list exactly alice's open chat socket")
        c.call("GET", "/api/v1/admin/users", 200, token=admin_token, query="?after_id=1&limit=2")
        c.call("GET", "/api/v1/admin/users", 400, token=admin_token, query="?limit=501")
        session = {"id": sessions[0]["id"]}
        nosession = {"id": "no-such-session"}
        for template in ("/api/v1/admin/sessions/{id}/prompt",):
            c.call("GET", template, 200, params=session, token=admin_token)
            c.call("GET", template, 404, params=nosession, token=admin_token)
            c.call("GET", template, 401, params=session)
            c.call("GET", template, 403, params=session, token=token)
        c.call("POST", "/api/v1/admin/sessions/{id}/stop", 200, params=session, token=admin_token)
        c.call("POST", "/api/v1/admin/sessions/{id}/stop", 404, params=nosession, token=admin_token)
        c.call("POST", "/api/v1/admin/sessions/{id}/stop", 401, params=session)
        c.call("POST", "/api/v1/admin/sessions/{id}/stop", 403, params=session, token=token)
        c.call("POST", "/api/v1/admin/sessions/{id}/disconnect", 404, params=nosession, token=admin_token)
        c.call("POST", "/api/v1/admin/sessions/{id}/disconnect", 401, params=session)
        c.call("POST", "/api/v1/admin/sessions/{id}/disconnect", 403, params=session, token=token)
        c.call("POST", "/api/v1/admin/sessions/{id}/disconnect", 200, params=session, token=admin_token)
    finally:
        ws.close()
    turn_params = {"id": turn["id"]}
    c.call("GET", "/api/v1/admin/turns/{id}", 200, params=turn_params, token=admin_token)
    c.call("GET", "/api/v1/admin/turns/{id}", 404, params={"id": 999999}, token=admin_token)
    c.call("GET", "/api/v1/admin/turns/{id}", 401, params=turn_params)
    c.call("GET", "/api/v1/admin/turns/{id}", 403, params=turn_params, token=token)
    audio = {"id": turn["id"], "sentence": "0.wav"}
    c.call("GET", "/api/v1/admin/turns/{id}/audio/{sentence}", 200, params=audio, token=admin_token)
    c.call("GET", "/api/v1/admin/turns/{id}/audio/{sentence}", 404, params={"id": turn["id"], "sentence": "999.wav"}, token=admin_token)
    c.call("GET", "/api/v1/admin/turns/{id}/audio/{sentence}", 401, params=audio)
    c.call("GET", "/api/v1/admin/turns/{id}/audio/{sentence}", 403, params=audio, token=token)

    # Deleting the conversation of that turn (the socket is closed: no turn of it runs any more).
    conversation = "/api/v1/me/history/conversations/{session_id}"
    mine = {"session_id": turn["session_id"]}
    c.call("DELETE", conversation, 401, params=mine)
    c.call("DELETE", conversation, 400, params={"session_id": "x" * 129}, token=token)
    c.call("DELETE", conversation, 404, params=mine, token=bob["access_token"])  # not bob's
    deadline = time.time() + WAIT_S
    while c.call("DELETE", conversation, (204, 409), params=mine, token=token).status == 409:  # its memory jobs still run
        if time.time() > deadline:
            fail(f"DELETE {conversation}: still 409 conversation_in_progress {WAIT_S} s after the socket closed")
        time.sleep(0.2)
    c.call("DELETE", conversation, 404, params=mine, token=token)
    c.call("GET", "/api/v1/me/audio/{turn_id}/{sentence}", 404, params={"turn_id": turn["id"], "sentence": "0.wav"}, token=token)
    if j(c.call("GET", "/api/v1/me/history", 200, token=token))["turns"]:
        fail("history still lists turns of the deleted conversation")

    users = {u["username"]: u["id"] for u in j(c.call("GET", "/api/v1/admin/users", 200, token=admin_token))["users"]}
    for action in ("disable", "enable"):
        template = f"/api/v1/admin/users/{{id}}/{action}"
        c.call("POST", template, 404, params={"id": 999999}, token=admin_token)
        c.call("POST", template, 401, params={"id": users["dave"]})
        c.call("POST", template, 403, params={"id": users["dave"]}, token=token)
    c.call("POST", "/api/v1/admin/users/{id}/disable", 400, params={"id": users[ADMIN_NAME]}, token=admin_token)
    c.call("POST", "/api/v1/admin/users/{id}/disable", 200, params={"id": users["dave"]}, token=admin_token)
    # A disabled account: its token answers 403 account_disabled, so does its login (RFC 6749 shape);
    # once enabled again, the old token stays invalid (401: disabling bumped the token version).
    c.call("GET", "/api/v1/me/profile", 403, token=dave["access_token"])
    c.call("DELETE", "/api/v1/me/history/conversations/{session_id}", 403, params={"session_id": "any"}, token=dave["access_token"])
    c.call("POST", "/api/v1/auth/token", 403, form={"grant_type": "password", "username": "dave", "password": PASSWORD})
    c.call("POST", "/api/v1/admin/users/{id}/enable", 200, params={"id": users["dave"]}, token=admin_token)
    c.call("GET", "/api/v1/me/profile", 401, token=dave["access_token"])

    # Sign out everywhere.
    c.call("POST", "/api/v1/auth/logout-all", 401)
    c.call("POST", "/api/v1/auth/logout-all", 204, token=bob["access_token"])
    c.call("GET", "/api/v1/me/profile", 401, token=bob["access_token"])

    # Password change.
    change = "/api/v1/me/password"
    c.call("POST", change, 401, body={"current_password": PASSWORD, "new_password": "staple battery horse correct"})
    c.call("POST", change, 400, token=token, body={"current_password": PASSWORD})
    c.call("POST", change, 400, token=token, body={"current_password": PASSWORD, "new_password": "alice"})
    c.call("POST", change, 403, token=token, body={"current_password": "not the password", "new_password": "staple battery horse correct"})
    token = j(c.call("POST", change, 200, token=token, body={"current_password": PASSWORD, "new_password": "staple battery horse correct"}))["access_token"]
    c.call("GET", "/api/v1/me/profile", 200, token=token)

    # Account deletion.
    me = "/api/v1/me"
    c.call("DELETE", me, 401, body={"password": PASSWORD})
    c.call("DELETE", me, 400, token=carol["access_token"], body={})
    c.call("DELETE", me, 403, token=carol["access_token"], body={"password": "not the password"})
    c.call("DELETE", me, 204, token=carol["access_token"], body={"password": PASSWORD})
    c.call("GET", "/api/v1/me/profile", 401, token=carol["access_token"])

    # A wrong password for a device token counts like a failed login (here: the address's last one before its lock).
    c.call("POST", "/api/v1/me/device-tokens", 403, token=token, body={"name": "desk pet", "password": "not the password"})

    # 429 with Retry-After: the login limit per (username, address), then the registration limit.
    c.until_429("POST", "/api/v1/auth/token", 20, lambda n: {"form": {"grant_type": "password", "username": "dave", "password": "wrong"}})
    c.until_429("POST", "/api/v1/auth/register", 50, lambda n: {"body": {"username": f"flood{n}", "password": PASSWORD}})


def check_other_methods(c):
    """A method the spec does not list on a path is not answered: 405 (with Allow) or 404."""
    by_path = {}
    for method, template in c.spec.operations:
        by_path.setdefault(template, set()).add(method)
    sample = {"id": "1", "turn_id": "1", "sentence": "0.wav", "session_id": "s1"}
    for template, methods in by_path.items():
        path = re.sub(r"\{([^}]+)\}", lambda m: sample[m.group(1)], template)
        for method in ("GET", "POST", "PUT", "DELETE", "PATCH"):
            if method in methods:
                continue
            r = c.server.request(method, path)
            if r.status == 405:
                allowed = {m.strip() for m in r.headers.get("allow", "").split(",")}
                if allowed != methods:
                    fail(f"{method} {path}: Allow {allowed} differs from the spec's {methods}")
            elif r.status != 404:
                fail(f"{method} {path} (not in the spec) answered {r.status}")


def check_coverage(c):
    """Every operation exercised, each documented success status at least once."""
    missing = []
    for (method, template), op in sorted(c.spec.operations.items()):
        seen = c.seen.get(op["operationId"], set())
        if not seen:
            missing.append(f"{op['operationId']} ({method} {template}) never exercised")
            continue
        for status in op["responses"]:
            if str(status)[0] in "12" and int(status) not in seen:
                missing.append(f"{op['operationId']}: success status {status} never seen")
    if missing:
        fail("coverage: " + "; ".join(missing))


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    spec = Spec(SPEC_PATH)
    def checks():
        check_structure(spec)
        print(f"ok: docs/openapi.yaml is structurally OpenAPI 3.1 ({len(spec.operations)} operations; every $ref resolves, every schema is JSON Schema 2020-12)")
        print(f"ok: {check_meta_schema(spec)}")
        print(f"ok: the {check_route_lists(spec)} routes registered in server/src are exactly the spec's operations")
        env = {"TIANYI_AUTH_REGISTER_PER_ADDRESS_MAX": "12", "TIANYI_AUTH_LOGIN_MAX_FAILURES": "3", "TIANYI_COMPAT_OLV_ENABLED": "true",
               "TIANYI_LIMITS_MAX_BODY_BYTES": str(MAX_BODY_BYTES)}
        with TianyiServer(sys.argv[1], sys.argv[2], env) as server:
            c = Client(server, spec)
            try:
                exercise(server, c)
                check_other_methods(c)
                check_coverage(c)
            except Failure:
                print(server.log_tail(), file=sys.stderr)
                raise
        calls = sum(len(v) for v in c.seen.values())
        print(f"ok: {len(c.seen)} operations exercised against a real server, {calls} distinct (operation, status) pairs, "
              "every answer documented and matching its schema")
        for op_id in sorted(c.seen):
            print(f"    {op_id}: {' '.join(str(s) for s in sorted(c.seen[op_id]))}")
        print("ok: methods the spec does not list answer 405 (Allow = the spec's methods) or 404")

    return run_checks(checks)


if __name__ == "__main__":
    sys.exit(main())
