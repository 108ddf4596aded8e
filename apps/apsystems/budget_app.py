"""AppDaemon app: the API budget of one App ID.

It owns the call ledger, decides when calls may be spent, publishes
``sensor.apsystems_<sid>_api_calls`` and raises the quota notifications. The other apps
fetch it with ``get_app`` and use only its public methods: ``call_hook``, ``set_site``,
``settings``, ``plan``, ``spending``, ``solar_window``, ``next_window_open`` and ``detail_due``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from appdaemon.plugins.hass.hassapi import Hass

from apsystems.ad_support import Notifier, publish_state, state_dir
from apsystems.budget_config import BudgetConfig, parse_budget_args
from apsystems.client import RequestRecord
from apsystems.json_file import read_json_object, write_json_atomic
from apsystems.ledger import CallLedger
from apsystems.ledger_alerts import ledger_problem_handler, published_floor
from apsystems.months import zone
from apsystems.notices import (
    API_LIMIT_ID,
    AUTH_ID,
    AUTH_NOTICE_CODES,
    BUDGET_ID,
    LIMIT_CODES,
    api_limit_notice,
    auth_notice,
    budget_notice,
)
from apsystems.pacing import BudgetPlanner, BudgetSettings, CallDecision, Fleet, Plan, PollSource, inverters_due
from apsystems.solar_window import Site, SolarCalendar, SolarWindow
from apsystems.static_interval import static_interval

FIXED_PURPOSES = frozenset({"summary", "detail", "batch"})
PURPOSES = FIXED_PURPOSES | {"poll", "manual", "discovery"}
REFRESH_S = 300


class BudgetApp(Hass):
    """One App ID's quota: the ledger, the plan, the sensor and the notifications."""

    def initialize(self) -> None:
        self._lock = threading.RLock()
        try:
            self.cfg: BudgetConfig = parse_budget_args(
                self.args,
                default_latitude=float(self.AD.config.latitude),
                default_longitude=float(self.AD.config.longitude),
                default_time_zone=str(self.AD.time_zone),
            )
        except ValueError as exc:
            self.log(f"Configuration error: {exc}", level="ERROR")
            raise
        self.entity_id = f"sensor.apsystems_{self.cfg.sid.lower()}_api_calls"
        folder = state_dir(self, self.args)
        self._state_path = folder / f"budget_{self.cfg.sid.lower()}.json"
        self._ledger_path = folder / f"api_calls_{self.cfg.app_id[:8]}.json"
        self.notifier = Notifier(self)
        # Wrong types (a hand-edited {"inverters": "six"}) set the file aside and start from defaults.
        state_types = {"inverters": int, "ecus": int, "poll_source": str, "time_zone": str, "notified": dict}
        saved = read_json_object(self._state_path, {**state_types, "fixed_sent": dict, "known": bool}) or {}
        self.fleet = Fleet(inverters=int(saved.get("inverters", 0)), ecus=int(saved.get("ecus", 1)))
        self.poll_source = PollSource(saved.get("poll_source", PollSource.SYSTEM.value))
        self.site_time_zone = str(saved.get("time_zone") or self.cfg.time_zone)
        self._flags: dict[str, bool] = {k: bool(v) for k, v in (saved.get("notified") or {}).items()}
        self._fixed_sent: dict[str, int] = {str(k): int(v) for k, v in (saved.get("fixed_sent") or {}).items()}
        self._known = bool(saved.get("known", False))
        self._build_planner()
        self._publish()
        self.run_every(self._refresh, f"now+{REFRESH_S}", REFRESH_S)
        self.log(
            f"API budget ready: {self.ledger.used(self.cfg.app_id, self._now())} of {self.cfg.settings.quota}"
            f" calls used this month"
        )

    # ---- public API for the other apps -------------------------------------------------

    def call_hook(self) -> Callable[[RequestRecord], None]:
        """The client's ``on_request``: counts every request sent and reacts to its code."""
        return self._on_request

    def set_site(self, *, inverters: int, ecus: int, poll_source: PollSource, time_zone: str | None) -> None:
        """What discovery found; the plan depends on it. Logs the plan once per change."""
        with self._lock:
            fleet = Fleet(inverters=inverters, ecus=max(1, ecus))
            tz_name = time_zone or self.site_time_zone
            changed = (fleet, poll_source, tz_name) != (self.fleet, self.poll_source, self.site_time_zone)
            self.fleet, self.poll_source, self.site_time_zone = fleet, poll_source, tz_name
            if changed or not self._known:
                self._known = True
                self._build_planner()
                self._save()
                self._log_plan()
        self._publish()

    @property
    def settings(self) -> BudgetSettings:
        """The validated budget options (which fixed jobs are planned, the quota, …)."""
        return self.cfg.settings

    def plan(self) -> Plan:
        with self._lock:
            return self._plan(self._now())

    @contextmanager
    def spending(self, cost: int, purpose: str) -> Iterator[CallDecision]:
        """Ask before spending ``cost`` calls; send only if the decision allows it, inside the block.

        The ledger lock is held for the block, so two apps cannot both take the last calls.
        """
        if purpose not in PURPOSES:
            raise ValueError(f"purpose {purpose!r} must be one of {', '.join(sorted(PURPOSES))}")
        with self.ledger.hold(), self._lock:
            now = self._now()
            status = self.ledger.status(self.cfg.app_id, now)
            if purpose == "poll":
                decision = self.planner.may_poll(status, self._plan(now), cost)
            else:
                decision = self.planner.may_call(status, cost)
            if decision.allowed and purpose in FIXED_PURPOSES:
                day = self.calendar.local_date(now).isoformat()
                self._fixed_sent = {day: self._fixed_sent.get(day, 0) + cost}
                self._save()
            if not decision.allowed:
                self.log(f"Not spending {cost} call(s) on {purpose}: {decision.reason}")
                self._last_refusal = f"{purpose}: {decision.reason}"
            yield decision
        self._publish()

    def solar_window(self, now: datetime) -> SolarWindow:
        """Today's polling window (sunrise/sunset offsets included) at the site."""
        return self.calendar.window_at(now)

    def next_window_open(self, now: datetime) -> datetime | None:
        """When the polling window opens next (None: not within the coming year, e.g. polar night)."""
        return self.calendar.next_open(now)

    def detail_due(self, uids: Sequence[str]) -> list[str]:
        """The inverters whose detail is due today (all of them unless detail rotates)."""
        with self._lock:
            now = self._now()
            rotation = self._plan(now).detail_rotation_days
            return inverters_due(sorted(uids), self.calendar.local_date(now), rotation)

    # ---- internals -----------------------------------------------------------------------

    def _now(self) -> datetime:
        now: datetime = self.get_now()
        return now

    def _build_planner(self) -> None:
        site = Site(self.cfg.latitude, self.cfg.longitude, self.site_time_zone)
        self.calendar = SolarCalendar(site, self.cfg.sunrise_offset_min, self.cfg.sunset_offset_min)
        month_tz = self.cfg.month_time_zone or self.site_time_zone
        # Fail-safe wiring: ledger problems become a notification; the last published count is a floor.
        alerts = ledger_problem_handler(self.notifier.create, self.notifier.dismiss)
        self.ledger = CallLedger(self._ledger_path, month_tz, on_problem=alerts)
        month = self.ledger.status(self.cfg.app_id, self._now()).month
        floor = published_floor(self.get_state(self.entity_id, attribute="all"), month)
        if floor is not None:
            self.ledger.raise_floor(self.cfg.app_id, self._now(), floor)
        self.planner = BudgetPlanner(self.cfg.settings, self.calendar, zone(month_tz))
        self._last_refusal = ""

    def _plan(self, now: datetime) -> Plan:
        used = self.ledger.used(self.cfg.app_id, now)
        sent_today = self._fixed_sent.get(self.calendar.local_date(now).isoformat(), 0)
        return self.planner.plan(now, used, self.fleet, fixed_calls_sent_today=sent_today)

    def _on_request(self, record: RequestRecord) -> None:
        with self._lock:
            now = self._now()
            self.ledger.record(self.cfg.app_id, datetime.fromtimestamp(record.sent_at, now.tzinfo), code=record.code)
            code = record.code
            if code in LIMIT_CODES:
                self._raise_once(
                    API_LIMIT_ID,
                    *api_limit_notice(code, self.ledger.used(self.cfg.app_id, now), self.cfg.settings.quota),
                )
            elif code in AUTH_NOTICE_CODES:
                self._raise_once(AUTH_ID, *auth_notice(code))
            elif code in (0, 1001):
                self._clear(API_LIMIT_ID)
                self._clear(AUTH_ID)
        self._publish()

    def _raise_once(self, notification_id: str, title: str, message: str) -> None:
        if self._flags.get(notification_id):
            return
        self._flags[notification_id] = True
        self._save()
        self.log(f"{title}: {message}", level="WARNING")
        self.notifier.create(notification_id, title, message)

    def _clear(self, notification_id: str) -> None:
        if not self._flags.get(notification_id):
            return
        self._flags[notification_id] = False
        self._save()
        self.log(f"Dismissing notification {notification_id}: the API answers normally again")
        self.notifier.dismiss(notification_id)

    def _log_plan(self) -> None:
        now = self._now()
        plan = self._plan(now)
        reference = static_interval(
            self.cfg.latitude, self.fleet.inverters, self.fleet.ecus, quota=self.cfg.settings.quota
        )
        self.log(
            f"API budget: interval {plan.interval_s} s ({plan.mode}) for {self.fleet.inverters} inverter(s)/"
            f"{self.fleet.ecus} ECU(s) at lat {self.cfg.latitude:g}, polling {self.poll_source.value} data;"
            f" est. {plan.projected_month_calls} calls this month (quota {plan.quota}, {plan.used} used)."
            f" Reference method: {reference.interval_s} s, est. {reference.monthly_calls_rounded} calls/month."
        )
        if plan.detail_rotation_days > 1:
            self.log(
                f"Per-inverter detail rotates over {plan.detail_rotation_days} days to leave room for"
                " at least one production poll an hour"
            )

    def _check_fixed_interval(self, plan: Plan) -> None:
        if plan.mode != "fixed":
            return
        if plan.over_quota:
            self._raise_once(BUDGET_ID, *budget_notice(plan.interval_s, plan.projected_month_calls, plan.quota))
        else:
            self._clear(BUDGET_ID)

    def _refresh(self, **_kwargs: Any) -> None:
        self._publish()

    def _publish(self) -> None:
        with self._lock:
            now = self._now()
            plan = self._plan(now)
            status = self.ledger.status(self.cfg.app_id, now)
            if self._known:
                self._check_fixed_interval(plan)
            attributes: dict[str, Any] = {
                "friendly_name": f"APsystems {self.cfg.sid} API calls this month",
                "unit_of_measurement": "calls",
                "icon": "mdi:api",
                "quota": plan.quota,
                "remaining": max(0, plan.quota - status.used),
                "projected": plan.projected_month_calls,
                "interval_s": plan.interval_s,
                "next_poll": plan.next_poll.isoformat() if plan.next_poll else None,
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
                "last_refusal": self._last_refusal or None,
            }
        publish_state(self, self.entity_id, state=status.used, attributes=attributes)

    def _save(self) -> None:
        write_json_atomic(
            self._state_path,
            {
                "inverters": self.fleet.inverters,
                "ecus": self.fleet.ecus,
                "poll_source": self.poll_source.value,
                "time_zone": self.site_time_zone,
                "known": self._known,
                "notified": self._flags,
                "fixed_sent": self._fixed_sent,
            },
        )
