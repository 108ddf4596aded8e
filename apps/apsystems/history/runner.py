"""The history's work: backfill, the evening re-read, today's closed hours, and the import.

No AppDaemon here: the cloud, the budget and Home Assistant's recorder come in through
small protocols, so tests drive the same object against the fake cloud and a real (or
recording) recorder, with the time given by the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal, Protocol

from apsystems.api.errors import NO_DATA_CODE, QUOTA_CODE, RATE_LIMIT_CODES, ApiError, ApsystemsError
from apsystems.api.records import EnergySeries, SystemDetails
from apsystems.budget.pacing import HISTORY_DAILY_CALLS, CallDecision
from apsystems.history.book import StatisticRow
from apsystems.history.metadata import solar_metadata
from apsystems.history.recorder_ws import ImportRefused, RecorderUnreachable
from apsystems.history.series import DailyMonth, HourlyDay, SolarHistory, Task

# Codes after which the backfill stops for the day and resumes on a later one.
STOP_CODES = frozenset({QUOTA_CODE}) | (RATE_LIMIT_CODES - {7000})
NOTIFICATION_ID = "apsystems_history"

Status = Literal["complete", "importing", "error"]
Log = Callable[[str, str], None]


class Cloud(Protocol):
    def system_energy(self, sid: str, level: str, date_range: date | str | None = None) -> EnergySeries: ...
    def system_details(self, sid: str) -> SystemDetails: ...


class BudgetGate(Protocol):
    def spending(self, cost: int, purpose: str) -> AbstractContextManager[CallDecision]: ...
    def set_history(self, *, enabled: bool, backlog: int) -> None: ...


class Recorder(Protocol):
    def import_rows(self, metadata: dict[str, Any], rows: Sequence[StatisticRow]) -> None: ...


@dataclass(frozen=True)
class HistoryOptions:
    sid: str
    history_days: int = 30
    history_since: date | None = None


REFUSAL_ADVICE = {
    "auth": "Home Assistant did not accept the token of AppDaemon's HASS plugin. Check `token` in appdaemon.yaml.",
    "not_admin": (
        "Importing statistics needs an administrator. Give AppDaemon's HASS plugin (`token` in appdaemon.yaml)"
        " a long-lived access token of an admin user, then restart the apsystems_history app."
    ),
    "too_old": "This Home Assistant has no recorder/import_statistics command. Update Home Assistant.",
    "schema": (
        "Home Assistant refused the statistics ({detail}). Check that this Home Assistant is 2025.11 or later and"
        " report the message if it is."
    ),
}


class HistoryRunner:
    """One system's solar history: what to read, when to import, and the sensor's state."""

    def __init__(
        self,
        options: HistoryOptions,
        history: SolarHistory,
        *,
        cloud: Cloud,
        budget: BudgetGate,
        recorder: Recorder,
        save: Callable[[SolarHistory], None],
        log: Log,
    ) -> None:
        self.options = options
        self.history = history
        self.cloud = cloud
        self.budget = budget
        self.recorder = recorder
        self._save = save
        self._log = log
        self.metadata = solar_metadata(options.sid)
        self.refusal: ImportRefused | None = None
        self.stopped_on: date | None = None  # the day a stop code ended the backfill
        self.last_error: str | None = None
        self.days_left = 0

    # ---- state for the sensor -------------------------------------------------------------------

    @property
    def status(self) -> Status:
        if self.refusal is not None:
            return "error"
        pending = self.history.since is None or self.days_left or self.history.book.due_rows()
        return "importing" if pending else "complete"

    def attributes(self) -> dict[str, Any]:
        first, last = self.history.imported_days()
        return {
            "statistic_id": self.history.book.statistic_id,
            "first_day": first.isoformat() if first else None,
            "last_day": last.isoformat() if last else None,
            "days_left": self.days_left,
            "calls_spent": self.history.calls_spent,
            "rows": self.history.book.hours,
            "since": self.history.since.isoformat() if self.history.since else None,
            "last_error": self.last_error,
        }

    def notice(self) -> tuple[str, str] | None:
        """(title, message) of the notification to raise, or None (then dismiss it)."""
        if self.refusal is None:
            return None
        advice = REFUSAL_ADVICE[self.refusal.kind].format(detail=self.refusal.detail)
        return "APsystems energy history not imported", f"{advice} (Home Assistant said: {self.refusal.detail})"

    # ---- the work --------------------------------------------------------------------------------

    def announce(self, today: date) -> None:
        """Tell the budget the history runs and what its backfill still needs (no call)."""
        since = self.options.history_since or self.history.since
        if since is None:
            self.budget.set_history(enabled=True, backlog=1)  # the system details come first
            return
        self._tell_budget(self.history.tasks(today, self.options.history_days, since))

    def backfill(self, today: date, max_tasks: int | None = None) -> int:
        """Read what the plan still lists, as far as today's budget share allows; returns calls made.

        ``max_tasks`` bounds one callback's work (each read is one call and may be slow).
        """
        if self.stopped_on == today:
            return 0
        if self.options.history_since is not None:
            self.history.since = self.options.history_since
        if self.history.since is None:
            self.budget.set_history(enabled=True, backlog=1)  # the system details, to learn the start
            if not self._learn_since(today):
                return 0
        since = self.history.since
        assert since is not None
        tasks = self.history.tasks(today, self.options.history_days, since)
        made = 0
        for number, task in enumerate(tasks):
            if max_tasks is not None and number >= max_tasks:
                break
            self._tell_budget(tasks[number:])
            outcome = self._read(task, today)
            if outcome == "refused":
                break
            made += 1
            if outcome == "stop":
                break
            self._save(self.history)
            self.sync()
        self._tell_budget(self.history.tasks(today, self.options.history_days, since))
        self._save(self.history)
        self.sync()
        return made

    def evening(self, today: date) -> bool:
        """After the window closed: re-read today's hours and check the month's days (fixed calls)."""
        with self.budget.spending(HISTORY_DAILY_CALLS, "history_daily") as decision:
            if not decision.allowed:
                self._log(f"Energy history: no evening re-read today ({decision.reason})", "INFO")
                return False
            try:
                hourly = self._energy("hourly", today.isoformat())
                daily = self._energy("daily", today.strftime("%Y-%m"))
            except ApsystemsError as exc:
                self.last_error = str(exc)
                self._log(f"Energy history: evening re-read failed: {exc}", "WARNING")
                return False
        if hourly is not None:
            self.history.apply_hourly(today, hourly.values, complete=True)
        self.history.evening_on = today
        if daily is not None:
            changed = self.history.reconcile_month(today.year, today.month, daily.values, before=today)
            if changed:
                self._log(f"Energy history: the cloud corrected {', '.join(d.isoformat() for d in changed)}", "INFO")
        self.last_error = None
        self._save(self.history)
        self.sync()
        return True

    def closed_hours(self, day: date, hourly_kwh: Sequence[float | None], closed: int) -> None:
        """Today's closed hours from production's own data (no call)."""
        if self.history.apply_closed_hours(day, hourly_kwh, closed):
            self._save(self.history)
            self.sync()

    def sync(self) -> bool:
        """Import the rows Home Assistant does not hold yet; True when none is left."""
        rows = self.history.book.due_rows()
        if not rows:
            return True
        try:
            self.recorder.import_rows(self.metadata, rows)
        except ImportRefused as exc:
            if self.refusal is None:
                self._log(f"Energy history: Home Assistant refused the import: {exc}", "ERROR")
            self.refusal = exc
            return False
        except RecorderUnreachable as exc:
            self._log(f"Energy history: Home Assistant not reachable ({exc}); importing later", "WARNING")
            return False
        if self.refusal is not None:
            self._log("Energy history: Home Assistant accepts the import again", "INFO")
        self.refusal = None
        self.history.book.mark_imported(rows)
        self._save(self.history)
        return True

    # ---- internals ---------------------------------------------------------------------------------

    def _learn_since(self, today: date) -> bool:
        """The installation date from the system details (one call, counted as backfill)."""
        with self.budget.spending(1, "history") as decision:
            if not decision.allowed:
                return False
            self.history.calls_spent += 1
            try:
                details = self.cloud.system_details(self.options.sid)
            except ApsystemsError as exc:
                self.last_error = str(exc)
                self._log(f"Energy history: system details failed: {exc}", "WARNING")
                return False
        created = details.create_date
        since = created if created is not None else today - timedelta(days=self.options.history_days)
        self.history.since = since
        self._log(f"Energy history: importing from {since.isoformat()}", "INFO")
        return True

    def _read(self, task: Task, today: date) -> Literal["done", "stop", "refused"]:
        with self.budget.spending(1, "history") as decision:
            if not decision.allowed:
                return "refused"
            try:
                if isinstance(task, HourlyDay):
                    series = self._energy("hourly", task.day.isoformat())
                else:
                    series = self._energy("daily", task.label)
            except ApiError as exc:
                self.last_error = str(exc)
                if exc.code in STOP_CODES:
                    self.stopped_on = today
                    self._log(f"Energy history: backfill stops for today ({exc}); it resumes tomorrow", "WARNING")
                    return "stop"
                self._log(f"Energy history: reading {task.label} failed: {exc}", "WARNING")
                return "stop"
            except ApsystemsError as exc:
                self.last_error = str(exc)
                self._log(f"Energy history: reading {task.label} failed: {exc}", "WARNING")
                return "stop"
        if isinstance(task, HourlyDay):
            values = series.values if series is not None else [0.0] * 24
            self.history.apply_hourly(task.day, values, complete=True)
        elif isinstance(task, DailyMonth):
            self.history.apply_daily(task, series.values if series is not None else [0.0] * 31)
        return "done"

    def _energy(self, level: str, date_range: str) -> EnergySeries | None:
        """One counted call; None for 1001 (no data: a day without production)."""
        self.history.calls_spent += 1
        try:
            return self.cloud.system_energy(self.options.sid, level, date_range)
        except ApiError as exc:
            if exc.code == NO_DATA_CODE:
                return None
            raise

    def _tell_budget(self, tasks: Sequence[Task]) -> None:
        self.days_left = sum(1 if isinstance(t, HourlyDay) else len(t.days) for t in tasks)
        self.budget.set_history(enabled=True, backlog=len(tasks))
