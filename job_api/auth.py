"""Sign-in: a developer proves an IAM identity by handing over a signed ``sts:GetCallerIdentity``
request (SigV4, as aws-iam-authenticator and Vault's AWS auth method do) without handing over
credentials. The service checks the request is exactly that call, for this stage's region, fresh
and not seen before, forwards it to that region's STS endpoint only, and reads the caller's ARN
from the answer. The ARN must be an allowed principal (an IAM role, whose assumed-role sessions
all count, or an IAM user).

Every refusal is a :class:`~job_api.errors.Refused` with an HTTP status and a message saying what to do.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit
from xml.etree import ElementTree

from job_api.errors import Refused

MAX_AGE = timedelta(minutes=15)  # STS's own window for a SigV4 request
MAX_SKEW = timedelta(minutes=5)  # a clock this far ahead is refused too
ALLOWED_HEADERS = {
    "authorization",
    "content-type",
    "content-length",
    "host",
    "user-agent",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
}
_CREDENTIAL = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[A-Z0-9]+)/(?P<date>\d{8})/(?P<region>[a-z0-9-]+)/"
    r"(?P<service>[a-z0-9]+)/aws4_request, ?SignedHeaders=(?P<signed>[a-z0-9;-]+), ?"
    r"Signature=(?P<signature>[0-9a-f]{64})$"
)
_ASSUMED = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):sts::(?P<account>\d{12}):assumed-role/(?P<role>[^/]+)/.+$"
)
_IAM = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):iam::(?P<account>\d{12}):(?P<kind>role|user)/(?P<path>.+)$"
)
_NS = "{https://sts.amazonaws.com/doc/2011-06-15/}"


@dataclass(frozen=True)
class SignedCall:
    """What the client sent, checked: ready to forward."""

    url: str
    headers: dict[str, str]
    body: str
    signature: str
    signed_at: datetime


def check_request(
    method: str,
    url: str,
    headers: dict[str, str],
    body: str,
    *,
    endpoint: str,
    region: str,
    now: datetime,
) -> SignedCall:
    """Refuse anything but a fresh, SigV4-signed GetCallerIdentity for ``endpoint``/``region``."""
    if method.upper() != "POST":
        raise Refused(400, f"the signed request must be a POST to STS, not {method!r}")
    if _normal(url) != _normal(endpoint):
        host = urlsplit(url).hostname or url
        raise Refused(
            400,
            f"the request is signed for {host}; this service accepts only {urlsplit(endpoint).hostname} "
            f"(STS of region {region}): sign it for that region",
        )
    lowered = {name.lower(): value for name, value in headers.items()}
    unknown = sorted(set(lowered) - ALLOWED_HEADERS)
    if unknown:
        raise Refused(400, f"header(s) {', '.join(unknown)} are not accepted in the signed request")
    form = parse_qsl(body, keep_blank_values=True)
    if sorted(form) != [("Action", "GetCallerIdentity"), ("Version", "2011-06-15")]:
        raise Refused(400, "the signed body must be exactly Action=GetCallerIdentity&Version=2011-06-15")
    match = _CREDENTIAL.match(lowered.get("authorization", ""))
    if not match:
        raise Refused(400, "the Authorization header is not an AWS4-HMAC-SHA256 signature")
    if match["service"] != "sts":
        raise Refused(400, f"the request is signed for service {match['service']!r}, not 'sts'")
    if match["region"] != region:
        raise Refused(
            400, f"the request is signed for region {match['region']}; this stage's STS region is {region}"
        )
    signed = set(match["signed"].split(";"))
    if not {"host", "x-amz-date"} <= signed:
        raise Refused(400, "the signature must cover the host and x-amz-date headers")
    try:
        signed_at = datetime.strptime(lowered.get("x-amz-date", ""), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise Refused(400, "X-Amz-Date is missing or not of the form YYYYMMDDTHHMMSSZ") from None
    if now - signed_at > MAX_AGE:
        age = int((now - signed_at).total_seconds() // 60)
        raise Refused(401, f"the signature expired: signed {age} minutes ago, the limit is 15; sign again")
    if signed_at - now > MAX_SKEW:
        raise Refused(401, "X-Amz-Date is more than 5 minutes in the future: check your clock")
    return SignedCall(endpoint, {k: v for k, v in headers.items()}, body, match["signature"], signed_at)


def _normal(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{(parts.netloc or '').lower()}{parts.path or '/'}"


def forward(call: SignedCall, timeout: float = 10.0) -> str:
    """Send the signed request to STS and return the caller's ARN."""
    request = urllib.request.Request(call.url, data=call.body.encode(), method="POST")
    for name, value in call.headers.items():
        if name.lower() not in ("content-length",):
            request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read().decode()
    except urllib.error.HTTPError as exc:
        detail = _error(exc.read().decode(errors="replace"))
        if exc.code in (400, 403):
            raise Refused(401, f"STS refused the signed request: {detail}") from None
        raise Refused(502, f"STS answered {exc.code}: {detail}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise Refused(502, f"STS could not be reached: {exc}") from None
    try:
        arn = ElementTree.fromstring(text).findtext(f".//{_NS}Arn")
    except ElementTree.ParseError:
        arn = None
    if not arn:
        raise Refused(502, "STS's answer carries no caller ARN")
    return arn


def _error(text: str) -> str:
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError:
        return text[:200]
    code = root.findtext(f".//{_NS}Code") or root.findtext(".//Code") or ""
    message = root.findtext(f".//{_NS}Message") or root.findtext(".//Message") or ""
    return f"{code}: {message}".strip(": ") or text[:200]


def principal_matches(caller: str, allowed: str) -> bool:
    """``caller`` (an STS caller ARN) is ``allowed`` (an IAM role or user ARN): the same user, or
    a session of the same role (an assumed-role ARN carries the role's name, not its path)."""
    if caller == allowed:
        return True
    want = _IAM.match(allowed)
    got = _ASSUMED.match(caller)
    if not want or not got or want["kind"] != "role":
        return False
    return (got["partition"], got["account"], got["role"]) == (
        want["partition"],
        want["account"],
        want["path"].rsplit("/", 1)[-1],
    )


def allowed(caller: str, principals: list[str]) -> bool:
    return any(principal_matches(caller, candidate) for candidate in principals)


def utcnow() -> datetime:
    return datetime.now(UTC)
