"""A small gateway over the official ``kubernetes`` client: what the reservation Lambdas do
with the cluster, and nothing else.

* Authentication is EKS's: a bearer token ``k8s-aws-v1.<base64url of a presigned STS
  GetCallerIdentity URL>`` that carries the header ``x-k8s-aws-id: <cluster name>``, presigned
  for 60 s with botocore's request signer (no network call is needed to make one) and reused
  for 10 minutes (EKS accepts a token for 15). The Lambda's IAM role is mapped to the RBAC
  described in the processor's docstring by the CDK stack.
* Every call has a timeout (``_request_timeout``), urllib3 retries once at most (never a POST
  or PATCH whose answer was lost), and every failure a later pass may not see -- 5xx, 429,
  timeouts, refused or reset connections -- is raised as :class:`KubeUnavailable`; any other
  refusal (400, 403, 422, ...) as :class:`KubeError`.
* Time-boxed per invocation (:meth:`KubeGateway.for_invocation`): a call's timeout is cut so
  that both tries fit in what the invocation's :class:`~reservations.deadline.Deadline` still
  allows, a call that no longer fits is not made, and after the first :class:`KubeUnavailable`
  the rest of the invocation makes no call at all (each could burn its timeout against an API
  that is down). Records keep their state; the next pass or sweep retries.
* Create is idempotent (409 = it exists, which is success: names are deterministic), delete is
  idempotent (404 = already gone). Reads return plain dicts (the API's JSON), ``None`` on 404.
* The namespaced objects are named by their resource (:data:`RESOURCES`, the names the RBAC of
  ``k8s_charts/reservations_access.py`` grants): pods, services, the home claims and a gang's
  NetworkPolicy; nodes are only read.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from kubernetes import client
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.util.retry import Retry

from .deadline import Deadline
from .scheduler import Node

POOL_LABEL = "gpuplatform.io/pool"
GPU_RESOURCE = "nvidia.com/gpu"
TOKEN_PREFIX = "k8s-aws-v1."
TOKEN_TTL_SECONDS = 600
DEFAULT_TIMEOUT = (3.0, 10.0)  # (connect, read) seconds
TRIES = 2  # urllib3: the call and one retry (RETRY below)
MIN_CALL_SECONDS = 0.5  # a call with less time than this per try is not made

Manifest = dict[str, Any]  # an object as the API's JSON
Resource = Literal["pods", "services", "persistentvolumeclaims", "networkpolicies"]
# resource -> the client API serving it and its methods' suffix (create_namespaced_<suffix>, ...)
RESOURCES: dict[Resource, tuple[Literal["core", "networking"], str]] = {
    "pods": ("core", "pod"),
    "services": ("core", "service"),
    "persistentvolumeclaims": ("core", "persistent_volume_claim"),
    "networkpolicies": ("networking", "network_policy"),
}


class KubeError(RuntimeError):
    """The API refused a call (a 4xx other than the idempotent 404/409)."""

    def __init__(self, message: str, status: int | None = None, reason: str | None = None):
        super().__init__(message)
        self.status = status
        self.reason = reason


class KubeUnavailable(KubeError):
    """The API could not be reached or failed (5xx, 429, timeout, connection error): retry later."""


@dataclass(frozen=True)
class GpuNode:
    name: str
    pool: str
    gpus: int
    external_ip: str | None
    internal_ip: str | None

    @property
    def address(self) -> str | None:
        return self.external_ip or self.internal_ip

    def as_node(self) -> Node:
        return Node(name=self.name, gpu_type=self.pool, gpus=self.gpus)


class EksToken:
    """EKS bearer tokens from the Lambda's credentials, cached for :data:`TOKEN_TTL_SECONDS`."""

    def __init__(
        self, cluster_name: str, region: str, session: Any = None, clock: Callable[[], float] = time.time
    ) -> None:
        import boto3

        self.cluster_name = cluster_name
        self.region = region
        self.session = session or boto3.session.Session()
        self.clock = clock
        self._token: str | None = None
        self._made_at = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            if self._token is None or self.clock() - self._made_at >= TOKEN_TTL_SECONDS:
                self._token = self._make()
                self._made_at = self.clock()
            return self._token

    def _make(self) -> str:
        from botocore.signers import RequestSigner

        credentials = self.session.get_credentials()
        if credentials is None:
            raise KubeUnavailable("no AWS credentials to sign an EKS token with")
        sts = self.session.client("sts", region_name=self.region)
        service_id = sts.meta.service_model.service_id
        signer = RequestSigner(service_id, self.region, "sts", "v4", credentials, sts.meta.events)
        request = {
            "method": "GET",
            "url": f"https://sts.{self.region}.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15",
            "body": {},
            "headers": {"x-k8s-aws-id": self.cluster_name},
            "context": {},
        }
        url = signer.generate_presigned_url(
            request, region_name=self.region, expires_in=60, operation_name=""
        )
        return TOKEN_PREFIX + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


def retry_setting() -> Retry:
    """urllib3 retries of every call: one retry (:data:`TRIES` tries), never on a status."""
    return Retry(
        total=TRIES - 1, connect=TRIES - 1, read=TRIES - 1, status=0, redirect=0, raise_on_status=False
    )


def api_client(
    host: str, *, ca_pem_b64: str | None = None, token: Callable[[], str] | None = None
) -> client.ApiClient:
    """An ``ApiClient`` for ``host``; the CA is EKS's base64 PEM; ``token`` is asked per call."""
    configuration = client.Configuration()
    configuration.host = host
    if ca_pem_b64:
        handle, path = tempfile.mkstemp(prefix="eks-ca-", suffix=".pem")
        with os.fdopen(handle, "wb") as out:
            out.write(base64.b64decode(ca_pem_b64))
        configuration.ssl_ca_cert = path
    configuration.verify_ssl = host.startswith("https://")
    configuration.retries = retry_setting()
    if token is not None:
        # kubernetes>=36 reads the bearer token as api_key["BearerToken"] (with its prefix).
        configuration.api_key_prefix["BearerToken"] = "Bearer"
        configuration.api_key["BearerToken"] = token()

        def refresh(config: client.Configuration) -> None:
            config.api_key["BearerToken"] = token()

        configuration.refresh_api_key_hook = refresh
    return client.ApiClient(configuration)


class KubeGateway:
    def __init__(
        self,
        api: client.ApiClient,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        deadline: Deadline | None = None,
    ) -> None:
        self.api = api
        self.core = client.CoreV1Api(api)
        self.networking = client.NetworkingV1Api(api)
        self.timeout = timeout
        self.deadline = deadline or Deadline()
        # Why the API is considered down for the rest of the invocation; only a gateway made
        # for one invocation remembers it (the container's own gateway never gives up).
        self.down: str | None = None
        self._latches = deadline is not None

    def for_invocation(self, deadline: Deadline) -> KubeGateway:
        """A gateway for one invocation (same connection pool and token), time-boxed by
        ``deadline`` and with its own "the API is down" state."""
        return KubeGateway(self.api, timeout=self.timeout, deadline=deadline)

    def _timeout(self, what: str) -> tuple[float, float]:
        """The (connect, read) timeout of one try, cut so that every try fits the deadline."""
        per_try = self.deadline.usable() / TRIES
        connect, read = self.timeout
        if per_try < min(MIN_CALL_SECONDS, connect + read):
            raise KubeUnavailable(f"{what}: not made, {self.deadline.left():.1f} s left in this invocation")
        if per_try >= connect + read:
            return connect, read
        share = connect / (connect + read)
        return per_try * share, per_try * (1 - share)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, session: Any = None) -> KubeGateway:
        """From the Lambda's environment: ``CLUSTER_NAME``, ``CLUSTER_ENDPOINT``, ``CLUSTER_CA``
        and the runtime's ``AWS_REGION``."""
        values: Mapping[str, str] = os.environ if env is None else env
        token = EksToken(values["CLUSTER_NAME"], values["AWS_REGION"], session=session)
        endpoint, ca = values["CLUSTER_ENDPOINT"], values.get("CLUSTER_CA") or None
        return cls(api_client(endpoint, ca_pem_b64=ca, token=token))

    # -- plumbing ---------------------------------------------------------------------------

    def _call(
        self, what: str, method: Callable[..., Any], *args: Any, ok: tuple[int, ...] = (), **kwargs: Any
    ) -> Manifest | None:
        """Run one API call; JSON answer as a dict, or None for a status listed in ``ok``."""
        if self.down is not None:
            raise KubeUnavailable(f"{what}: not made, the API failed earlier in this invocation")
        try:
            return self._send(what, method, *args, ok=ok, **kwargs)
        except KubeUnavailable as exc:
            if self._latches:
                self.down = str(exc)
            raise

    def _send(
        self, what: str, method: Callable[..., Any], *args: Any, ok: tuple[int, ...], **kwargs: Any
    ) -> Manifest | None:
        timeout = self._timeout(what)
        try:
            response = method(*args, _request_timeout=timeout, _preload_content=False, **kwargs)
            data = response.data
            answer: Manifest = json.loads(data) if data else {}
            return answer
        except client.ApiException as exc:
            if exc.status in ok:
                return None
            reason = _reason(exc)
            message = f"{what}: HTTP {exc.status} {reason}"
            if exc.status is None or exc.status >= 500 or exc.status == 429:
                raise KubeUnavailable(message, exc.status, reason) from None
            raise KubeError(message, exc.status, reason) from None
        except (Urllib3Error, OSError) as exc:
            raise KubeUnavailable(f"{what}: {type(exc).__name__}: {exc}") from None

    # -- nodes ------------------------------------------------------------------------------

    def gpu_nodes(self) -> list[GpuNode]:
        """Every schedulable, Ready node carrying the pool label, with its allocatable GPUs."""
        answer = self._call("list GPU nodes", self.core.list_node, label_selector=POOL_LABEL) or {}
        nodes = []
        for item in answer.get("items", []):
            node = _gpu_node(item)
            if node is not None:
                nodes.append(node)
        return sorted(nodes, key=lambda n: n.name)

    def node_address(self, name: str) -> str | None:
        """The node's ExternalIP, else its InternalIP; None if the node is gone."""
        item = self._call(f"read node {name}", self.core.read_node, name, ok=(404,))
        if item is None:
            return None
        external, internal = _addresses(item)
        return external or internal

    # -- namespaced objects -----------------------------------------------------------------

    def _method(
        self, resource: Resource, verb: Literal["create", "read", "delete", "list"]
    ) -> Callable[..., Any]:
        api, suffix = RESOURCES[resource]
        method: Callable[..., Any] = getattr(
            self.networking if api == "networking" else self.core, f"{verb}_namespaced_{suffix}"
        )
        return method

    def create(self, resource: Resource, namespace: str, body: Manifest) -> bool:
        """True if created, False if it already existed (409)."""
        what = f"create {_noun(resource)} {body['metadata']['name']}"
        return self._call(what, self._method(resource, "create"), namespace, body, ok=(409,)) is not None

    def read(self, resource: Resource, namespace: str, name: str) -> Manifest | None:
        """The object, None if there is none (404)."""
        return self._call(
            f"read {_noun(resource)} {name}", self._method(resource, "read"), name, namespace, ok=(404,)
        )

    def delete(self, resource: Resource, namespace: str, name: str) -> bool:
        """True if deleted, False if it was already gone (404)."""
        method = self._method(resource, "delete")
        return self._call(f"delete {_noun(resource)} {name}", method, name, namespace, ok=(404,)) is not None

    def list_labelled(self, resource: Resource, namespace: str, label_selector: str) -> list[Manifest]:
        """Every object of ``resource`` in ``namespace`` that ``label_selector`` selects."""
        method = self._method(resource, "list")
        answer = self._call(f"list {resource}", method, namespace, label_selector=label_selector) or {}
        items: list[Manifest] = answer.get("items", [])
        return items

    def patch_pod_annotations(self, namespace: str, name: str, annotations: dict[str, str | None]) -> bool:
        """Merge ``annotations`` into the pod's (None removes one). False if the pod is gone."""
        body = {"metadata": {"annotations": annotations}}
        method = self.core.patch_namespaced_pod
        return self._call(f"annotate pod {name}", method, name, namespace, body, ok=(404,)) is not None


def _noun(resource: Resource) -> str:
    """How a call's message names one object of ``resource``: "pod", "network policy"."""
    return RESOURCES[resource][1].replace("_", " ")


def _gpu_node(item: Manifest) -> GpuNode | None:
    metadata, spec, status = item.get("metadata", {}), item.get("spec", {}), item.get("status", {})
    pool = (metadata.get("labels") or {}).get(POOL_LABEL)
    if not pool or spec.get("unschedulable"):
        return None
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or []
    )
    if not ready:
        return None
    try:
        gpus = int((status.get("allocatable") or {}).get(GPU_RESOURCE, "0"))
    except ValueError:
        return None
    if gpus <= 0:
        return None
    external, internal = _addresses(item)
    return GpuNode(name=metadata["name"], pool=pool, gpus=gpus, external_ip=external, internal_ip=internal)


def _addresses(item: Manifest) -> tuple[str | None, str | None]:
    found = {a.get("type"): a.get("address") for a in (item.get("status") or {}).get("addresses") or []}
    return found.get("ExternalIP"), found.get("InternalIP")


def _reason(exc: client.ApiException) -> str:
    try:
        body = json.loads(exc.body or "{}")
        return str(body.get("reason") or body.get("message") or exc.reason or "")
    except (TypeError, ValueError):
        return str(exc.reason or "")
