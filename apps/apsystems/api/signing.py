"""Request signing for the APsystems OpenAPI (EU manual §2.2).

The server recomputes an HMAC over a slash-joined string and answers code 4000 when it
differs, so every byte here matters; the reference's test vectors pin it down.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

SIGNATURE_METHODS: Mapping[str, Callable[..., object]] = {
    "HmacSHA256": hashlib.sha256,
    "HmacSHA1": hashlib.sha1,
}
DEFAULT_SIGNATURE_METHOD = "HmacSHA256"


def signing_segment(path: str) -> str:
    """The last concrete path segment, without the query: what the server signs."""
    only_path = urlsplit(path).path.rstrip("/")
    return only_path.rsplit("/", 1)[-1]


def string_to_sign(
    timestamp: str, nonce: str, app_id: str, segment: str, http_method: str, signature_method: str
) -> str:
    """Join the signed fields exactly as the manual prescribes."""
    return "/".join((timestamp, nonce, app_id, segment, http_method.upper(), signature_method))


def compute_signature(app_secret: str, message: str, signature_method: str = DEFAULT_SIGNATURE_METHOD) -> str:
    """Base64 of the raw HMAC digest of ``message`` keyed by the App Secret."""
    try:
        digest = SIGNATURE_METHODS[signature_method]
    except KeyError:
        known = ", ".join(SIGNATURE_METHODS)
        raise ValueError(f"unknown signature method {signature_method!r}; use one of {known}") from None
    mac = hmac.new(app_secret.encode("utf-8"), message.encode("utf-8"), digest)  # type: ignore[arg-type]
    return base64.b64encode(mac.digest()).decode("ascii")


def new_nonce() -> str:
    """A UUID4 as 32 lower-case hex characters, as every working client sends."""
    return uuid.uuid4().hex


def epoch_millis(clock: Callable[[], float] = time.time) -> str:
    """The request timestamp: Unix epoch milliseconds as a decimal string."""
    return str(int(clock() * 1000))


@dataclass(frozen=True)
class SignedHeaders:
    """The five X-CA-* headers; ``as_dict`` is what goes on the wire."""

    app_id: str
    timestamp: str
    nonce: str
    signature_method: str
    signature: str

    def as_dict(self) -> dict[str, str]:
        return {
            "X-CA-AppId": self.app_id,
            "X-CA-Timestamp": self.timestamp,
            "X-CA-Nonce": self.nonce,
            "X-CA-Signature-Method": self.signature_method,
            "X-CA-Signature": self.signature,
        }


def sign_request(
    app_id: str,
    app_secret: str,
    path: str,
    http_method: str = "GET",
    signature_method: str = DEFAULT_SIGNATURE_METHOD,
    *,
    segment: str | None = None,
    timestamp: str | None = None,
    nonce: str | None = None,
) -> SignedHeaders:
    """Sign one request; ``segment`` overrides the signed path segment for a route that needs it."""
    ts = timestamp if timestamp is not None else epoch_millis()
    nc = nonce if nonce is not None else new_nonce()
    seg = segment if segment is not None else signing_segment(path)
    message = string_to_sign(ts, nc, app_id, seg, http_method, signature_method)
    return SignedHeaders(app_id, ts, nc, signature_method, compute_signature(app_secret, message, signature_method))
