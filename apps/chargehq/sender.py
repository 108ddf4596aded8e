"""Posting pushes to Charge HQ, paced so that no two requests are ever less than 30 s apart.

Charge HQ asks for at most one push every 30 s (60 s recommended) and documents nothing about
its answers, so: any 2xx is accepted (the body is never a condition), anything else is logged
with the status and a short preview, and failures back off exponentially up to 5 minutes.
The time of the last attempt is written to a small JSON file before each request, so that an
app restart (or a crash mid-request) cannot produce two requests closer than the minimum.
The API key is added to the body here and nowhere else, and is redacted from every message.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import requests

from apsystems.api.bounded_http import (
    DEFAULT_DEADLINE_S,
    MAX_DEADLINE_S,
    BoundedHttpError,
    bounded_request,
    insecure_url_warning,
    prepare_session,
)
from apsystems.common.json_file import load_json_object, write_json_atomic
from chargehq.config import DEFAULT_ENDPOINT, DEFAULT_PUSH_INTERVAL_S, MIN_PUSH_INTERVAL_S
from chargehq.errors import redact
from chargehq.payload import with_api_key

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 6.0
"""Below the 8 s total deadline: a silent Charge HQ is a ReadTimeout, a trickling one DeadlineExceeded."""
MIN_SPACING_S = MIN_PUSH_INTERVAL_S
MAX_BACKOFF_S = 300.0
MAX_BACKOFF_DOUBLINGS = 16
MAX_ANSWER_BYTES = 1024 * 1024
"""Charge HQ answers a few bytes; anything near a megabyte is not Charge HQ."""
PREVIEW_CHARS = 200
BODY_CHARS = 4000
STATE_VERSION = 1


def utc_now() -> datetime:
    """The default clock: now, aware, UTC."""
    return datetime.now(timezone.utc)


def preview(text: str, api_key: str | None, limit: int = PREVIEW_CHARS) -> str:
    """One line of at most ``limit`` characters of a response body, with the key redacted."""
    flat = " ".join(redact(text, api_key).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


@dataclass(frozen=True)
class SenderStatus:
    """The sender's part of ``sensor.chargehq_push_status``."""

    last_success: datetime | None
    last_attempt: datetime | None
    last_http_status: int | None
    consecutive_failures: int
    next_allowed: datetime | None
    last_error: str | None = None

    def as_attributes(self) -> dict[str, Any]:
        """HA attributes: times as ISO 8601 strings."""
        return {
            "last_success": _iso(self.last_success),
            "last_attempt": _iso(self.last_attempt),
            "last_http_status": self.last_http_status,
            "consecutive_failures": self.consecutive_failures,
            "next_push": _iso(self.next_allowed),
            "last_error": self.last_error,
        }


@dataclass(frozen=True)
class PushOutcome:
    """What happened to one call of ``Sender.push``."""

    attempted: bool
    """False when the pacing guard held the push back (nothing was sent)."""
    accepted: bool
    http_status: int | None
    body_preview: str
    error: str | None
    next_allowed: datetime
    body: str = ""
    """The response body (key redacted, at most BODY_CHARS characters), for the CLI."""


class Sender:
    """POSTs push bodies to Charge HQ with pacing, back-off and a persisted last-attempt time.

    ``clock`` returns aware datetimes; tests inject a fake one, so no test sleeps. ``logger``
    defaults to this module's; the AppDaemon app passes its own.
    """

    def __init__(
        self,
        api_key: str,
        *,
        endpoint: str = DEFAULT_ENDPOINT,
        push_interval_s: float = DEFAULT_PUSH_INTERVAL_S,
        state_path: str | os.PathLike[str] | None = None,
        clock: Clock = utc_now,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        read_timeout_s: float = READ_TIMEOUT_S,
        deadline_s: float = DEFAULT_DEADLINE_S,
        session: requests.Session | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        if not api_key:
            raise ValueError("an API key is required")
        if push_interval_s < MIN_PUSH_INTERVAL_S:
            raise ValueError(f"push_interval_s must be at least {MIN_PUSH_INTERVAL_S:g} s, not {push_interval_s:g}")
        if not 0 < connect_timeout_s <= CONNECT_TIMEOUT_S or not 0 < read_timeout_s <= READ_TIMEOUT_S:
            raise ValueError(f"timeouts must be in (0, {CONNECT_TIMEOUT_S:g}] s and (0, {READ_TIMEOUT_S:g}] s")
        if not 0 < deadline_s <= MAX_DEADLINE_S:
            raise ValueError(f"deadline_s must be in (0, {MAX_DEADLINE_S:g}] s, not {deadline_s:g}")
        self._api_key = api_key
        self.endpoint = endpoint
        self.push_interval_s = float(push_interval_s)
        self.state_path = Path(state_path) if state_path is not None else None
        self._clock = clock
        self._timeouts = (connect_timeout_s, read_timeout_s)
        self._session = None if session is None else prepare_session(session)
        self.deadline_s = deadline_s
        self._owns_session = session is None
        # An AppDaemon app passes its own logger so that failures appear in its log, not on stderr.
        self._log = logger if logger is not None else log
        self.last_attempt: datetime | None = None
        self.last_success: datetime | None = None
        self.last_http_status: int | None = None
        self.consecutive_failures = 0
        self.last_error: str | None = None
        warning = insecure_url_warning(endpoint, "Charge HQ endpoint")
        if warning:
            self._log.warning("%s (the API key is in every push)", warning)
        self._load_state()

    def __repr__(self) -> str:
        return f"Sender(endpoint={self.endpoint!r}, push_interval_s={self.push_interval_s:g})"

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("the sender's clock must return aware datetimes (e.g. datetime.now(timezone.utc))")
        return now

    # --- pacing -------------------------------------------------------------------------

    def current_interval_s(self) -> float:
        """The wait after the last attempt: the push interval, doubled per failure after the first, capped."""
        if self.consecutive_failures <= 1:
            return max(self.push_interval_s, MIN_SPACING_S)
        # The exponent is capped: 2.0 ** 1024 overflows (after ~3.5 days of failures), and 2 ** 16
        # already exceeds MAX_BACKOFF_S for any interval.
        backoff = self.push_interval_s * 2.0 ** min(self.consecutive_failures - 1, MAX_BACKOFF_DOUBLINGS)
        return max(self.push_interval_s, MIN_SPACING_S, min(backoff, MAX_BACKOFF_S))

    def next_allowed(self) -> datetime | None:
        """The earliest time the next request may go out; None when it may go now (never pushed)."""
        if self.last_attempt is None:
            return None
        return self.last_attempt + timedelta(seconds=self.current_interval_s())

    def seconds_until_allowed(self) -> float:
        """Seconds to wait before ``push`` will send (0 when due); for the app's scheduler."""
        now = self._now()
        if self.last_attempt is not None and self.last_attempt > now:
            # The clock went back: the last attempt was at the latest now; wait from here, not from the future.
            self.last_attempt = now
        allowed = self.next_allowed()
        if allowed is None:
            return 0.0
        return max(0.0, (allowed - now).total_seconds())

    def due(self) -> bool:
        """Whether ``push`` would send now."""
        return self.seconds_until_allowed() <= 0

    @property
    def status(self) -> SenderStatus:
        """The status-entity fields."""
        return SenderStatus(
            last_success=self.last_success,
            last_attempt=self.last_attempt,
            last_http_status=self.last_http_status,
            consecutive_failures=self.consecutive_failures,
            next_allowed=self.next_allowed(),
            last_error=self.last_error,
        )

    # --- sending ------------------------------------------------------------------------

    def push(self, body: Mapping[str, Any]) -> PushOutcome:
        """Send one push (``body`` without ``apiKey``) if the pacing allows; never raises on HTTP trouble."""
        now = self._now()
        wait = self.seconds_until_allowed()
        if wait > 0:
            allowed = self.next_allowed() or now
            self._log.debug("Charge HQ push held back for %.0f s (pacing)", wait)
            return PushOutcome(False, False, None, "", f"held back {wait:.0f} s by pacing", allowed)

        data = json.dumps(with_api_key(body, self._api_key), allow_nan=False, separators=(",", ":")).encode()
        # Record the attempt before sending: a restart mid-request must still wait.
        self.last_attempt = now
        self._save_state()
        status: int | None = None
        text = ""
        full_body = ""
        error: str | None = None
        try:
            response = bounded_request(
                self._get_session(),
                "POST",
                self.endpoint,
                data=data,
                headers={"Content-Type": "application/json"},
                timeout=self._timeouts,
                deadline_s=self.deadline_s,
                max_body_bytes=MAX_ANSWER_BYTES,
            )
            status = response.status
            text = preview(response.text, self._api_key)
            full_body = redact(response.text, self._api_key)[:BODY_CHARS]
        except (requests.RequestException, OSError, BoundedHttpError) as err:
            error = preview(f"{type(err).__name__}: {err}", self._api_key)

        accepted = status is not None and 200 <= status < 300
        self.last_http_status = status
        if accepted:
            if self.consecutive_failures:
                self._log.info(
                    "Charge HQ push accepted again (HTTP %s) after %d failures", status, self.consecutive_failures
                )
            else:
                self._log.debug("Charge HQ push accepted (HTTP %s)", status)
            self.consecutive_failures = 0
            self.last_success = now
            self.last_error = None
        else:
            self.consecutive_failures += 1
            if error is None:
                error = f"HTTP {status}: {text}" if text else f"HTTP {status}"
            self.last_error = error
            self._log.warning(
                "Charge HQ push failed (%s); failure %d in a row, next attempt in %.0f s",
                error,
                self.consecutive_failures,
                self.current_interval_s(),
            )
        self._save_state()
        return PushOutcome(True, accepted, status, text, error, self.next_allowed() or now, full_body)

    def _get_session(self) -> requests.Session:
        if self._session is None:
            self._session = prepare_session(None)
        return self._session

    def close(self) -> None:
        """Close the HTTP session this sender opened."""
        if self._session is not None and self._owns_session:
            self._session.close()
            self._session = None

    # --- persistence --------------------------------------------------------------------

    def _load_state(self) -> None:
        """Read the last attempt back; an unreadable file counts as an attempt just now (safe side)."""
        if self.state_path is None:
            return
        now = self._now()
        raw, unusable = load_json_object(self.state_path)  # a folder or a broken file is set aside, named
        try:
            if unusable is not None:
                raise ValueError(unusable)
            if raw is None:
                return
            attempt = _from_epoch(raw.get("last_attempt"))
            success = _from_epoch(raw.get("last_success"))
            http_status = raw.get("last_http_status")
            failures = raw.get("consecutive_failures", 0)
            if not isinstance(failures, int) or isinstance(failures, bool) or failures < 0:
                raise TypeError("consecutive_failures is not a count")
        except (ValueError, TypeError) as err:
            self._log.warning(
                "Charge HQ pacing state %s is unreadable (%s); waiting as if a push was just sent", self.state_path, err
            )
            self.last_attempt = now
            return
        if attempt is not None and attempt > now:
            # The clock went back: do not trust a future time to allow an early push, nor stall for long.
            attempt = now
        self.last_attempt = attempt
        self.last_success = success
        valid_status = isinstance(http_status, int) and not isinstance(http_status, bool)
        self.last_http_status = http_status if valid_status else None
        self.consecutive_failures = failures

    def _save_state(self) -> None:
        """Write the pacing state atomically (temporary file, then rename)."""
        if self.state_path is None:
            return
        state = {
            "version": STATE_VERSION,
            "last_attempt": _to_epoch(self.last_attempt),
            "last_success": _to_epoch(self.last_success),
            "last_http_status": self.last_http_status,
            "consecutive_failures": self.consecutive_failures,
        }
        try:
            write_json_atomic(self.state_path, state)
        except OSError as err:
            self._log.warning("cannot write Charge HQ pacing state %s: %s", self.state_path, err)


def _to_epoch(moment: datetime | None) -> float | None:
    return moment.timestamp() if moment is not None else None


def _from_epoch(value: object) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{value!r} is not a time")
    return datetime.fromtimestamp(float(value), timezone.utc)
