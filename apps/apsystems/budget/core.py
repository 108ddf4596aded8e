"""The budget core: one App ID's quota, with the clock injected.

It owns the call ledger, the plan, the fixed-job bookkeeping, the spending decision (the
hard stop), the instant of the next production poll and which notifications are due. The
budget app is a thin AppDaemon adapter around it; the year simulation, the ``plan`` CLI and
the benchmarks drive this same object through simulated time, so what they print is what
the apps do.

Locking: one lock, the core's; the ledger's own lock is only ever taken inside it, never
the other way round. No lock is held while a request is on the wire: ``spending`` decides
and reserves the calls under the lock, releases it for the caller to send, and the call
hook records what was sent.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any, Literal

from apsystems.budget.config import BudgetConfig
from apsystems.budget.ledger import CallLedger, LedgerStatus, SentRequest
from apsystems.budget.notices import (
    API_LIMIT_ID,
    AUTH_ID,
    AUTH_NOTICE_CODES,
    BUDGET_ID,
    LIMIT_CODES,
    api_limit_notice,
    auth_notice,
    budget_notice,
)
from apsystems.budget.pacing import (
    HISTORY_DAILY_CALLS,
    BudgetPlanner,
    CallDecision,
    Fleet,
    Plan,
    PollSource,
    inverters_due,
)
from apsystems.budget.scheduling import next_poll_at
from apsystems.budget.solar_window import Site, SolarCalendar, SolarWindow
from apsystems.budget.static_interval import static_interval
from apsystems.common.json_file import Schema, read_json_object, write_json_atomic
from apsystems.common.months import month_key, zone

_LOGGER = logging.getLogger(__name__)

# "household": meters' and batteries' night reads and the read that closes their day.
FIXED_PURPOSES = frozenset({"summary", "detail", "batch", "household", "history_daily"})
# The energy history's backfill: spread over days, its own share of the quota.
BACKFILL_PURPOSE = "history"
# "poll" is production's poll (it sets the next poll instant); "extra_poll" is gated like one
# (it must leave the fixed jobs and the reserve) but does not move production's timing.
POLL_PURPOSES = frozenset({"poll", "extra_poll"})
PURPOSES = FIXED_PURPOSES | POLL_PURPOSES | {"manual", "discovery", BACKFILL_PURPOSE}
# The production loop polls this long after the window opens (timers may fire a little early).
OPEN_GRACE_S = 5
# Codes that prove the credentials and the quota are fine again.
RECOVERY_CODES = frozenset({0, 1001})

Log = Callable[[str, str], None]  # (message, level)


@dataclass(frozen=True)
class Notice:
    """A persistent notification to create or dismiss (the adapter calls HA)."""

    action: Literal["create", "dismiss"]
    notification_id: str
    title: str = ""
    message: str = ""


def ledger_file_name(app_id: str) -> str:
    """The ledger's file name: the full App ID hashed, so two IDs never share a file."""
    digest = hashlib.sha256(app_id.encode("utf-8")).hexdigest()[:16]
    return f"api_calls_{digest}.json"


def legacy_ledger_file_name(app_id: str) -> str:
    """The file name before the hash (first 8 characters of the App ID), read once to migrate."""
    return f"api_calls_{app_id[:8]}.json"


def _log_to_module(message: str, level: str) -> None:
    _LOGGER.log(logging.getLevelName(level), message)


STATE_SCHEMA: Schema = {
    "inverters": int,
    "ecus": int,
    "meters": int,
    "storages": int,
    "poll_source": str,
    "time_zone": str,
    "known": bool,
    "notified": dict,
    "fixed_sent": dict,
    "last_poll_at": str,
    "history": bool,
    "history_backlog": int,
    "history_sent": dict,
    "purpose_calls": dict,
}


class BudgetCore:
    """One App ID's budget for one system, with ``clock`` as the only source of time.

    ``ledger`` counts every call sent with the App ID; ``state_path`` (None: in memory) keeps
    what discovery found, which notifications are up, the fixed calls sent today and the last
    production poll across restarts.
    """

    def __init__(
        self,
        cfg: BudgetConfig,
        *,
        clock: Callable[[], datetime],
        ledger: CallLedger,
        state_path: Path | None = None,
        log: Log = _log_to_module,
    ) -> None:
        self.cfg = cfg
        self.ledger = ledger
        self._clock = clock
        self._state_path = state_path
        self._log = log
        self._lock = threading.RLock()
        self._pending = 0
        self.last_refusal = ""
        saved = self._load()
        self.fleet = Fleet(
            inverters=_int(saved, "inverters", 0),
            ecus=max(1, _int(saved, "ecus", 1)),
            meters=min(100, _int(saved, "meters", 0)),
            storages=min(100, _int(saved, "storages", 0)),
            history_daily_calls=HISTORY_DAILY_CALLS if saved.get("history") is True else 0,
        )
        self.history_backlog = _int(saved, "history_backlog", 0)
        self._history_sent = _counts(saved.get("history_sent"))
        purposes = saved.get("purpose_calls")
        self._purpose_calls: dict[str, dict[str, int]] = (
            {str(k): _counts(v) for k, v in purposes.items()} if isinstance(purposes, dict) else {}
        )
        self.poll_source = _poll_source(saved.get("poll_source"), cfg.settings.poll_source)
        self.site_time_zone = _time_zone(saved.get("time_zone"), cfg.time_zone, log)
        flags = saved.get("notified")
        self._flags: dict[str, bool] = {str(k): bool(v) for k, v in flags.items()} if isinstance(flags, dict) else {}
        fixed = saved.get("fixed_sent")
        self._fixed_sent: dict[str, int] = (
            {str(k): int(v) for k, v in fixed.items() if isinstance(v, int)} if isinstance(fixed, dict) else {}
        )
        self.known = bool(saved.get("known", False))
        self.last_poll_at = _instant(saved.get("last_poll_at"))
        self._build_planner()

    # ---- what discovery found ------------------------------------------------------------

    def set_site(self, *, inverters: int, ecus: int, poll_source: PollSource, time_zone: str | None) -> bool:
        """What discovery found; the plan depends on it. True (and the plan logged) when it changed."""
        with self._lock:
            fleet = dataclasses.replace(self.fleet, inverters=inverters, ecus=max(1, ecus))
            tz_name = _time_zone(time_zone, self.site_time_zone, self._log) if time_zone else self.site_time_zone
            source = PollSource(poll_source)
            changed = (fleet, source, tz_name) != (self.fleet, self.poll_source, self.site_time_zone)
            if not changed and self.known:
                return False
            self.fleet, self.poll_source, self.site_time_zone = fleet, source, tz_name
            self.known = True
            self._build_planner()  # the ledger stays: its in-memory count is never re-read from disk
            self._save()
            self._log_plan()
            return True

    def set_household(self, *, meters: int, storages: int) -> bool:
        """The meters and batteries discovery found (their reads are in the plan). True when changed."""
        with self._lock:
            fleet = dataclasses.replace(self.fleet, meters=meters, storages=storages)
            if fleet == self.fleet:
                return False
            self.fleet = fleet
            self._build_planner()
            self._save()
            self._log_plan()
            return True

    def household_read_due(self, last_read: datetime | None, slack_s: float = 0.0) -> bool:
        """Whether meters and batteries are due a night read: outside the solar window (production's
        polls read them by day), ``night_interval`` after the last read."""
        with self._lock:
            now = self.now()
            if self.fleet.household_read_cost == 0 or self.calendar.is_open(now):
                return False
            if last_read is None:
                return True
            return (now - last_read).total_seconds() >= self._plan(now).night_interval_s - slack_s

    def set_history(self, *, enabled: bool, backlog: int) -> None:
        """The history app runs (its daily calls become fixed jobs) with ``backlog`` backfill calls to go."""
        if isinstance(backlog, bool) or not isinstance(backlog, int) or backlog < 0:
            raise ValueError(f"history backlog {backlog!r} must be a whole number of calls >= 0")
        with self._lock:
            fleet = dataclasses.replace(self.fleet, history_daily_calls=HISTORY_DAILY_CALLS if enabled else 0)
            if (fleet, backlog) == (self.fleet, self.history_backlog):
                return
            rebuilt = fleet != self.fleet
            self.fleet, self.history_backlog = fleet, backlog
            if rebuilt:
                self._build_planner()
            self._save()

    def purpose_calls(self) -> dict[str, int]:
        """Calls allowed this month per purpose (the history's share among them)."""
        with self._lock:
            return dict(self._purpose_calls.get(self._month_key(self.now()), {}))

    def adopt_last_poll(self, at: datetime | None) -> None:
        """Production's own record of its last poll (from before an upgrade): the later one wins."""
        if at is None or at.tzinfo is None:
            return
        with self._lock:
            if self.last_poll_at is None or at > self.last_poll_at:
                self.last_poll_at = at
                self._save()

    # ---- the plan and the next poll --------------------------------------------------------

    @property
    def tz(self) -> tzinfo:
        return self.calendar.tz

    def now(self) -> datetime:
        return self._clock()

    def status(self) -> LedgerStatus:
        with self._lock:
            return self.ledger.status(self.cfg.app_id, self.now())

    def plan(self) -> Plan:
        with self._lock:
            return self._plan(self.now())

    def next_poll(self) -> datetime | None:
        """When production polls next: the hh:48 rule after the last poll, inside the solar window.

        The ``next_poll`` attribute, the production app and the simulation all read this.
        """
        with self._lock:
            now = self.now()
            plan = self._plan(now)
            if plan.paused:
                return plan.next_poll
            due = now if self.last_poll_at is None else next_poll_at(self.last_poll_at, plan.interval_s, tz=self.tz)
            candidate = max(due, now)
            opening = self.calendar.next_open(candidate)
            if opening is None or opening <= candidate:
                return opening
            return opening + timedelta(seconds=OPEN_GRACE_S)  # the loop wakes just after the opening

    def poll_due(self, slack_s: float = 0.0) -> bool:
        """Whether production should poll now (``slack_s`` early is fine: timers fire late or early)."""
        with self._lock:
            now = self.now()
            if not self.calendar.is_open(now):
                return False
            if self.last_poll_at is None:
                return True
            due = next_poll_at(self.last_poll_at, self._plan(now).interval_s, tz=self.tz)
            return now >= due - timedelta(seconds=slack_s)

    def solar_window(self, now: datetime) -> SolarWindow:
        return self.calendar.window_at(now)

    def next_window_open(self, now: datetime) -> datetime | None:
        return self.calendar.next_open(now)

    def detail_due(self, uids: Sequence[str]) -> list[str]:
        """The inverters whose detail is due today (all of them unless detail rotates)."""
        with self._lock:
            now = self.now()
            rotation = self._plan(now).detail_rotation_days
            return inverters_due(sorted(uids), self.calendar.local_date(now), rotation)

    # ---- spending ---------------------------------------------------------------------------

    def decide(self, cost: int, purpose: str) -> CallDecision:
        """The hard stop; an allowed decision reserves ``cost`` calls until ``release``."""
        if purpose not in PURPOSES:
            raise ValueError(f"purpose {purpose!r} must be one of {', '.join(sorted(PURPOSES))}")
        with self._lock:
            now = self.now()
            status = self._status(now)
            today = self.calendar.local_date(now).isoformat()
            if purpose in POLL_PURPOSES:
                decision = self.planner.may_poll(status, self._plan(now), cost)
            elif purpose == BACKFILL_PURPOSE:
                sent = self._history_sent.get(today, 0)
                decision = self.planner.may_backfill(status, self._plan(now), cost, sent)
            else:
                decision = self.planner.may_call(status, cost)
            if not decision.allowed:
                self.last_refusal = f"{purpose}: {decision.reason}"
                self._log(f"Not spending {cost} call(s) on {purpose}: {decision.reason}", "INFO")
                return decision
            self._pending += cost
            if purpose in FIXED_PURPOSES:
                self._fixed_sent = {today: self._fixed_sent.get(today, 0) + cost}
            if purpose == BACKFILL_PURPOSE:
                self._history_sent = {today: self._history_sent.get(today, 0) + cost}
            month = self._month_key(now)
            counts = self._purpose_calls.get(month, {})
            self._purpose_calls = {month: {**counts, purpose: counts.get(purpose, 0) + cost}}
            if purpose == "poll":
                self.last_poll_at = now
            self._save()
            return decision

    def release(self, cost: int) -> None:
        """The reserved calls are sent (and recorded through the hook) or abandoned."""
        with self._lock:
            self._pending = max(0, self._pending - cost)

    @contextmanager
    def spending(self, cost: int, purpose: str) -> Iterator[CallDecision]:
        """Decide, release the lock, let the caller send inside the block, then free the reservation."""
        decision = self.decide(cost, purpose)
        try:
            yield decision
        finally:
            if decision.allowed:
                self.release(cost)

    def record(self, request: SentRequest) -> list[Notice]:
        """The client's call hook: count the request, and say which notifications are now due."""
        with self._lock:
            sent = datetime.fromtimestamp(request.sent_at, timezone.utc)
            status = self.ledger.record(self.cfg.app_id, sent, code=request.code)
            code = request.code
            if code in LIMIT_CODES:
                title, message = api_limit_notice(code, status.used, self.cfg.settings.quota)
                notices = self._raise_once(API_LIMIT_ID, title, message)
            elif code in AUTH_NOTICE_CODES:
                notices = self._raise_once(AUTH_ID, *auth_notice(code))
            elif code in RECOVERY_CODES:
                notices = self._clear(API_LIMIT_ID) + self._clear(AUTH_ID)
            else:
                notices = []
            return notices

    # ---- the sensor ------------------------------------------------------------------------

    def sensor(self) -> tuple[int, dict[str, Any], list[Notice]]:
        """The api_calls sensor's state and attributes, and the budget notice if it is due."""
        with self._lock:
            now = self.now()
            plan = self._plan(now)
            status = self.ledger.status(self.cfg.app_id, now)
            notices = self._check_fixed_interval(plan) if self.known else []
            next_poll = self.next_poll()
            attributes: dict[str, Any] = {
                "quota": plan.quota,
                "remaining": max(0, plan.quota - status.used),
                "projected": plan.projected_month_calls,
                "interval_s": plan.interval_s,
                "next_poll": next_poll.isoformat() if next_poll else None,
                "last_error_code": status.last_error_code,
                "mode": plan.mode,
                "month": status.month,
                "reserve": plan.reserve,
                "fixed_calls_remaining": plan.fixed_calls_remaining,
                "polls_left": plan.polls_left,
                "detail_rotation_days": plan.detail_rotation_days,
                "quota_exhausted": status.exhausted,
                "last_month_used": status.last_month_used,
                "plan": plan.reason,
                "last_refusal": self.last_refusal or None,
                "calls_by_purpose": dict(self._purpose_calls.get(status.month, {})),
                "history_backlog": self.history_backlog,
                "history_backfill_per_day": plan.history_backfill_per_day,
            }
            return status.used, attributes, notices

    # ---- internals ---------------------------------------------------------------------------

    def _build_planner(self) -> None:
        cfg = self.cfg
        site = Site(cfg.latitude, cfg.longitude, self.site_time_zone)
        self.calendar = SolarCalendar(site, cfg.sunrise_offset_min, cfg.sunset_offset_min)
        month_tz = zone(cfg.month_time_zone or self.site_time_zone)
        self.ledger.month_tz = month_tz
        settings = dataclasses.replace(cfg.settings, poll_source=self.poll_source)
        self.planner = BudgetPlanner(settings, self.calendar, month_tz)

    def _status(self, now: datetime) -> LedgerStatus:
        """The ledger's status with the calls reserved but not yet recorded counted as used."""
        status = self.ledger.status(self.cfg.app_id, now)
        return dataclasses.replace(status, used=status.used + self._pending) if self._pending else status

    def _plan(self, now: datetime) -> Plan:
        used = self.ledger.used(self.cfg.app_id, now) + self._pending
        today = self.calendar.local_date(now).isoformat()
        return self.planner.plan(
            now,
            used,
            self.fleet,
            fixed_calls_sent_today=self._fixed_sent.get(today, 0),
            history_backlog=self.history_backlog,
            history_sent_today=self._history_sent.get(today, 0),
        )

    def _month_key(self, now: datetime) -> str:
        return month_key(now, self.ledger.month_tz)

    def _raise_once(self, notification_id: str, title: str, message: str) -> list[Notice]:
        if self._flags.get(notification_id):
            return []
        self._flags[notification_id] = True
        self._save()
        self._log(f"{title}: {message}", "WARNING")
        return [Notice("create", notification_id, title, message)]

    def _clear(self, notification_id: str) -> list[Notice]:
        if not self._flags.get(notification_id):
            return []
        self._flags[notification_id] = False
        self._save()
        self._log(f"Dismissing notification {notification_id}: the API answers normally again", "INFO")
        return [Notice("dismiss", notification_id)]

    def _check_fixed_interval(self, plan: Plan) -> list[Notice]:
        if plan.mode != "fixed":
            return []
        if plan.over_quota:
            return self._raise_once(BUDGET_ID, *budget_notice(plan.interval_s, plan.projected_month_calls, plan.quota))
        return self._clear(BUDGET_ID)

    def _log_plan(self) -> None:
        plan = self._plan(self.now())
        cfg = self.cfg
        reference = static_interval(cfg.latitude, self.fleet.inverters, self.fleet.ecus, quota=cfg.settings.quota)
        self._log(
            f"API budget: interval {plan.interval_s} s ({plan.mode}) for {self.fleet.inverters} inverter(s)/"
            f"{self.fleet.ecus} ECU(s) at lat {cfg.latitude:g}, polling {self.poll_source.value} data;"
            f" est. {plan.projected_month_calls} calls this month (quota {plan.quota}, {plan.used} used)."
            f" Reference method: {reference.interval_s} s, est. {reference.monthly_calls_rounded} calls/month.",
            "INFO",
        )
        if plan.detail_rotation_days > 1:
            self._log(
                f"Per-inverter detail rotates over {plan.detail_rotation_days} days to leave room for"
                " at least one production poll an hour",
                "INFO",
            )

    def _load(self) -> Mapping[str, Any]:
        if self._state_path is None:
            return {}
        # Wrong types (a hand-edited {"inverters": "six"}) set the file aside and start from defaults.
        return read_json_object(self._state_path, STATE_SCHEMA) or {}

    def _save(self) -> None:
        if self._state_path is None:
            return
        write_json_atomic(
            self._state_path,
            {
                "inverters": self.fleet.inverters,
                "ecus": self.fleet.ecus,
                "meters": self.fleet.meters,
                "storages": self.fleet.storages,
                "poll_source": self.poll_source.value,
                "time_zone": self.site_time_zone,
                "known": self.known,
                "notified": self._flags,
                "fixed_sent": self._fixed_sent,
                "last_poll_at": self.last_poll_at.isoformat() if self.last_poll_at else None,
                "history": self.fleet.history_daily_calls > 0,
                "history_backlog": self.history_backlog,
                "history_sent": self._history_sent,
                "purpose_calls": self._purpose_calls,
            },
        )


def _int(saved: Mapping[str, Any], key: str, default: int) -> int:
    value = saved.get(key, default)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default


def _counts(value: object) -> dict[str, int]:
    """A saved ``{key: count}`` object; anything else is no counts."""
    if not isinstance(value, dict):
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, int) and not isinstance(v, bool) and v >= 0}


def _poll_source(value: object, default: PollSource) -> PollSource:
    try:
        return PollSource(value) if value is not None else default
    except ValueError:
        return default


def _time_zone(value: object, fallback: str, log: Log) -> str:
    """A time zone name the helper understands; a bad (cached or reported) value falls back."""
    if not isinstance(value, str) or not value:
        return fallback
    try:
        zone(value)
    except ValueError:
        log(f"Time zone {value!r} is not understood; using {fallback!r} instead", "WARNING")
        return fallback
    return value


def _instant(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
