"""AppDaemon app: the system's energy and power sensors.

It polls inside the solar window at the interval the budget app plans, reads the daily
summary, and publishes total/today/month/year energy and power. The bookkeeping lives in
``apsystems.production``; this class only schedules, asks the budget, and publishes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from appdaemon.plugins.hass.hassapi import Hass

from apsystems.ad_support import publish_state, state_dir
from apsystems.app_wiring import budget_client, find_budget
from apsystems.months import localize, zone
from apsystems.production import Outcome, ProductionTracker, Readings, resolve_poll_source
from apsystems.production_config import ProductionConfig, parse_production_args
from apsystems.scheduling import next_poll_at
from apsystems.shared_state import NAMESPACE, ProductionShare, production_entity
from apsystems.site_store import SiteInfo, SiteStore, discover

MIN_DELAY_S = 5
MAX_SLEEP_S = 3600
MIDNIGHT_GRACE_S = 5

ENERGY_SENSORS = {
    "total_energy": "lifetime energy",
    "today_energy": "energy today",
    "month_energy": "energy this month",
    "year_energy": "energy this year",
}


class ProductionApp(Hass):
    """Publishes ``sensor.apsystems_<sid>_{total,today,month,year}_energy`` and ``_power``."""

    def initialize(self) -> None:
        try:
            self.cfg: ProductionConfig = parse_production_args(self.args)
        except ValueError as exc:
            self.log(f"Configuration error: {exc}", level="ERROR")
            raise
        self.budget = find_budget(self, self.cfg.budget)
        folder = state_dir(self, self.args)
        self.prefix = f"sensor.apsystems_{self.cfg.sid.lower()}"
        self.client = budget_client(self.cfg, self.budget)
        self.store = SiteStore(folder / f"site_{self.cfg.sid.lower()}.json")
        self.site: SiteInfo | None = self.store.load(self.cfg.sid)
        self.tracker = ProductionTracker(
            self.client,
            self.cfg.sid,
            zone(self._time_zone()),
            (),
            resolve_poll_source(self.cfg.poll_source, 1),
            folder / f"production_{self.cfg.sid.lower()}.json",
        )
        if self.site is not None:
            self._adopt_site(self.site)
        self._timer: str | None = None
        self._starting = True
        self._share_warned = False
        self._publish(self.get_now())  # last known values first: HA forgets set_state entities on restart
        self._schedule(MIN_DELAY_S)

    def terminate(self) -> None:
        self.client.close()

    # ---- the loop --------------------------------------------------------------------

    def _tick(self, **_kwargs: Any) -> None:
        now: datetime = self.get_now()
        try:
            self._work(now)
        finally:
            self._schedule(self._seconds_to_next(now))

    def _work(self, now: datetime) -> None:
        if self.site is None and not self._discover(now):
            return
        window = self.budget.solar_window(now)
        window_open = window.contains(now)
        closed_today = window.end is None or now >= window.end
        if self.tracker.needs_summary(
            now, window_open=window_open, window_closed_today=closed_today, starting=self._starting
        ):
            outcome = self._spend(1, "summary", lambda: self.tracker.refresh_summary(now, closing=closed_today))
            if outcome is not None and not outcome.succeeded:
                self._publish(now)  # one failure per tick: a second timeout would pass AppDaemon's 10 s warning
                return
        if window_open and self._poll_due(now):
            self._spend(self.tracker.calls_per_poll, "poll", lambda: self.tracker.poll(now))
        self._starting = False
        self._publish(now)

    def _poll_due(self, now: datetime) -> bool:
        last = self.tracker.last_poll_at
        return last is None or now >= self._next_poll(last) - timedelta(seconds=MIN_DELAY_S)

    def _next_poll(self, last: datetime) -> datetime:
        return next_poll_at(last, self.budget.plan().interval_s, tz=self.tracker.tz)

    def _seconds_to_next(self, now: datetime) -> float:
        tz = self.tracker.tz
        local = now.astimezone(tz)
        midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time())
        candidates = [
            localize(midnight, tz) + timedelta(seconds=MIDNIGHT_GRACE_S),
            now + timedelta(seconds=MAX_SLEEP_S),
        ]
        window = self.budget.solar_window(now)
        if window.contains(now):
            candidates.append(self._next_poll(self.tracker.last_poll_at or now))
            if window.end is not None:
                candidates.append(window.end + timedelta(seconds=MIN_DELAY_S))
        else:
            opening = self.budget.next_window_open(now)
            if opening is not None:
                candidates.append(opening + timedelta(seconds=MIN_DELAY_S))
        return max(MIN_DELAY_S, (min(candidates) - now).total_seconds())

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

    def _discover(self, now: datetime) -> bool:
        with self.budget.spending(2, "discovery") as decision:
            if not decision.allowed:
                return False
            try:
                site = discover(self.client, self.cfg.sid, now.isoformat())
            except Exception as exc:  # typed API errors and network failures alike: try again later
                self.log(f"Discovery failed, trying again later: {exc}", level="WARNING")
                return False
        self.store.save(site)
        self._adopt_site(site)
        return True

    def _adopt_site(self, site: SiteInfo) -> None:
        self.site = site
        self.tracker.tz = zone(site.timezone or self._time_zone())
        self.tracker.eids = site.query_eids
        self.tracker.source = resolve_poll_source(self.cfg.poll_source, len(site.query_eids))
        self.tracker.set_capacity(site.capacity_kw)  # fail-safe wiring: plausibility limits from the site
        self.budget.set_site(
            inverters=len(site.inverters),
            ecus=len(site.query_eids),
            poll_source=self.tracker.source,
            time_zone=site.timezone,
        )

    def _time_zone(self) -> str:
        return str(self.budget.site_time_zone)

    # ---- publishing ------------------------------------------------------------------

    def _publish(self, now: datetime) -> None:
        window_open = bool(self.budget.solar_window(now).contains(now))
        readings = self.tracker.readings(now, window_open)
        name = f"APsystems {self.cfg.sid}"
        values = {
            "total_energy": readings.total_kwh,
            "today_energy": readings.today_kwh,
            "month_energy": readings.month_kwh,
            "year_energy": readings.year_kwh,
        }
        for suffix, label in ENERGY_SENSORS.items():
            value = values[suffix]
            if value is None:
                continue  # unknown: publish nothing rather than a 0 that HA would read as a reset
            attributes: dict[str, Any] = {
                "friendly_name": f"{name} {label}",
                "unit_of_measurement": "kWh",
                "device_class": "energy",
                "state_class": "total_increasing",
                "icon": "mdi:solar-power",
            }
            if suffix == "today_energy":
                attributes["hourly_kwh"] = list(readings.hourly_kwh)
                attributes["date"] = readings.day.isoformat()
            publish_state(self, f"{self.prefix}_{suffix}", state=value, attributes=attributes)
        self._publish_power(readings, window_open, name)

    def _publish_power(self, readings: Readings, window_open: bool, name: str) -> None:
        power = readings.power
        attributes: dict[str, Any] = {
            "friendly_name": f"{name} power",
            "unit_of_measurement": "W",
            "device_class": "power",
            "state_class": "measurement",
            "icon": "mdi:solar-power",
            "data_time": power.measured_at.isoformat() if power else None,
        }
        if power is None:
            return
        publish_state(self, f"{self.prefix}_power", state=power.watts, attributes=attributes)
        share = ProductionShare(
            self.cfg.sid,
            round(power.watts / 1000.0, 4),
            power.measured_at,
            float(self.budget.plan().interval_s),
            window_open,
            str(self.tracker.tz),
        )
        state, share_attributes = share.to_state()
        try:
            self.set_state(
                production_entity(self.cfg.sid),
                state=state,
                attributes=share_attributes,
                namespace=NAMESPACE,
                replace=True,
                check_existence=False,
            )
        except Exception as exc:  # the user namespace is missing from appdaemon.yaml
            if not self._share_warned:
                self._share_warned = True
                self.log(
                    f"Cannot share production with other apps ({exc}); add the namespace '{NAMESPACE}'"
                    " to appdaemon.yaml as in appdaemon.yaml.example",
                    level="WARNING",
                )
