"""AppDaemon app: the system's energy and power sensors.

It polls inside the solar window at the interval the budget app plans, reads the daily
summary, and publishes total/today/month/year energy and power. The bookkeeping lives in
``apsystems.production.tracker``; this class only schedules, asks the budget, and publishes.
"""

from __future__ import annotations

from datetime import datetime
from time import monotonic
from typing import Any

from appdaemon.plugins.hass.hassapi import Hass

from apsystems.api.check import CHECK_EVENT
from apsystems.api.client import ApsystemsClient
from apsystems.common.months import zone_or
from apsystems.ha.check import CredentialCheck
from apsystems.ha.support import (
    NamespaceShare,
    forward_library_logs,
    log_version,
    state_dir,
    stop_app,
)
from apsystems.ha.wiring import budget_client, wire_app
from apsystems.inverters.scan import checked_site
from apsystems.inverters.site_store import Discovery, SiteInfo, SiteStore
from apsystems.production.config import LABEL, ProductionConfig, parse_production_args
from apsystems.production.entities import check_button, energy_entities, power_entity
from apsystems.production.share import NAMESPACE, ProductionShare, production_entity
from apsystems.production.tracker import Outcome, ProductionTracker, Readings, resolve_poll_source
from apsystems.production.wakeups import MIN_DELAY_S, seconds_to_next

# An answer slower than this ends the callback's work; the rest follows in MIN_DELAY_S.
SLOW_S = 1.0


class ProductionApp(Hass):
    """Publishes ``sensor.apsystems_<sid>_{total,today,month,year}_energy`` and ``_power``."""

    def initialize(self) -> None:
        forward_library_logs(self)
        log_version(self)
        self.shared = NamespaceShare(self, NAMESPACE, "production")  # for the Charge HQ forwarder; no yaml edit
        self.client: ApsystemsClient | None = None
        self.cfg: ProductionConfig
        self.cfg, self.budget, client, self.publisher = wire_app(self, lambda: parse_production_args(self.args), LABEL)
        self.client = client
        folder = state_dir(self, self.args)
        self.store = SiteStore(folder / f"site_{self.cfg.sid.lower()}.json")
        self.site: SiteInfo | None = self.store.load(self.cfg.sid)
        self.discovery = Discovery(self.cfg.sid)
        self.tracker = ProductionTracker(
            client,
            self.cfg.sid,
            zone_or(self._time_zone(), "UTC", self._warn),
            (),
            resolve_poll_source(self.cfg.poll_source, 1),
            folder / f"production_{self.cfg.sid.lower()}.json",
        )
        self.budget.adopt_last_poll(self.tracker.last_poll_at)  # state files written before the budget kept it
        if self.site is not None:
            self._adopt_site(self.site)
        self._timer: str | None = None
        self._starting = True
        self._publish(self.get_now())  # last known values first: HA forgets set_state entities on restart
        self._schedule(MIN_DELAY_S)
        self.check = CredentialCheck(
            self, self.cfg.sid, self.budget, lambda: budget_client(self.cfg, self.budget, self.name)
        )
        self.listen_event(self.check.on_event, CHECK_EVENT)
        self.publisher.button(check_button(self.cfg.sid, self._model()), self._on_check_button)

    def _on_check_button(self) -> None:
        """``button.apsystems_<sid>_check`` (MQTT): exactly what the ``apsystems_check`` event does."""
        self.check.on_event("button check", {})

    def terminate(self) -> None:
        stop_app(self, "check", "client")

    # ---- the loop --------------------------------------------------------------------

    def _tick(self, **_kwargs: Any) -> None:
        now: datetime = self.get_now()
        more = False
        try:
            more = self._work(now)
        finally:
            self._schedule(MIN_DELAY_S if more else self._seconds_to_next(now))

    def _work(self, now: datetime) -> bool:
        """One tick's calls; True when a slow answer left the rest for the next callback.

        At most one slow request per callback: a second one would near AppDaemon's 10 s warning.
        """
        started = monotonic()
        if self.site is None:
            found = self._discover(now)
            if found is None:
                return True  # details read; the inverter list in the next callback
            if not found:
                return False
            if monotonic() - started > SLOW_S:
                return True
        window = self.budget.solar_window(now)
        window_open = window.contains(now)
        closed_today = window.end is None or now >= window.end
        if self.tracker.needs_summary(
            now, window_open=window_open, window_closed_today=closed_today, starting=self._starting
        ):
            outcome = self._spend(1, "summary", lambda: self.tracker.refresh_summary(now, closing=closed_today))
            if outcome is not None and not outcome.succeeded:
                self._publish(now)  # one failure per tick: a second timeout would pass AppDaemon's 10 s warning
                return False
            if monotonic() - started > SLOW_S:
                self._publish(now)
                return True
        if window_open and self._poll_due(now):
            self._spend(self.tracker.calls_per_poll, "poll", lambda: self.tracker.poll(now))
        self._starting = False
        self._publish(now)
        return False

    def _poll_due(self, now: datetime) -> bool:
        return self.budget.poll_due(MIN_DELAY_S)

    def _seconds_to_next(self, now: datetime) -> float:
        return seconds_to_next(now, self.budget, self.tracker.tz)

    def _schedule(self, delay_s: float) -> None:
        if self._timer is not None and self.timer_running(self._timer):
            self.cancel_timer(self._timer)
        self._timer = self.run_in(self._tick, round(delay_s, 1))

    # ---- API work --------------------------------------------------------------------

    def _spend(self, cost: int, purpose: str, action: Any) -> Outcome | None:
        with self.budget.spending(cost, purpose) as decision:
            if not decision.allowed:
                return None
            outcome: Outcome = action()
        self._report(purpose, outcome)
        return outcome

    def _report(self, purpose: str, outcome: Outcome) -> None:
        if outcome.kind == "ok":
            return
        if outcome.kind == "no_data":
            self.log(f"{purpose}: no data yet (1001); keeping the last values", level="DEBUG")
        elif outcome.kind in ("transient", "error"):
            self.log(f"{purpose} failed, trying again at the next poll: {outcome.message}", level="WARNING")
        else:  # auth, quota, rate_limited: the budget app notifies; values stay as they are
            self.log(f"{purpose} refused by APsystems ({outcome.kind}): {outcome.message}", level="WARNING")

    def _discover(self, now: datetime) -> bool | None:
        """One discovery call; True once the site is known, None while a step is left, False on failure."""
        step = self.discovery.budgeted_step(
            self.budget, self.tracker.client, now.isoformat(), what="Discovery", warn=self._warn, quiet_refusal=True
        )
        if step.site is None:
            return None if step.pending else False
        self.store.save(step.site)
        self._adopt_site(step.site)
        return True

    def _adopt_site(self, site: SiteInfo) -> None:
        site = checked_site(site, self._warn)
        self.site = site
        self.tracker.tz = zone_or(site.timezone, self._time_zone(), self._warn)
        self.tracker.eids = site.query_eids
        self.tracker.source = resolve_poll_source(self.cfg.poll_source, len(site.query_eids))
        self.tracker.set_capacity(site.capacity_kw)  # fail-safe wiring: plausibility limits from the site
        self.budget.set_site(
            inverters=len(site.inverters),
            ecus=len(site.query_eids),
            poll_source=self.tracker.source,
            time_zone=site.timezone,
        )

    def _warn(self, message: str) -> None:
        self.log(message, level="WARNING")

    def _model(self) -> str | None:
        """The system device's model (MQTT discovery) once the system details are known."""
        return self.site.model if self.site is not None else None

    def _time_zone(self) -> str:
        return str(self.budget.site_time_zone)

    # ---- publishing ------------------------------------------------------------------

    def _publish(self, now: datetime) -> None:
        window_open = bool(self.budget.solar_window(now).contains(now))
        readings = self.tracker.readings(now, window_open)
        values = {
            "total_energy": readings.total_kwh,
            "today_energy": readings.today_kwh,
            "month_energy": readings.month_kwh,
            "year_energy": readings.year_kwh,
        }
        for key, entity in energy_entities(self.cfg.sid, self._model()).items():
            value = values[key]
            if value is None:
                continue  # unknown: publish nothing rather than a 0 that HA would read as a reset
            extra: dict[str, Any] = {}
            if key == "today_energy":
                extra = {"hourly_kwh": list(readings.hourly_kwh), "date": readings.day.isoformat()}
            self.publisher.publish(entity, value, extra)
        self._publish_power(readings, window_open)

    def _publish_power(self, readings: Readings, window_open: bool) -> None:
        power = readings.power
        if power is None:
            return
        measured = {"data_time": power.measured_at.isoformat()}
        self.publisher.publish(power_entity(self.cfg.sid, self._model()), power.watts, measured)
        share = ProductionShare(
            self.cfg.sid,
            round(power.watts / 1000.0, 4),
            power.measured_at,
            float(self.budget.plan().interval_s),
            window_open,
            str(self.tracker.tz),
        )
        state, share_attributes = share.to_state()
        self.shared.put(production_entity(self.cfg.sid), state, share_attributes)
