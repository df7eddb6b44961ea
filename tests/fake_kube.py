"""A fake Kubernetes API server, in-process, for tests of code that uses the real client.

It is a FAKE: it implements only the Secret endpoints the platform's jobs call (read, create,
replace), keeps objects in memory, enforces what the real server would (namespace exists,
name in the path matches the body, optimistic concurrency on ``resourceVersion``), records
every request so tests can check their shape, and can be told to fail a namespace with a
given HTTP status. It listens on 127.0.0.1 only and stops with its context manager.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET_PATH = re.compile(r"^/api/v1/namespaces/(?P<ns>[a-z0-9-]+)/secrets(?:/(?P<name>[a-z0-9.-]+))?$")


@dataclass
class Recorded:
    method: str
    path: str
    body: dict | None


@dataclass
class FakeKube:
    namespaces: set[str]
    secrets: dict[tuple[str, str], dict] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    fail_namespaces: dict[str, int] = field(default_factory=dict)
    _version: int = 0

    def __enter__(self) -> FakeKube:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                return

            def _send(self, status: int, body: dict) -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                path = self.path.split("?", 1)[0]
                fake.requests.append(Recorded(self.command, path, body))
                status, response = fake.respond(self.command, path, body)
                self._send(status, response)

            do_GET = do_POST = do_PUT = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def core_v1(self):
        from kubernetes import client

        configuration = client.Configuration()
        configuration.host = self.url
        return client.CoreV1Api(client.ApiClient(configuration))

    # -- behaviour ------------------------------------------------------------------------

    def respond(self, method: str, path: str, body: dict | None) -> tuple[int, dict]:
        match = SECRET_PATH.match(path)
        if not match:
            return 404, _status(404, "NotFound", f"fake: no route {method} {path}")
        namespace, name = match["ns"], match["name"]
        if namespace in self.fail_namespaces:
            code = self.fail_namespaces[namespace]
            return code, _status(code, "InternalError", "fake: injected failure")
        if namespace not in self.namespaces:
            return 404, _status(404, "NotFound", f'namespaces "{namespace}" not found')
        if method == "GET" and name:
            secret = self.secrets.get((namespace, name))
            return (200, secret) if secret else (404, _status(404, "NotFound", f'secrets "{name}" not found'))
        if method == "POST" and not name:
            error = _shape_error(body, namespace, body.get("metadata", {}).get("name") if body else None)
            if error:
                return 400, _status(400, "BadRequest", error)
            key = (namespace, body["metadata"]["name"])
            if key in self.secrets:
                return 409, _status(409, "AlreadyExists", f'secrets "{key[1]}" already exists')
            return 201, self._store(key, body)
        if method == "PUT" and name:
            error = _shape_error(body, namespace, name)
            if error:
                return 400, _status(400, "BadRequest", error)
            current = self.secrets.get((namespace, name))
            if current is None:
                return 404, _status(404, "NotFound", f'secrets "{name}" not found')
            if body["metadata"].get("resourceVersion") != current["metadata"]["resourceVersion"]:
                return 409, _status(409, "Conflict", "the object has been modified")
            return 200, self._store((namespace, name), body)
        return 405, _status(405, "MethodNotAllowed", f"fake: {method} {path} not implemented")

    def _store(self, key: tuple[str, str], body: dict) -> dict:
        self._version += 1
        stored = json.loads(json.dumps(body))
        stored["metadata"]["resourceVersion"] = str(self._version)
        self.secrets[key] = stored
        return stored


def _shape_error(body: dict | None, namespace: str, name: str | None) -> str | None:
    if not body or body.get("kind") != "Secret" or body.get("apiVersion") != "v1":
        return "body must be a v1 Secret"
    metadata = body.get("metadata", {})
    if metadata.get("name") != name or metadata.get("namespace", namespace) != namespace:
        return "metadata.name/namespace must match the request path"
    return None


def _status(code: int, reason: str, message: str) -> dict:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "code": code,
        "reason": reason,
        "message": message,
    }
