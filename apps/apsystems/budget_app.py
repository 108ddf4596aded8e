"""AppDaemon app: the API budget of one App ID, a thin adapter around ``BudgetCore``.

The core owns the ledger, the plan, the spending decision, the next poll and which
notifications are due; this class reads apps.yaml, gives the core AppDaemon's clock,
publishes ``sensor.apsystems_<sid>_api_calls`` and calls HA for the notifications. The other
apps fetch it with ``get_app`` and use only the public methods listed in
``apsystems.ha.wiring.Budget``.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from appdaemon.plugins.hass.hassapi import Hass

from apsystems import __version__
from apsystems.api.check import CHECK_EVENT
from apsystems.api.client import RequestRecord
from apsystems.budget.config import LABEL, BudgetConfig, parse_budget_args
from apsystems.budget.core import BudgetCore, Notice, ledger_file_name, legacy_ledger_file_name
from apsystems.budget.ledger import CallLedger
from apsystems.budget.ledger_alerts import ledger_problem_handler, published_floor
from apsystems.budget.pacing import BudgetSettings, CallDecision, Fleet, Plan, PollSource
from apsystems.budget.solar_window import SolarWindow
from apsystems.common.location import Location, site_location
from apsystems.ha.publisher import publisher_for
from apsystems.ha.support import (
    Notifier,
    app_logger,
    forward_library_logs,
    log_version,
    state_dir,
    stop_library_logs,
    warn_once,
)
from apsystems.ha.wiring import claim_app_id, release_app_id
from apsystems.production.entities import api_calls_entity

REFRESH_S = 300
CHECK_ON_START_DELAY_S = 20


class BudgetApp(Hass):
    """One App ID's quota: the sensor and the notifications around the budget core."""

    core: BudgetCore | None = None

    def initialize(self) -> None:
        forward_library_logs(self)
        log_version(self)
        self.core = None
        home = self._home_location()
        try:
            self.cfg: BudgetConfig = parse_budget_args(
                self.args,
                default_latitude=home.latitude,
                default_longitude=home.longitude,
                default_time_zone=home.time_zone,
            )
            self.publisher = publisher_for(self, LABEL)
        except ValueError as exc:
            self.log(f"Configuration error: {exc}", level="ERROR")
            raise
        overridden = {"latitude", "longitude", "time_zone"} & set(self.args)
        self.log(
            f"Solar window at {self.cfg.latitude:g}, {self.cfg.longitude:g} ({self.cfg.time_zone}), from "
            + (f"apps.yaml ({', '.join(sorted(overridden))}) and " if overridden else "")
            + f"{home.source}"
        )
        claim_app_id(self.cfg.app_id, self.name)
        self.entity = api_calls_entity(self.cfg.sid)
        self.entity_id = self.entity.entity_id
        folder = state_dir(self, self.args)
        ledger_path = folder / ledger_file_name(self.cfg.app_id)
        legacy = folder / legacy_ledger_file_name(self.cfg.app_id)
        if not ledger_path.exists() and legacy.is_file():
            shutil.copy2(legacy, ledger_path)  # keep last month's count under the new name
            self.log(f"API-call ledger {legacy.name} now lives in {ledger_path.name}")
        self.notifier = Notifier(self)
        self.core = BudgetCore(
            self.cfg,
            clock=self._now,
            # Ledger problems become one persistent notification (apsystems_ledger).
            ledger=CallLedger(
                ledger_path,
                self.cfg.month_time_zone or self.cfg.time_zone,
                on_problem=ledger_problem_handler(self.notifier.create, self.notifier.dismiss),
            ),
            state_path=folder / f"budget_{self.cfg.sid.lower()}.json",
            log=app_logger(self),
        )
        self._adopt_published_count()
        self._publish()
        self.run_every(self._refresh, f"now+{REFRESH_S}", REFRESH_S)
        if self.cfg.check_on_start:
            # The production app (which holds the App Secret) runs the check; it starts after this app.
            self.run_in(self._ask_for_check, CHECK_ON_START_DELAY_S)
        self.log(f"API budget ready: {self.core.status().used} of {self.cfg.settings.quota} calls used this month")

    def terminate(self) -> None:
        stop_library_logs(self)
        if self.core is not None:
            release_app_id(self.cfg.app_id, self.name)

    # ---- public API for the other apps -------------------------------------------------

    @property
    def budget(self) -> BudgetCore:
        if self.core is None:
            raise RuntimeError(f"budget app {self.name!r} did not start; see its configuration error")
        return self.core

    @property
    def app_id(self) -> str:
        """The App ID this budget counts; every app spending through it must sign with it."""
        return self.cfg.app_id

    def call_hook(self) -> Callable[[RequestRecord], None]:
        """The client's ``on_request``: counts every request sent and reacts to its code."""
        return self._on_request

    def set_site(self, *, inverters: int, ecus: int, poll_source: PollSource, time_zone: str | None) -> None:
        """What discovery found; the plan depends on it. Logs the plan once per change."""
        self.budget.set_site(inverters=inverters, ecus=ecus, poll_source=poll_source, time_zone=time_zone)
        self._publish()

    def set_household(self, *, meters: int, storages: int) -> None:
        """The meters and batteries discovery found; their reads are in the plan from now on."""
        self.budget.set_household(meters=meters, storages=storages)
        self._publish()

    def household_read_due(self, last_read: datetime | None, slack_s: float = 0.0) -> bool:
        """Whether meters and batteries are due a night read (``night_interval`` after ``last_read``)."""
        return self.budget.household_read_due(last_read, slack_s)

    @property
    def last_poll_at(self) -> datetime | None:
        """Production's last poll: the meters app reads with each one."""
        return self.budget.last_poll_at

    def set_history(self, *, enabled: bool, backlog: int) -> None:
        """The energy history app runs, with ``backlog`` backfill calls to go (both enter the plan)."""
        self.budget.set_history(enabled=enabled, backlog=backlog)

    @property
    def settings(self) -> BudgetSettings:
        """The validated budget options (which fixed jobs are planned, the quota, …)."""
        return self.cfg.settings

    @property
    def fleet(self) -> Fleet:
        """What discovery found (inverters and ECUs), as the plan counts it."""
        return self.budget.fleet

    @property
    def poll_source(self) -> PollSource:
        return self.budget.poll_source

    @property
    def site_time_zone(self) -> str:
        return self.budget.site_time_zone

    def plan(self) -> Plan:
        return self.budget.plan()

    def next_poll(self) -> datetime | None:
        """When production polls next (the ``next_poll`` attribute)."""
        return self.budget.next_poll()

    def adopt_last_poll(self, at: datetime | None) -> None:
        """Production's last poll as it kept it (the budget keeps it from now on)."""
        self.budget.adopt_last_poll(at)

    def poll_due(self, slack_s: float = 0.0) -> bool:
        return self.budget.poll_due(slack_s)

    @contextmanager
    def spending(self, cost: int, purpose: str) -> Iterator[CallDecision]:
        """Ask before spending ``cost`` calls; send only if the decision allows it, inside the block.

        No lock is held inside the block: the calls are reserved until it ends.
        """
        with self.budget.spending(cost, purpose) as decision:
            yield decision
        self._publish()

    def solar_window(self, now: datetime) -> SolarWindow:
        """Today's polling window (sunrise/sunset offsets included) at the site."""
        return self.budget.solar_window(now)

    def next_window_open(self, now: datetime) -> datetime | None:
        """When the polling window opens next (None: not within the coming year, e.g. polar night)."""
        return self.budget.next_window_open(now)

    def detail_due(self, uids: Sequence[str]) -> list[str]:
        """The inverters whose detail is due today (all of them unless detail rotates)."""
        return self.budget.detail_due(uids)

    # ---- internals -----------------------------------------------------------------------

    def _now(self) -> datetime:
        now: datetime = self.get_now()
        return now

    def _on_request(self, record: RequestRecord) -> None:
        self._notify(self.budget.record(record))
        self._publish()

    def _home_location(self) -> Location:
        """Home Assistant's location and time zone (the HASS plugin's config), else AppDaemon's."""
        appdaemon = Location(
            float(self.AD.config.latitude), float(self.AD.config.longitude), str(self.AD.time_zone), "AppDaemon"
        )
        try:
            ha_config = self.get_plugin_config()
        except Exception as exc:  # no HASS plugin in this namespace
            self.log(f"No Home Assistant config ({type(exc).__name__}); using AppDaemon's location", level="DEBUG")
            ha_config = None
        home, warning = site_location(ha_config, appdaemon)
        if warning:
            warn_once(self, warning)
        return home

    def _ask_for_check(self, **_kwargs: Any) -> None:
        self.log(f"check_on_start: asking for the credential check of system {self.cfg.sid}")
        self.fire_event(CHECK_EVENT, sid=self.cfg.sid)

    def _adopt_published_count(self) -> None:
        """The count AppDaemon restored for the sensor is a floor: a damaged ledger never counts fewer calls."""
        floor = published_floor(self.get_state(self.entity_id, attribute="all"), self.budget.status().month)
        if floor is not None:
            self.budget.ledger.raise_floor(self.cfg.app_id, self._now(), floor)

    def _notify(self, notices: list[Notice]) -> None:
        for notice in notices:
            if notice.action == "create":
                self.notifier.create(notice.notification_id, notice.title, notice.message)
            else:
                self.notifier.dismiss(notice.notification_id)

    def _refresh(self, **_kwargs: Any) -> None:
        self._publish()

    def _publish(self) -> None:
        used, attributes, notices = self.budget.sensor()
        self._notify(notices)
        self.publisher.publish(self.entity, used, {**attributes, "version": __version__})
