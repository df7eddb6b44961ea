"""The Kubernetes calls of the API and the dispatcher, on the official client, answering plain
dicts (``_preload_content=False``: no model objects to build for a list of Jobs)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

from kubernetes import client, config
from kubernetes.client.rest import ApiException

from job_api.manifests import MANAGED_BY

JOB_NAME_LABEL = "batch.kubernetes.io/job-name"  # set on a Job's pods by the Job controller
TIMEOUT = (5, 15)  # connect, read seconds


class KubeError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(f"Kubernetes API {status}: {message}")
        self.status = status


def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        response = fn(*args, _preload_content=False, _request_timeout=TIMEOUT, **kwargs)
    except ApiException as exc:
        message = exc.reason or ""
        with contextlib.suppress(ValueError):
            message = json.loads(exc.body or "{}").get("message", message)
        raise KubeError(int(exc.status or 0), str(message)) from None
    except OSError as exc:  # urllib3's connection errors
        raise KubeError(0, str(exc)) from None
    except Exception as exc:  # urllib3 raises its own (MaxRetryError, ...) for an unreachable API
        if type(exc).__module__.startswith("urllib3"):
            raise KubeError(0, str(exc)) from None
        raise
    return response


class Kube:
    def __init__(self, api: client.ApiClient):
        self.api = api
        self.batch = client.BatchV1Api(api)
        self.core = client.CoreV1Api(api)

    @classmethod
    def connect(cls, host: str | None = None) -> Kube:
        """In-cluster (the pod's service account) unless ``host`` (tests: the fake API)."""
        if host is None:
            config.load_incluster_config()
            return cls(client.ApiClient())
        configuration = client.Configuration()
        configuration.host = host
        configuration.retries = 1
        return cls(client.ApiClient(configuration))

    def _json(self, fn: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(_call(fn, *args, **kwargs).data)
        return data

    def create_job(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._json(self.batch.create_namespaced_job, body["metadata"]["namespace"], body)

    def read_job(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            return self._json(self.batch.read_namespaced_job, name, namespace)
        except KubeError as exc:
            if exc.status == 404:
                return None
            raise

    def managed_jobs(self, namespace: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self._json(
            self.batch.list_namespaced_job,
            namespace,
            label_selector=f"app.kubernetes.io/managed-by={MANAGED_BY}",
        )["items"]
        return items

    def delete_job(self, namespace: str, name: str) -> bool:
        """Delete the Job and (in the background) its pods; False if it was already gone."""
        try:
            _call(self.batch.delete_namespaced_job, name, namespace, propagation_policy="Background")
        except KubeError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def ping(self, namespace: str) -> None:
        _call(self.batch.list_namespaced_job, namespace, limit=1)

    def job_pod(self, namespace: str, job: str) -> str | None:
        pods = self._json(self.core.list_namespaced_pod, namespace, label_selector=f"{JOB_NAME_LABEL}={job}")
        items = sorted(pods["items"], key=lambda p: p["metadata"].get("creationTimestamp") or "")
        return items[-1]["metadata"]["name"] if items else None

    def logs(self, namespace: str, pod: str, *, follow: bool, tail_lines: int | None) -> Iterator[bytes]:
        kwargs: dict[str, Any] = {"follow": follow}
        if tail_lines is not None:
            kwargs["tail_lines"] = tail_lines
        try:
            response = self.core.read_namespaced_pod_log(
                pod, namespace, _preload_content=False, _request_timeout=(5, None if follow else 30), **kwargs
            )
        except ApiException as exc:
            raise KubeError(int(exc.status or 0), exc.reason or "") from None
        try:
            yield from response.stream(4096)
        finally:
            response.release_conn()
