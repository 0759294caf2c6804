"""Only the run that started the local endpoint may use it: SigV4 verified for real, per-start credentials.

The endpoint runs whatever a job names (a processing job's ``ContainerEntrypoint``, a training script)
as the user who started it, and its port is easy to find. Without authentication any local user could
have made it run a command as that user. So each server start gets fresh credentials (handed to the
run's clients and Airflow connections, and written 0600 beside the server); every request must carry a
Signature Version 4 signature made with them. The server recomputes the signature from the request as
received - method, raw path, query, the signed headers, the payload hash - with botocore's own signer
classes and the known secret, and refuses anything else with ``AccessDenied`` before moto sees it.

Not supported (refused): unsigned requests, presigned URLs, other access keys, requests more than 15
minutes off the server's clock.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import io
import json
import re
import secrets
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

MAX_SKEW = dt.timedelta(minutes=15)
PROBE_HEADER = "X-Local-Aws-Probe"  # an unsigned readiness probe: refused like any other, not logged
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)"
    r"/aws4_request, ?SignedHeaders=(?P<headers>[a-z0-9;-]+), ?Signature=(?P<signature>[0-9a-f]{64})$"
)
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str

    @classmethod
    def generate(cls) -> Credentials:
        """Fresh credentials shaped like AWS's (a 20-character id, a 40-character secret)."""
        alphabet = string.ascii_uppercase + string.digits
        key_id = "LOCAL" + "".join(secrets.choice(alphabet) for _ in range(15))
        return cls(key_id, secrets.token_urlsafe(30)[:40])


def _header(environ: dict[str, Any], name: str) -> str | None:
    if name == "content-type":
        return environ.get("CONTENT_TYPE")
    if name == "content-length":
        return environ.get("CONTENT_LENGTH")
    return environ.get("HTTP_" + name.upper().replace("-", "_"))


def read_body(environ: dict[str, Any]) -> bytes:
    """The request body, read once and put back for moto."""
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    if length:
        body = stream.read(int(length))
    elif environ.get("wsgi.input_terminated"):
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def header_refusal(environ: dict[str, Any], credentials: Credentials, now: dt.datetime) -> str:
    """What is wrong with the request's headers alone, before its body is read (a stranger's upload is
    refused without being read into memory); ``""`` when the signature is worth checking."""
    authorization = _header(environ, "authorization")
    if not authorization:
        query = environ.get("QUERY_STRING", "")
        if "X-Amz-Signature=" in query or "Signature=" in query:
            return "presigned URLs are not accepted by the local endpoint"
        return "the request is not signed"
    match = _AUTHORIZATION.match(authorization)
    if not match:
        return "the Authorization header is not a Signature Version 4 signature"
    if not hmac.compare_digest(match["key"], credentials.access_key_id):
        return f"access key id {match['key']!r} is not the one this endpoint was started with"
    stamp = _header(environ, "x-amz-date") or ""
    try:
        when = dt.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        return "the request has no valid X-Amz-Date"
    if abs(now - when) > MAX_SKEW or stamp[:8] != match["date"]:
        return "the request time is more than 15 minutes off the endpoint's clock"
    return ""


def refusal(environ: dict[str, Any], credentials: Credentials, body: bytes, now: dt.datetime) -> str:
    """Why the request is refused, or ``""`` when it is signed with ``credentials``."""
    from botocore.auth import S3SigV4Auth, SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotoCredentials

    reason = header_refusal(environ, credentials, now)
    if reason:
        return reason
    match = _AUTHORIZATION.match(_header(environ, "authorization") or "")
    stamp = _header(environ, "x-amz-date") or ""
    signed = match["headers"].split(";")
    values = {name: _header(environ, name) for name in signed}
    if any(value is None for value in values.values()) or "host" not in values:
        return "a signed header is missing from the request"
    declared = values.get("x-amz-content-sha256")
    if declared is not None and _HEX64.fullmatch(declared) and declared != hashlib.sha256(body).hexdigest():
        return "the body does not match its signed SHA-256"
    raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")
    request = AWSRequest(method=environ["REQUEST_METHOD"], url=f"http://{values['host']}{raw_uri}", data=body)
    for name in signed:
        request.headers[name] = values[name]
    request.context["timestamp"] = stamp
    signer_class = S3SigV4Auth if match["service"] == "s3" else SigV4Auth
    signer = signer_class(
        BotoCredentials(credentials.access_key_id, credentials.secret_access_key),
        match["service"],
        match["region"],
    )
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    if not hmac.compare_digest(expected, match["signature"]):
        return "the signature does not match the request"
    return ""


def _denied(environ: dict[str, Any], reason: str) -> tuple[str, list[tuple[str, str]], bytes]:
    """AccessDenied in the error shape the calling client parses (JSON, S3's XML or the query XML)."""
    message = f"Access denied by the local endpoint: {reason}"
    headers = [("x-amzn-ErrorType", "AccessDenied")]
    content_type = environ.get("CONTENT_TYPE") or ""
    if environ.get("HTTP_X_AMZ_TARGET") or "json" in content_type:
        body = json.dumps({"__type": "AccessDenied", "message": message}).encode()
        return "403 Forbidden", [*headers, ("Content-Type", "application/x-amz-json-1.1")], body
    authorization = environ.get("HTTP_AUTHORIZATION") or ""
    if "/sts/" in authorization or "/iam/" in authorization or "Action=" in environ.get("QUERY_STRING", ""):
        xml = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>{message}</Message>"
        )
        xml += "</Error></ErrorResponse>"
    else:
        xml = f"<Error><Code>AccessDenied</Code><Message>{message}</Message></Error>"
    return "403 Forbidden", [*headers, ("Content-Type", "application/xml")], xml.encode()


class SignedRequestsOnly:
    """WSGI middleware: requests signed with the endpoint's credentials reach moto; others are refused."""

    def __init__(self, app: Callable[..., Iterable[bytes]], credentials: Credentials, log: Any):
        self.app = app
        self.credentials = credentials
        self.log = log

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        now = dt.datetime.now(dt.UTC)
        try:
            reason = header_refusal(environ, self.credentials, now)
            if not reason:
                reason = refusal(environ, self.credentials, read_body(environ), now)
        except Exception as exc:  # a request the verifier cannot even read is not a signed one
            reason = f"the request could not be verified ({type(exc).__name__})"
        if not reason:
            return self.app(environ, start_response)
        where = environ.get("REMOTE_ADDR", "?")
        if not environ.get("HTTP_" + PROBE_HEADER.upper().replace("-", "_")):  # the starter's readiness probe
            self.log.warning(
                "refused %s %s from %s: %s",
                environ["REQUEST_METHOD"],
                environ.get("PATH_INFO"),
                where,
                reason,
            )
        status, headers, payload = _denied(environ, reason)
        # An unread body must not be taken for the next request on this connection: close it.
        start_response(status, [*headers, ("Content-Length", str(len(payload))), ("Connection", "close")])
        return [payload]
