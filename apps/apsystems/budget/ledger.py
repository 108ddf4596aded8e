"""The API-call ledger: calls actually sent, per App ID and calendar month, kept on disk.

The quota is counted by the server, which tells us nothing until it answers 2005; so we
count every request the client sends (through its call hook) and must not forget the count
when AppDaemon restarts. AppDaemon 4.5.13's namespace persistence is unreliable, hence a
small JSON file written atomically. After a 2005 answer all calls for that App ID stop until
the month rolls over, except one probe a day that would notice an earlier reset.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any, Protocol

from apsystems.api.errors import NO_DATA_CODE, QUOTA_CODE
from apsystems.common.json_file import read_json_object, write_json_atomic
from apsystems.common.months import month_bounds, month_key, next_month_key, require_aware, zone

_LOGGER = logging.getLogger(__name__)

FILE_VERSION = 1
# Answers that prove the App ID may call again (data, or "no data" for a valid request).
SUCCESS_CODES = frozenset({0, NO_DATA_CODE})
# A probe that succeeds this close to our month end means the server's month (whose time
# zone is undocumented) has already rolled: the new count belongs to the next month.
DEFAULT_EARLY_RESET_WINDOW = timedelta(hours=48)


class SentRequest(Protocol):
    """What the ledger needs from the client's per-request record."""

    @property
    def sent_at(self) -> float: ...

    @property
    def code(self) -> int | None: ...


@dataclass(frozen=True)
class LedgerStatus:
    """One App ID's ledger as seen at ``now``: what the gate and the sensor need."""

    app_id: str
    month: str
    used: int
    last_month: str | None
    last_month_used: int | None
    exhausted: bool
    exhausted_at: datetime | None
    last_probe_at: datetime | None
    probe_allowed: bool
    last_call_at: datetime | None
    last_code: int | None
    last_error_code: int | None


@dataclass(frozen=True)
class _Entry:
    month: str
    used: int = 0
    last_month: str | None = None
    last_month_used: int | None = None
    exhausted_at: datetime | None = None
    last_probe_at: datetime | None = None
    last_call_at: datetime | None = None
    last_code: int | None = None
    last_error_code: int | None = None

    def rolled_to(self, key: str) -> _Entry:
        """This entry in the later month ``key``: count from zero, lock lifted."""
        return _Entry(
            month=key,
            last_month=self.month,
            last_month_used=self.used,
            last_call_at=self.last_call_at,
            last_code=self.last_code,
            last_error_code=self.last_error_code,
        )


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(timezone.utc).isoformat()


def _from_iso(value: Any, name: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name} is not a string")
    return require_aware(datetime.fromisoformat(value), name)


def _opt_int(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} is not an integer")
    return value


def _entry_to_json(entry: _Entry) -> dict[str, Any]:
    return {
        "month": entry.month,
        "used": entry.used,
        "last_month": entry.last_month,
        "last_month_used": entry.last_month_used,
        "exhausted_at": _iso(entry.exhausted_at),
        "last_probe_at": _iso(entry.last_probe_at),
        "last_call_at": _iso(entry.last_call_at),
        "last_code": entry.last_code,
        "last_error_code": entry.last_error_code,
    }


def _entry_from_json(raw: Any) -> _Entry:
    if not isinstance(raw, dict):
        raise ValueError("entry is not an object")
    month = raw.get("month")
    if not isinstance(month, str) or len(month) != 7 or month[4] != "-":
        raise ValueError(f"month {month!r} is not YYYY-MM")
    used = _opt_int(raw.get("used"), "used")
    if used is None or used < 0:
        raise ValueError(f"used {used!r} is not a count")
    last_month = raw.get("last_month")
    if last_month is not None and not isinstance(last_month, str):
        raise ValueError("last_month is not a string")
    return _Entry(
        month=month,
        used=used,
        last_month=last_month,
        last_month_used=_opt_int(raw.get("last_month_used"), "last_month_used"),
        exhausted_at=_from_iso(raw.get("exhausted_at"), "exhausted_at"),
        last_probe_at=_from_iso(raw.get("last_probe_at"), "last_probe_at"),
        last_call_at=_from_iso(raw.get("last_call_at"), "last_call_at"),
        last_code=_opt_int(raw.get("last_code"), "last_code"),
        last_error_code=_opt_int(raw.get("last_error_code"), "last_error_code"),
    )


class CallLedger:
    """Calls sent per App ID per month (month boundary in ``month_tz``), persisted to ``path``.

    ``path=None`` keeps the ledger in memory (simulations, tests). All methods are
    thread-safe; ``hold()`` lets a caller check the gate and send under the same lock.
    """

    def __init__(
        self,
        path: str | Path | None,
        month_tz: str | tzinfo = "UTC",
        *,
        early_reset_window: timedelta = DEFAULT_EARLY_RESET_WINDOW,
    ) -> None:
        self.path = None if path is None else Path(path)
        self.month_tz = zone(month_tz)
        if early_reset_window < timedelta(0):
            raise ValueError(f"early_reset_window {early_reset_window} must not be negative")
        self.early_reset_window = early_reset_window
        self._lock = threading.RLock()
        self._entries: dict[str, _Entry] = {}
        self._load()

    # ---- persistence -----------------------------------------------------------------------

    def _load(self) -> None:
        if self.path is None:
            return
        data = read_json_object(self.path)  # sets a syntactically corrupt file aside itself
        if data is None:
            _LOGGER.info("API-call ledger %s not found (or set aside); starting a new one", self.path)
            return
        try:
            if data.get("version") != FILE_VERSION:
                raise ValueError(f"version {data.get('version')!r} is not {FILE_VERSION}")
            app_ids = data.get("app_ids")
            if not isinstance(app_ids, dict):
                raise ValueError("app_ids is not an object")
            entries = {str(app_id): _entry_from_json(raw) for app_id, raw in app_ids.items()}
        except ValueError as exc:
            aside = self.path.with_name(self.path.name + ".corrupt")
            os.replace(self.path, aside)
            _LOGGER.error("API-call ledger %s is invalid (%s); kept it as %s and started afresh", self.path, exc, aside)
            return
        self._entries = entries
        _LOGGER.debug("API-call ledger loaded from %s: %s", self.path, {k: v.used for k, v in entries.items()})

    def _save(self) -> None:
        if self.path is None:
            return
        data = {
            "version": FILE_VERSION,
            "month_tz": str(self.month_tz),
            "app_ids": {app_id: _entry_to_json(entry) for app_id, entry in sorted(self._entries.items())},
        }
        try:
            write_json_atomic(self.path, data)
        except OSError:  # keep counting in memory; the next record tries again
            _LOGGER.exception("Could not write the API-call ledger %s", self.path)

    # ---- state ---------------------------------------------------------------------------

    def _local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.month_tz).date()

    def _current(self, app_id: str, now: datetime) -> _Entry:
        """The entry for ``now``'s month; a later month starts from zero (never rolls back)."""
        key = month_key(now, self.month_tz)
        entry = self._entries.get(app_id)
        if entry is None:
            return _Entry(month=key)
        if entry.month < key:
            return entry.rolled_to(key)
        return entry  # same month, or a month adopted early after the server reset first

    def _status(self, app_id: str, entry: _Entry, now: datetime) -> LedgerStatus:
        exhausted = entry.exhausted_at is not None
        probe_allowed = False
        if entry.exhausted_at is not None:
            today = self._local_date(now)
            probed_today = entry.last_probe_at is not None and self._local_date(entry.last_probe_at) == today
            probe_allowed = self._local_date(entry.exhausted_at) != today and not probed_today
        return LedgerStatus(
            app_id=app_id,
            month=entry.month,
            used=entry.used,
            last_month=entry.last_month,
            last_month_used=entry.last_month_used,
            exhausted=exhausted,
            exhausted_at=entry.exhausted_at,
            last_probe_at=entry.last_probe_at,
            probe_allowed=probe_allowed,
            last_call_at=entry.last_call_at,
            last_code=entry.last_code,
            last_error_code=entry.last_error_code,
        )

    def _apply_code(self, entry: _Entry, now: datetime, code: int | None, sent: int) -> _Entry:
        if code is None:
            return entry
        entry = replace(entry, last_code=code)
        if code not in SUCCESS_CODES:
            entry = replace(entry, last_error_code=code)
        if code == QUOTA_CODE:
            if entry.exhausted_at is None:
                _LOGGER.warning(
                    "APsystems reported 2005 (quota exhausted) in %s after %d calls", entry.month, entry.used
                )
                entry = replace(entry, exhausted_at=now)
        elif code in SUCCESS_CODES and entry.exhausted_at is not None:
            entry = self._reset_seen(entry, now, sent)
        return entry

    def _reset_seen(self, entry: _Entry, now: datetime, sent: int) -> _Entry:
        """A call succeeded after 2005: the server's counter was reset before our month end."""
        _, month_end = month_bounds(now, self.month_tz)
        if month_end - now <= self.early_reset_window and entry.month == month_key(now, self.month_tz):
            # The call that proved it is the first of the new month.
            _LOGGER.info("Quota reset seen %s before our month end; counting into the next month", month_end - now)
            adopted = entry.rolled_to(next_month_key(entry.month))
            return replace(adopted, used=sent, last_month_used=entry.used - sent, last_call_at=now)
        _LOGGER.info("A call succeeded after 2005 in %s; calls resume, the count is kept", entry.month)
        return replace(entry, exhausted_at=None, last_probe_at=None)

    # ---- public API ---------------------------------------------------------------------------

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Hold the ledger lock (re-entrant) so that checking the gate and sending is atomic."""
        with self._lock:
            yield

    def status(self, app_id: str, now: datetime) -> LedgerStatus:
        """The ledger for ``app_id`` at ``now`` (a new month reads as zero used)."""
        require_aware(now)
        with self._lock:
            return self._status(app_id, self._current(app_id, now), now)

    def used(self, app_id: str, now: datetime) -> int:
        return self.status(app_id, now).used

    def record(self, app_id: str, now: datetime, *, code: int | None = None, count: int = 1) -> LedgerStatus:
        """Count ``count`` calls sent at ``now``; ``code`` is the envelope's code if one came back.

        A call sent while the App ID is locked after 2005 is that day's probe.
        """
        require_aware(now)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"count {count!r} must be a positive integer")
        with self._lock:
            entry = self._current(app_id, now)
            if entry.exhausted_at is not None:
                entry = replace(entry, last_probe_at=now)
            entry = replace(entry, used=entry.used + count, last_call_at=now)
            entry = self._apply_code(entry, now, code, count)
            self._entries[app_id] = entry
            self._save()
            return self._status(app_id, entry, now)

    def report_code(self, app_id: str, now: datetime, code: int) -> LedgerStatus:
        """Note an answer's code without counting a call (when the count was recorded at send)."""
        require_aware(now)
        with self._lock:
            entry = self._apply_code(self._current(app_id, now), now, code, 0)
            self._entries[app_id] = entry
            self._save()
            return self._status(app_id, entry, now)

    def mark_exhausted(self, app_id: str, now: datetime) -> LedgerStatus:
        """The server said 2005: stop this App ID's calls until the month rolls over."""
        return self.report_code(app_id, now, QUOTA_CODE)

    def call_hook(self, app_id: str) -> Callable[[SentRequest], None]:
        """A client ``on_request`` hook that records every request sent for ``app_id``."""

        def hook(request: SentRequest) -> None:
            sent = datetime.fromtimestamp(request.sent_at, timezone.utc)
            self.record(app_id, sent, code=request.code)

        return hook
