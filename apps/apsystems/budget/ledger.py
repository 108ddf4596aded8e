"""The API-call ledger: calls actually sent, per App ID and calendar month, kept on disk.

The quota is counted by the server, which tells us nothing until it answers 2005; so we
count every request the client sends (through its call hook) and must not forget the count
when AppDaemon restarts. AppDaemon 4.5.13's namespace persistence is unreliable, hence a
small JSON file written atomically. After a 2005 answer all calls for that App ID stop until
the month rolls over, except one probe a day that would notice an earlier reset.

The ledger fails closed: a second copy is written in place into reserved space (so it still
works on a full disk) and the larger count of the two wins; an unreadable copy is set aside
(numbered, never overwritten) and never lowers the count; when neither copy can be trusted,
calls stop until a probe answers without 2005, or until the app supplies a floor (the last
count it published). Every such event goes to the log and to ``on_problem``, for a notification.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any, Protocol

from apsystems.api.errors import NO_DATA_CODE, QUOTA_CODE
from apsystems.common.json_file import load_json_object, set_aside, write_json_atomic
from apsystems.common.months import month_bounds, month_key, next_month_key, require_aware, zone
from apsystems.common.slot_file import write_slot

_LOGGER = logging.getLogger(__name__)

FILE_VERSION = 1
# Answers that prove the App ID may call again (data, or "no data" for a valid request).
SUCCESS_CODES = frozenset({0, NO_DATA_CODE})
# A probe that succeeds this close to our month end means the server's month (whose time
# zone is undocumented) has already rolled: the new count belongs to the next month.
DEFAULT_EARLY_RESET_WINDOW = timedelta(hours=48)
JOURNAL_SUFFIX = ".journal"
SAVE_ATTEMPTS = 2
# With no trustworthy count, one probe an hour until one answers (without 2005 or with it).
UNVERIFIED_PROBE_SPACING = timedelta(hours=1)
_PENDING = "pending"  # the month of an untrusted load, fixed at the first ``now`` the ledger sees


@dataclass(frozen=True)
class LedgerProblem:
    """Something about the ledger the user should hear of (the app raises a persistent notification).

    ``kind``: ``restored`` (a copy was unreadable, the other one used), ``unverified`` (nothing
    could be trusted), ``write_failed`` and ``write_recovered``.
    """

    kind: str
    message: str


ProblemCallback = Callable[[LedgerProblem], None]


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
    unverified: bool = False
    """The count could not be trusted: calls stop (``exhausted``) until a probe or a floor."""


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
    needs_probe: bool = False

    def rolled_to(self, key: str) -> _Entry:
        """This entry in the later month ``key``: count from zero, lock lifted, the last call remembered."""
        return replace(
            self,
            month=key,
            used=0,
            last_month=self.month,
            last_month_used=self.used,
            exhausted_at=None,
            last_probe_at=None,
            needs_probe=False,
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
        "needs_probe": entry.needs_probe,
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
    needs_probe = raw.get("needs_probe", False)
    if not isinstance(needs_probe, bool):
        raise ValueError("needs_probe is not true or false")
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
        needs_probe=needs_probe,
    )


def _larger(first: _Entry, second: _Entry | None) -> _Entry:
    """Of two copies of one App ID's entry, the later month, else the larger count (fail closed)."""
    if second is None:
        return first
    if first.month != second.month:
        return first if first.month > second.month else second
    return first if first.used >= second.used else second


def _parse_file(data: dict[str, Any]) -> tuple[dict[str, _Entry], str | None]:
    if data.get("version") != FILE_VERSION:
        raise ValueError(f"version {data.get('version')!r} is not {FILE_VERSION}")
    app_ids = data.get("app_ids")
    if not isinstance(app_ids, dict):
        raise ValueError("app_ids is not an object")
    unverified = data.get("unverified_month")
    if unverified is not None and not isinstance(unverified, str):
        raise ValueError("unverified_month is not a string")
    return {str(app_id): _entry_from_json(raw) for app_id, raw in app_ids.items()}, unverified


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
        on_problem: ProblemCallback | None = None,
    ) -> None:
        self.path = None if path is None else Path(path)
        self.journal_path = None if self.path is None else self.path.with_name(self.path.name + JOURNAL_SUFFIX)
        self.month_tz = zone(month_tz)
        if early_reset_window < timedelta(0):
            raise ValueError(f"early_reset_window {early_reset_window} must not be negative")
        self.early_reset_window = early_reset_window
        self.on_problem = on_problem
        self.problems: list[LedgerProblem] = []
        """Every problem so far, for an app that attaches ``on_problem`` after construction."""
        self._lock = threading.RLock()
        self._entries: dict[str, _Entry] = {}
        self._unverified_month: str | None = None
        self._write_failing = False
        self._entries = self._read_disk()

    # ---- persistence -----------------------------------------------------------------------

    def _problem(self, kind: str, message: str, level: int) -> None:
        _LOGGER.log(level, "%s", message)
        problem = LedgerProblem(kind, message)
        self.problems.append(problem)
        if self.on_problem is not None:
            try:
                self.on_problem(problem)
            except Exception:  # a broken notifier must not break counting
                _LOGGER.exception("The ledger's problem callback failed")

    def _read_copy(self, source: Path) -> tuple[dict[str, _Entry] | None, str | None, str | None]:
        """``(entries, unverified_month, trouble)``: entries None when missing or unusable."""
        data, trouble = load_json_object(source)  # sets an unreadable copy aside, numbered
        if data is None:
            return None, None, trouble
        try:
            entries, unverified = _parse_file(data)
        except ValueError as exc:
            set_aside(source, str(exc))
            return None, None, f"invalid ({exc})"
        return entries, unverified, None

    def _read_disk(self) -> dict[str, _Entry]:
        """Both copies merged (the larger count wins); an unreadable one never lowers a count."""
        if self.path is None or self.journal_path is None:
            return {}
        merged: dict[str, _Entry] = {}
        troubles: list[str] = []
        readable = 0
        for source in (self.path, self.journal_path):
            entries, unverified, trouble = self._read_copy(source)
            if trouble is not None:
                troubles.append(f"{source.name} {trouble}")
            if entries is None:
                continue
            readable += 1
            for app_id, entry in entries.items():
                merged[app_id] = _larger(entry, merged.get(app_id))
            if unverified is not None and (self._unverified_month is None or unverified > self._unverified_month):
                self._unverified_month = unverified
        if troubles and readable:
            self._problem(
                "restored",
                f"API-call ledger: {'; '.join(troubles)}; set aside, and the count taken from the copy that"
                f" could be read: {self._counts(merged)}",
                logging.WARNING,
            )
        elif troubles:
            self._unverified_month = _PENDING
            self._problem(
                "unverified",
                f"API-call ledger: {'; '.join(troubles)}; set aside. This month's count is unknown, so APsystems"
                " calls stop until a probe shows the quota is not used up, or until the last published count is"
                " restored as a floor",
                logging.ERROR,
            )
        elif not readable:
            _LOGGER.info("API-call ledger %s not found; starting a new one", self.path)
        _LOGGER.debug("API-call ledger loaded from %s: %s", self.path, self._counts(merged))
        return merged

    @staticmethod
    def _counts(entries: dict[str, _Entry]) -> str:
        return ", ".join(f"{app_id[:6]}…: {e.used} in {e.month}" for app_id, e in entries.items()) or "no calls"

    def reload(self) -> None:
        """Read the copies on disk again; a count in memory is never replaced by a lower one."""
        with self._lock:
            for app_id, entry in self._read_disk().items():
                self._entries[app_id] = _larger(entry, self._entries.get(app_id))

    def _save(self) -> None:
        if self.path is None or self.journal_path is None:
            return
        unverified = None if self._unverified_month == _PENDING else self._unverified_month
        data = {
            "version": FILE_VERSION,
            "month_tz": str(self.month_tz),
            "unverified_month": unverified,
            "app_ids": {app_id: _entry_to_json(entry) for app_id, entry in sorted(self._entries.items())},
        }
        failures: list[str] = []
        for _attempt in range(SAVE_ATTEMPTS):  # a transient failure (NFS, antivirus) gets a second chance
            failures = self._write_copies(data)
            if not failures:
                break
        if failures and not self._write_failing:
            self._write_failing = True
            self._problem(
                "write_failed",
                f"Could not write the API-call ledger ({'; '.join(failures)}); the count"
                f" ({self._counts(self._entries)}) is kept in memory and written again at every call",
                logging.ERROR,
            )
        elif not failures and self._write_failing:
            self._write_failing = False
            self._problem("write_recovered", f"The API-call ledger {self.path} is written again", logging.INFO)

    def _write_copies(self, data: dict[str, Any]) -> list[str]:
        assert self.path is not None and self.journal_path is not None
        failures: list[str] = []
        try:  # first the copy in reserved space: it still works when the disk is full
            write_slot(self.journal_path, data)
        except (OSError, ValueError) as exc:
            failures.append(f"{self.journal_path.name}: {exc}")
        try:
            write_json_atomic(self.path, data)
        except OSError as exc:
            failures.append(f"{self.path.name}: {exc}")
        return failures

    # ---- state ---------------------------------------------------------------------------

    def _local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.month_tz).date()

    def _current(self, app_id: str, now: datetime) -> _Entry:
        """The entry for ``now``'s month; a later month starts from zero (never rolls back)."""
        key = month_key(now, self.month_tz)
        if self._unverified_month == _PENDING:
            self._unverified_month = key
            self._save()  # a restart must not forget that this month's count is unknown
        entry = self._entries.get(app_id)
        if entry is None:
            return _Entry(month=key, needs_probe=key == self._unverified_month)
        if entry.month < key:
            return entry.rolled_to(key)
        return entry  # same month, or a month adopted early after the server reset first

    def _status(self, app_id: str, entry: _Entry, now: datetime) -> LedgerStatus:
        exhausted = entry.exhausted_at is not None or entry.needs_probe
        probe_allowed = False
        if entry.needs_probe and entry.exhausted_at is None:
            last = entry.last_probe_at
            probe_allowed = last is None or now - last >= UNVERIFIED_PROBE_SPACING
        elif entry.exhausted_at is not None:
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
            unverified=entry.needs_probe,
        )

    def _apply_code(self, entry: _Entry, now: datetime, code: int | None, sent: int) -> _Entry:
        if code is None:
            return entry
        entry = replace(entry, last_code=code)
        if code not in SUCCESS_CODES:
            entry = replace(entry, last_error_code=code)
        if entry.needs_probe and (code in SUCCESS_CODES or code == QUOTA_CODE):
            _LOGGER.warning("API-call ledger: a probe answered %d; calls resume from a count of %d", code, entry.used)
            entry = replace(entry, needs_probe=False)
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
            if entry.exhausted_at is not None or entry.needs_probe:
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

    def raise_floor(self, app_id: str, now: datetime, used: int) -> LedgerStatus:
        """At least ``used`` calls were spent in ``now``'s month (the last count the app published).

        Never lowers the count; lifts the stop of an untrusted ledger, since the count is known again.
        """
        require_aware(now)
        if isinstance(used, bool) or not isinstance(used, int) or used < 0:
            raise ValueError(f"floor {used!r} must be a count (an integer >= 0)")
        with self._lock:
            entry = self._current(app_id, now)
            if used > entry.used:
                _LOGGER.warning("API-call ledger: %d calls raised to %d, the last count published", entry.used, used)
                entry = replace(entry, used=used)
            entry = replace(entry, needs_probe=False)
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
