"""A fake Kubernetes API server, in-process, for tests of code that uses the real client.

It is a FAKE: it implements only the endpoints the platform's jobs and the reservation
Lambdas call, keeps objects in memory and enforces a little of what the real server would:

* Secrets (read, create, replace): namespace exists, the name in the path matches the body,
  optimistic concurrency on ``resourceVersion``.
* batch/v1 Jobs (create -> 409 if the name exists; read; list with a ``labelSelector``; delete
  -> 404 if absent), added for the job API's dispatcher. No Job controller runs: a test moves a
  Job along with :meth:`FakeKube.start_job` (unsuspends it and adds its pod, with a log) and
  :meth:`FakeKube.finish_job` (a ``Complete`` or ``Failed`` condition). A pod's log
  (``pods/NAME/log``) is the text :meth:`start_job` or a test put in ``pod_logs``.
* apps/v1 Deployments (read; merge-patch), which a test puts in ``deployments``; no
  controller rolls them.
* Nodes (list with a ``labelSelector`` of ``key``, ``key=value``, ``key!=value`` terms; read),
  added by tests with :meth:`FakeKube.add_node`.
* Pods, Services, PersistentVolumeClaims and networking.k8s.io/v1 NetworkPolicies (create ->
  409 if the name exists; read; list with a ``labelSelector``; delete -> 404 if absent;
  merge-patch). A NetworkPolicy is only stored: tests judge what it allows with
  ``tools/reachability.py`` (:meth:`FakeKube.network_policies`). A created pod is "scheduled" onto
  the node its required ``kubernetes.io/hostname`` affinity names and stays ``Pending`` until a
  test calls :meth:`FakeKube.set_pod_ready`, :meth:`set_pod_waiting` or
  :meth:`set_pod_failed` (or sets ``auto_ready``). A created NodePort Service gets node ports
  assigned from 30000 up.

Nothing else of the real server is modelled: no scheduler, no kubelet, no admission, no
field validation, no watch, no resourceVersion checks outside Secrets.

Tests can inject faults per request with :meth:`FakeKube.inject` (an HTTP status and/or a
delay, for a method and a path pattern, a number of times) -- ``fail_namespaces`` stays for
the older tests -- and every request is recorded (method, path, query, body, Authorization
header) so tests can check the shape of what was sent. It listens on 127.0.0.1 only and stops
with its context manager.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

SECRET_PATH = re.compile(r"^/api/v1/namespaces/(?P<ns>[a-z0-9-]+)/secrets(?:/(?P<name>[a-z0-9.-]+))?$")
NAMESPACED_PATH = re.compile(
    r"^/(?:api/(?P<core>v1)|apis/(?P<group>networking\.k8s\.io/v1))/namespaces/(?P<ns>[a-z0-9-]+)/"
    r"(?P<kind>pods|services|persistentvolumeclaims|networkpolicies)(?:/(?P<name>[a-z0-9.-]+))?$"
)
JOB_PATH = re.compile(r"^/apis/batch/v1/namespaces/(?P<ns>[a-z0-9-]+)/jobs(?:/(?P<name>[a-z0-9.-]+))?$")
POD_LOG_PATH = re.compile(r"^/api/v1/namespaces/(?P<ns>[a-z0-9-]+)/pods/(?P<name>[a-z0-9.-]+)/log$")
DEPLOYMENT_PATH = re.compile(
    r"^/apis/apps/v1/namespaces/(?P<ns>[a-z0-9-]+)/deployments/(?P<name>[a-z0-9.-]+)$"
)
NODE_PATH = re.compile(r"^/api/v1/nodes(?:/(?P<name>[a-z0-9.-]+))?$")
KINDS = {
    "pods": "Pod",
    "services": "Service",
    "persistentvolumeclaims": "PersistentVolumeClaim",
    "networkpolicies": "NetworkPolicy",
}
API_VERSIONS = {"networkpolicies": "networking.k8s.io/v1"}  # the rest are core: v1
SHUTDOWN_POLL = 0.02  # seconds between the server loop's checks for shutdown()


@dataclass
class Recorded:
    method: str
    path: str
    body: dict | list | None
    query: dict[str, str] = field(default_factory=dict)
    authorization: str | None = None


@dataclass
class Injection:
    """Fail (``status``) and/or delay (``delay`` seconds) matching requests, ``times`` times
    (None: until removed). A delayed request that is not failed is then served normally, as a
    real server that answers after the client gave up would still have acted on it."""

    method: str | None
    path: re.Pattern
    status: int | None = None
    delay: float = 0.0
    times: int | None = None
    hits: int = 0


@dataclass
class FakeKube:
    namespaces: set[str]
    secrets: dict[tuple[str, str], dict] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    fail_namespaces: dict[str, int] = field(default_factory=dict)
    nodes: dict[str, dict] = field(default_factory=dict)
    objects: dict[str, dict[tuple[str, str], dict]] = field(
        default_factory=lambda: {kind: {} for kind in KINDS}
    )
    injections: list[Injection] = field(default_factory=list)
    jobs: dict[tuple[str, str], dict] = field(default_factory=dict)  # batch/v1 Jobs
    deployments: dict[tuple[str, str], dict] = field(default_factory=dict)  # apps/v1 Deployments
    pod_logs: dict[tuple[str, str], str] = field(default_factory=dict)
    auto_ready: bool = False  # pods become Ready as soon as they are created
    _version: int = 0
    _next_node_port: int = 30000

    def __post_init__(self) -> None:
        self.lock = threading.RLock()

    def __enter__(self) -> FakeKube:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms ACK wait

            def log_message(self, *args):  # keep test output quiet
                return

            def _send(self, status: int, body: dict | str) -> None:
                text = isinstance(body, str)  # a pod log
                payload = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain" if text else "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                path, _, query = self.path.partition("?")
                params = {key: values[-1] for key, values in parse_qs(query).items()}
                with fake.lock:
                    fake.requests.append(
                        Recorded(self.command, path, body, params, self.headers.get("Authorization"))
                    )
                    injected = fake._injection(self.command, path)
                if injected and injected.delay:
                    time.sleep(injected.delay)
                if injected and injected.status:
                    code = injected.status
                    self._send(code, _status(code, "InternalError", "fake: injected failure"))
                    return
                with fake.lock:
                    status, response = fake.respond(self.command, path, body, params)
                try:
                    self._send(status, response)
                except OSError:  # the client gave up (a timeout test)
                    return

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address):  # a client that timed out
                return

        self.server = Server(("127.0.0.1", 0), Handler)
        # shutdown() waits for the loop's next poll: the default half second was most of a
        # reservation test's teardown.
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL}, daemon=True
        )
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def api_client(self):
        """A client as production builds it (``reservations.kube.api_client``: its retry
        setting, so a hung call costs what it costs in the Lambda), without TLS or a token."""
        from reservations.kube import api_client

        return api_client(self.url)

    def core_v1(self):
        from kubernetes import client

        return client.CoreV1Api(self.api_client())

    def apps_v1(self):
        from kubernetes import client

        return client.AppsV1Api(self.api_client())

    # -- test controls ----------------------------------------------------------------------

    def add_node(
        self,
        name: str,
        *,
        pool: str,
        gpus: int,
        ready: bool = True,
        unschedulable: bool = False,
        external_ip: str | None = None,
        internal_ip: str = "10.0.0.1",
        labels: dict[str, str] | None = None,
    ) -> None:
        addresses = [{"type": "InternalIP", "address": internal_ip}]
        if external_ip:
            addresses.append({"type": "ExternalIP", "address": external_ip})
        self.nodes[name] = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": name,
                "labels": {"kubernetes.io/hostname": name, "gpuplatform.io/pool": pool, **(labels or {})},
            },
            "spec": {
                "unschedulable": unschedulable,
                "taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}],
            },
            "status": {
                "allocatable": {"cpu": "47", "memory": "180Gi", "nvidia.com/gpu": str(gpus)},
                "capacity": {"nvidia.com/gpu": str(gpus)},
                "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                "addresses": addresses,
            },
        }

    def inject(
        self,
        path: str,
        *,
        method: str | None = None,
        status: int | None = None,
        delay: float = 0.0,
        times: int | None = None,
    ) -> Injection:
        """Fail/delay requests whose path matches the regex ``path`` (searched, not anchored)."""
        injection = Injection(method, re.compile(path), status, delay, times)
        with self.lock:
            self.injections.append(injection)
        return injection

    def clear_injections(self) -> None:
        with self.lock:
            self.injections.clear()

    def pods(self, namespace: str | None = None) -> list[dict]:
        return self._stored("pods", namespace)

    def network_policies(self, namespace: str | None = None) -> list[dict]:
        return self._stored("networkpolicies", namespace)

    def _stored(self, kind: str, namespace: str | None) -> list[dict]:
        with self.lock:
            return [obj for (ns, _), obj in self.objects[kind].items() if namespace in (None, ns)]

    def pod(self, namespace: str, name: str) -> dict | None:
        return self.objects["pods"].get((namespace, name))

    def set_pod_ready(self, namespace: str, name: str, ready: bool = True) -> None:
        with self.lock:
            pod = self.objects["pods"][(namespace, name)]
            pod["status"] = {
                "phase": "Running",
                "podIP": "192.168.0.10",
                "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                "containerStatuses": [
                    {"name": "dev", "ready": ready, "restartCount": 0, "state": {"running": {}}}
                ],
            }

    def set_pod_waiting(self, namespace: str, name: str, reason: str, message: str = "") -> None:
        """The container waits (e.g. ``ImagePullBackOff``); the pod stays Pending."""
        with self.lock:
            pod = self.objects["pods"][(namespace, name)]
            pod["status"] = {
                "phase": "Pending",
                "conditions": [{"type": "Ready", "status": "False"}],
                "containerStatuses": [
                    {
                        "name": "dev",
                        "ready": False,
                        "restartCount": 0,
                        "state": {"waiting": {"reason": reason, "message": message}},
                    }
                ],
            }

    def set_pod_failed(self, namespace: str, name: str, reason: str, message: str = "") -> None:
        with self.lock:
            pod = self.objects["pods"][(namespace, name)]
            pod["status"] = {"phase": "Failed", "reason": reason, "message": message}

    def remove_pod(self, namespace: str, name: str) -> None:
        """The pod vanishes behind the caller's back (node lost, someone deleted it)."""
        with self.lock:
            self.objects["pods"].pop((namespace, name), None)

    def start_job(self, namespace: str, name: str, log: str = "") -> str:
        """What Kueue and the Job controller would do: unsuspend the Job and start its pod (with
        ``log`` as its log). Returns the pod's name."""
        with self.lock:
            job = self.jobs[(namespace, name)]
            job["spec"]["suspend"] = False
            job["status"] = {"active": 1, "ready": 1}
            pod_name = f"{name}-abcde"
            template = job["spec"]["template"]
            self._version += 1
            self.objects["pods"][(namespace, pod_name)] = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": pod_name,
                    "namespace": namespace,
                    "labels": {
                        **(template.get("metadata", {}).get("labels") or {}),
                        "batch.kubernetes.io/job-name": name,
                        "job-name": name,
                    },
                    "resourceVersion": str(self._version),
                },
                "spec": copy.deepcopy(template["spec"]),
                "status": {"phase": "Running"},
            }
            self.pod_logs[(namespace, pod_name)] = log
            return pod_name

    def finish_job(
        self, namespace: str, name: str, *, succeeded: bool, reason: str = "", message: str = ""
    ) -> None:
        with self.lock:
            job = self.jobs[(namespace, name)]
            kind = "Complete" if succeeded else "Failed"
            job["status"] = {
                "succeeded" if succeeded else "failed": 1,
                "conditions": [{"type": kind, "status": "True", "reason": reason, "message": message}],
            }

    # -- behaviour --------------------------------------------------------------------------

    def _injection(self, method: str, path: str) -> Injection | None:
        for injection in self.injections:
            if injection.method not in (None, method) or not injection.path.search(path):
                continue
            if injection.times is not None and injection.hits >= injection.times:
                continue
            injection.hits += 1
            return injection
        return None

    def respond(self, method: str, path: str, body, params: dict | None = None) -> tuple[int, dict | str]:
        params = params or {}
        match = JOB_PATH.match(path)
        if match:
            return self._jobs(method, match["ns"], match["name"], body, params)
        match = POD_LOG_PATH.match(path)
        if match and method == "GET":
            if (match["ns"], match["name"]) not in self.objects["pods"]:
                return 404, _status(404, "NotFound", f'pods "{match["name"]}" not found')
            text = self.pod_logs.get((match["ns"], match["name"]), "")
            if params.get("tailLines"):
                text = "".join(text.splitlines(keepends=True)[-int(params["tailLines"]) :])
            return 200, text
        match = NODE_PATH.match(path)
        if match:
            return self._nodes(method, match["name"], params)
        match = DEPLOYMENT_PATH.match(path)
        if match:
            return self._deployment(method, match["ns"], match["name"], body)
        match = NAMESPACED_PATH.match(path)
        if match and (match["core"] or match["group"]) == API_VERSIONS.get(match["kind"], "v1"):
            return self._namespaced(method, match["ns"], match["kind"], match["name"], body, params)
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

    def _jobs(self, method: str, namespace: str, name: str | None, body, params: dict) -> tuple[int, dict]:
        if namespace not in self.namespaces:
            return 404, _status(404, "NotFound", f'namespaces "{namespace}" not found')
        if method == "GET" and not name:
            items = [
                job
                for (ns, _), job in self.jobs.items()
                if ns == namespace and _selects(params.get("labelSelector", ""), job)
            ]
            if params.get("limit"):
                items = items[: int(params["limit"])]
            return 200, {"apiVersion": "batch/v1", "kind": "JobList", "metadata": {}, "items": items}
        if method == "POST" and not name:
            if (
                not isinstance(body, dict)
                or body.get("kind") != "Job"
                or body.get("apiVersion") != "batch/v1"
            ):
                return 400, _status(400, "BadRequest", "body must be a batch/v1 Job")
            job_name = body.get("metadata", {}).get("name")
            if not job_name or body["metadata"].get("namespace", namespace) != namespace:
                return 400, _status(400, "BadRequest", "metadata.name/namespace must match the request path")
            if (namespace, job_name) in self.jobs:
                return 409, _status(409, "AlreadyExists", f'jobs.batch "{job_name}" already exists')
            job = copy.deepcopy(body)
            self._version += 1
            job["metadata"].update(
                namespace=namespace, resourceVersion=str(self._version), uid=f"uid-{self._version}"
            )
            job["status"] = {}
            self.jobs[(namespace, job_name)] = job
            return 201, job
        current = self.jobs.get((namespace, name)) if name else None
        if current is None or name is None:
            return 404, _status(404, "NotFound", f'jobs.batch "{name}" not found')
        if method == "GET":
            return 200, current
        if method == "DELETE":
            del self.jobs[(namespace, name)]
            for key in [
                k
                for k, pod in self.objects["pods"].items()
                if k[0] == namespace
                and pod["metadata"].get("labels", {}).get("batch.kubernetes.io/job-name") == name
            ]:
                del self.objects["pods"][key]
            return 200, _status(200, "Success", f'jobs.batch "{name}" deleted') | {"status": "Success"}
        return 405, _status(405, "MethodNotAllowed", f"fake: {method} jobs/{name}")

    def _deployment(self, method: str, namespace: str, name: str, body) -> tuple[int, dict]:
        current = self.deployments.get((namespace, name))
        if current is None:
            return 404, _status(404, "NotFound", f'deployments.apps "{name}" not found')
        if method == "GET":
            return 200, current
        if method == "PATCH" and isinstance(body, dict):
            _merge(current, body)
            self._version += 1
            current["metadata"]["resourceVersion"] = str(self._version)
            return 200, current
        return 405, _status(405, "MethodNotAllowed", f"fake: {method} deployments/{name}")

    def _nodes(self, method: str, name: str | None, params: dict) -> tuple[int, dict]:
        if method != "GET":
            return 405, _status(405, "MethodNotAllowed", "fake: nodes are read-only")
        if name:
            node = self.nodes.get(name)
            return (200, node) if node else (404, _status(404, "NotFound", f'nodes "{name}" not found'))
        selected = [n for n in self.nodes.values() if _selects(params.get("labelSelector", ""), n)]
        return 200, {"apiVersion": "v1", "kind": "NodeList", "metadata": {}, "items": selected}

    def _namespaced(
        self, method: str, namespace: str, kind: str, name: str | None, body, params: dict
    ) -> tuple[int, dict]:
        if namespace in self.fail_namespaces:
            code = self.fail_namespaces[namespace]
            return code, _status(code, "InternalError", "fake: injected failure")
        if namespace not in self.namespaces:
            return 404, _status(404, "NotFound", f'namespaces "{namespace}" not found')
        store = self.objects[kind]
        if method == "GET" and not name:
            items = [
                obj
                for (ns, _), obj in store.items()
                if ns == namespace and _selects(params.get("labelSelector", ""), obj)
            ]
            version = API_VERSIONS.get(kind, "v1")
            return 200, {"apiVersion": version, "kind": KINDS[kind] + "List", "metadata": {}, "items": items}
        if method == "POST" and not name:
            version = API_VERSIONS.get(kind, "v1")
            if (
                not isinstance(body, dict)
                or body.get("kind") != KINDS[kind]
                or body.get("apiVersion") != version
            ):
                return 400, _status(400, "BadRequest", f"body must be a {version} {KINDS[kind]}")
            obj_name = body.get("metadata", {}).get("name")
            if not obj_name or body["metadata"].get("namespace", namespace) != namespace:
                return 400, _status(400, "BadRequest", "metadata.name/namespace must match the request path")
            if (namespace, obj_name) in store:
                return 409, _status(409, "AlreadyExists", f'{kind} "{obj_name}" already exists')
            obj = copy.deepcopy(body)
            obj["metadata"]["namespace"] = namespace
            self._version += 1
            obj["metadata"]["resourceVersion"] = str(self._version)
            obj["metadata"]["uid"] = f"uid-{self._version}"
            self._admit(kind, obj)
            store[(namespace, obj_name)] = obj
            return 201, obj
        if not name:
            return 405, _status(405, "MethodNotAllowed", f"fake: {method} on a {kind} collection")
        current = store.get((namespace, name))
        if current is None:
            return 404, _status(404, "NotFound", f'{kind} "{name}" not found')
        if method == "GET":
            return 200, current
        if method == "DELETE":
            del store[(namespace, name)]
            return 200, current
        if method == "PATCH":
            if not isinstance(body, dict):
                return 415, _status(415, "UnsupportedMediaType", "fake: only merge patches")
            _merge(current, body)
            self._version += 1
            current["metadata"]["resourceVersion"] = str(self._version)
            return 200, current
        return 405, _status(405, "MethodNotAllowed", f"fake: {method} {kind}/{name}")

    def _admit(self, kind: str, obj: dict) -> None:
        if kind == "pods":
            obj["spec"]["nodeName"] = _required_hostname(obj)
            obj["status"] = {"phase": "Pending", "conditions": [{"type": "Ready", "status": "False"}]}
            if self.auto_ready:
                self.objects["pods"][(obj["metadata"]["namespace"], obj["metadata"]["name"])] = obj
                self.set_pod_ready(obj["metadata"]["namespace"], obj["metadata"]["name"])
        elif kind == "services" and obj.get("spec", {}).get("type") == "NodePort":
            for port in obj["spec"].get("ports", []):
                if "nodePort" not in port:
                    port["nodePort"] = self._next_node_port
                    self._next_node_port += 1
        elif kind == "persistentvolumeclaims":
            obj["status"] = {"phase": "Bound"}

    def _store(self, key: tuple[str, str], body: dict) -> dict:
        self._version += 1
        stored = json.loads(json.dumps(body))
        stored["metadata"]["resourceVersion"] = str(self._version)
        self.secrets[key] = stored
        return stored


def _selects(selector: str, obj: dict) -> bool:
    labels = obj.get("metadata", {}).get("labels") or {}
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key) == value:
                return False
        elif "=" in term:
            key, value = term.split("=", 1)
            if labels.get(key.rstrip("=")) != value:
                return False
        elif labels.get(term) is None:
            return False
    return True


def _required_hostname(pod: dict) -> str | None:
    terms = (
        pod.get("spec", {})
        .get("affinity", {})
        .get("nodeAffinity", {})
        .get("requiredDuringSchedulingIgnoredDuringExecution", {})
        .get("nodeSelectorTerms", [])
    )
    for term in terms:
        for expression in term.get("matchExpressions", []):
            if expression.get("key") == "kubernetes.io/hostname" and expression.get("operator") == "In":
                return expression["values"][0]
    return None


def _merge(target: dict, patch: dict) -> None:
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


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
