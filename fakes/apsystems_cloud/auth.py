"""Server-side request authentication, written independently of the client's signing code.

Deliberately does not import ``apsystems.api.signing``: if both sides shared one bug, the
tests would pass against the fake and fail against the real cloud.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

HEADER_APP_ID = "x-ca-appid"
HEADER_TIMESTAMP = "x-ca-timestamp"
HEADER_NONCE = "x-ca-nonce"
HEADER_METHOD = "x-ca-signature-method"
HEADER_SIGNATURE = "x-ca-signature"
REQUIRED_HEADERS = (HEADER_APP_ID, HEADER_TIMESTAMP, HEADER_NONCE, HEADER_METHOD, HEADER_SIGNATURE)

DIGESTS: dict[str, Callable[..., Any]] = {"HmacSHA256": hashlib.sha256, "HmacSHA1": hashlib.sha1}

OK = 0
BAD_REQUEST = 4000
UNKNOWN_APP = 2001


def last_path_segment(path: str) -> str:
    """What the server signs: the final segment of the path, query dropped."""
    segments = [s for s in urlsplit(path).path.split("/") if s]
    return segments[-1] if segments else ""


def expected_signature(
    secret: str, timestamp: str, nonce: str, app_id: str, segment: str, http_method: str, signature_method: str
) -> str | None:
    """Base64(HMAC(secret, 'ts/nonce/appId/segment/METHOD/signatureMethod')); None for an unknown method."""
    digest = DIGESTS.get(signature_method)
    if digest is None:
        return None
    message = f"{timestamp}/{nonce}/{app_id}/{segment}/{http_method.upper()}/{signature_method}"
    raw = hmac.new(secret.encode("utf-8"), message.encode("utf-8"), digest).digest()
    return base64.b64encode(raw).decode("ascii")


@dataclass(frozen=True)
class AuthOutcome:
    """0 when the request may proceed, else the API code to answer; ``reason`` is for the log."""

    code: int
    app_id: str | None
    reason: str = ""


class Authenticator:
    """Checks the five X-CA-* headers against the known App IDs."""

    def __init__(
        self,
        credentials: Mapping[str, str],
        *,
        skew_tolerance_s: float | None = None,
        reject_replayed_nonces: bool = False,
        nonce_ttl_s: float = 900.0,
    ) -> None:
        self._lock = threading.Lock()
        self.credentials: dict[str, str] = dict(credentials)
        self.skew_tolerance_s = skew_tolerance_s
        self.reject_replayed_nonces = reject_replayed_nonces
        self.nonce_ttl_s = nonce_ttl_s
        self._nonces: dict[tuple[str, str], float] = {}

    def add(self, app_id: str, secret: str) -> None:
        with self._lock:
            self.credentials[app_id] = secret

    def remove(self, app_id: str) -> None:
        with self._lock:
            self.credentials.pop(app_id, None)

    def forget_nonces(self) -> None:
        with self._lock:
            self._nonces.clear()

    def check(self, headers: Mapping[str, str], http_method: str, path: str, now_epoch: float) -> AuthOutcome:
        """``headers`` keys must be lower-case. Checks run in the order a real gateway would."""
        values = {h: headers.get(h, "").strip() for h in REQUIRED_HEADERS}
        app_id = values[HEADER_APP_ID] or None
        missing = [h for h, v in values.items() if not v]
        if missing or app_id is None:
            return AuthOutcome(BAD_REQUEST, app_id, "missing " + ", ".join(missing))
        with self._lock:
            secret = self.credentials.get(app_id)
        if secret is None:
            return AuthOutcome(UNKNOWN_APP, app_id, "unknown App ID")
        reason = (
            self._signature_problem(values, secret, http_method, path)
            or self._skew_problem(values[HEADER_TIMESTAMP], now_epoch)
            or self._replay_problem(app_id, values[HEADER_NONCE], now_epoch)
        )
        return AuthOutcome(BAD_REQUEST, app_id, reason) if reason else AuthOutcome(OK, app_id)

    @staticmethod
    def _signature_problem(values: Mapping[str, str], secret: str, http_method: str, path: str) -> str | None:
        wanted = expected_signature(
            secret,
            values[HEADER_TIMESTAMP],
            values[HEADER_NONCE],
            values[HEADER_APP_ID],
            last_path_segment(path),
            http_method,
            values[HEADER_METHOD],
        )
        if wanted is None:
            return f"unknown signature method {values[HEADER_METHOD]!r}"
        if not hmac.compare_digest(wanted.encode("ascii"), values[HEADER_SIGNATURE].encode("utf-8", "replace")):
            return "signature mismatch"
        return None

    def _skew_problem(self, timestamp: str, now_epoch: float) -> str | None:
        if self.skew_tolerance_s is None:
            return None
        try:
            sent = int(timestamp) / 1000.0
        except ValueError:
            return "timestamp is not epoch milliseconds"
        if abs(sent - now_epoch) > self.skew_tolerance_s:
            return f"clock skew {sent - now_epoch:+.0f}s"
        return None

    def _replay_problem(self, app_id: str, nonce: str, now_epoch: float) -> str | None:
        if not self.reject_replayed_nonces:
            return None
        key = (app_id, nonce)
        with self._lock:
            horizon = now_epoch - max(self.nonce_ttl_s, self.skew_tolerance_s or 0.0)
            for old in [k for k, seen in self._nonces.items() if seen < horizon]:
                del self._nonces[old]
            if key in self._nonces:
                return "nonce replayed"
            self._nonces[key] = now_epoch
        return None
