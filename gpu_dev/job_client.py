"""The job API as the CLI sees it: sign-in with the developer's AWS credentials (a SigV4-signed
sts:GetCallerIdentity the service forwards to STS), the API key cached until it expires, and the
HTTP calls. Failures become one-line :class:`CliError` messages.

The key cache is ``$XDG_CACHE_HOME/gpu-dev/job-api-<stage>.json`` (else ``~/.cache/...``),
mode 0600; it holds the key, the principal it was issued to and its expiry.
"""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gpu_dev.config import APP_DIR, write_atomically
from gpu_dev.errors import CliError, UsageError

STS_BODY = "Action=GetCallerIdentity&Version=2011-06-15"
EXPIRY_MARGIN = timedelta(minutes=2)  # sign in again this long before the key expires
RETRIES = 3  # connection failures; every call is safe to repeat (submit carries its idempotency key)


def cache_path(stage: str, env: Mapping[str, str]) -> Path:
    base = env.get("XDG_CACHE_HOME") or ""
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".cache"
    return root / APP_DIR / f"job-api-{stage}.json"


def sts_endpoint(region: str, env: Mapping[str, str]) -> str:
    return env.get("GPU_DEV_STS_ENDPOINT") or f"https://sts.{region}.amazonaws.com/"


def signed_caller_identity(credentials: Any, region: str, endpoint: str) -> dict[str, Any]:
    """A SigV4-signed GetCallerIdentity, as the body of ``POST /v1/auth/token``: the service
    forwards it to STS; the credentials themselves never leave this machine."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    request = AWSRequest(
        method="POST",
        url=endpoint,
        data=STS_BODY,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    SigV4Auth(credentials, "sts", region).add_auth(request)
    return {"method": "POST", "url": endpoint, "headers": dict(request.headers.items()), "body": STS_BODY}


@dataclass
class JobApi:
    url: str
    stage: str
    region: str
    env: Mapping[str, str]
    credentials: Callable[[], Any]  # botocore credentials, read only when a sign-in is needed

    @property
    def cache(self) -> Path:
        return cache_path(self.stage, self.env)

    def _context(self) -> ssl.SSLContext | None:
        if not self.url.startswith("https://"):
            return None
        return ssl.create_default_context(cafile=self.env.get("GPU_DEV_JOB_API_CA_BUNDLE") or None)

    # -- the key ----------------------------------------------------------------------------------

    def _cached_key(self) -> str | None:
        try:
            data = json.loads(self.cache.read_text())
            expires = datetime.fromisoformat(data["expires_at"])
            if data["url"] == self.url and expires - EXPIRY_MARGIN > datetime.now(UTC):
                return str(data["api_key"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
        return None

    def sign_in(self) -> str:
        credentials = self.credentials()
        if credentials is None:
            raise CliError(
                "no AWS credentials found: sign in to AWS first (e.g. `aws sso login`), then retry"
            )
        signed = signed_caller_identity(
            credentials.get_frozen_credentials(), self.region, sts_endpoint(self.region, self.env)
        )
        token = self._send("POST", "/v1/auth/token", signed, key=None)
        write_atomically(
            self.cache,
            json.dumps({"url": self.url, **{k: token[k] for k in ("api_key", "principal", "expires_at")}}),
        )
        return str(token["api_key"])

    # -- calls ------------------------------------------------------------------------------------

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        key = self._cached_key()
        if key is not None:
            try:
                return self._send(method, path, body, key=key, headers=headers)
            except _Unauthorized:
                pass  # revoked or expired early: sign in again, once
        return self._send(method, path, body, key=self.sign_in(), headers=headers)

    def stream(self, path: str) -> Iterator[bytes]:
        key = self._cached_key() or self.sign_in()
        response = self._open("GET", path, None, key=key, headers=None)
        with response:
            while chunk := response.read1(4096):
                yield chunk

    def _send(
        self, method: str, path: str, body: Any, *, key: str | None, headers: dict[str, str] | None = None
    ) -> Any:
        with self._open(method, path, body, key=key, headers=headers) as response:
            return json.loads(response.read() or b"null")

    def _open(
        self, method: str, path: str, body: Any, *, key: str | None, headers: dict[str, str] | None
    ) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url.rstrip("/") + path, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if key is not None:
            request.add_header("Authorization", f"Bearer {key}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        for attempt in range(1, RETRIES + 1):
            try:
                return urllib.request.urlopen(request, timeout=30, context=self._context())
            except urllib.error.HTTPError as exc:
                detail = _detail(exc)
                if exc.code == 401 and key is not None:
                    raise _Unauthorized(detail) from None
                if exc.code in (502, 503, 504) and attempt < RETRIES:
                    time.sleep(attempt)
                    continue
                error = UsageError if exc.code in (400, 404, 409, 422) else CliError
                raise error(f"the job API refused {method} {path} ({exc.code}): {detail}") from None
            except (urllib.error.URLError, OSError) as exc:
                if attempt < RETRIES:
                    time.sleep(attempt)
                    continue
                reason = getattr(exc, "reason", exc)
                raise CliError(f"cannot reach the job API at {self.url}: {reason}") from None
        raise AssertionError("unreachable")


class _Unauthorized(CliError):
    pass


def _detail(exc: urllib.error.HTTPError) -> str:
    try:
        detail = json.loads(exc.read() or b"{}").get("detail")
    except (ValueError, AttributeError):
        return exc.reason or ""
    if isinstance(detail, list):  # FastAPI's validation errors
        return "; ".join(f"{'.'.join(str(p) for p in d.get('loc', [])[1:])}: {d.get('msg')}" for d in detail)
    return str(detail or exc.reason)


def api_url(option: str | None, env: Mapping[str, str], configured: str | None) -> str:
    url = option or env.get("GPU_DEV_JOB_API_URL") or configured
    if not url:
        raise UsageError(
            "the job API's address is not set: pass --api-url, set GPU_DEV_JOB_API_URL, or "
            "gpu-dev config set job_api_url https://..."
        )
    if not url.startswith(("https://", "http://")):
        raise UsageError(f"job API address {url!r} must start with https:// (or http:// for a local run)")
    return url
