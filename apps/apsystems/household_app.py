"""AppDaemon app: APsystems meters and batteries (storage ECUs) as Home Assistant sensors.

The logic lives in the ``household`` package; this class schedules, asks the budget app
before every call, and publishes through the ``Publisher`` interface.

* Discovery: the site file the inverter and production apps share (or its two calls when
  none is there yet), the meter list (one call) and one summary per device to start the
  lifetime counters; kept in ``household_<sid>.json``. The event ``apsystems_scan_household``
  (and the inverter scan event, a little later) repeats it and adds or removes devices.
* By day: one read of every meter (one call) and battery (two) after each production poll,
  purpose ``extra_poll``, so the reads follow the budget's pace.
* After sunset: a read every ``night_interval`` of the budget app (stretched by the budget
  when the month's quota cannot carry it), purpose ``household``.
* After midnight: one call per device for the past day's final totals (lifetime counters).

A site without meters or batteries spends nothing after discovery and publishes nothing.
"""

from __future__ import annotations

import threading
from datetime import datetime, tzinfo
from functools import partial
from time import monotonic
from typing import Any

from apsystems.api.errors import ApsystemsError
from apsystems.common.entities import Entity
from apsystems.common.months import zone_or
from apsystems.ha.support import (
    CloudApp,
    NamespaceShare,
    for_system,
    forward_library_logs,
    log_version,
    state_dir,
)
from apsystems.ha.wiring import wire_app
from apsystems.household import reader
from apsystems.household.config import LABEL, parse_household_args
from apsystems.household.entities import meter_entities, storage_entities
from apsystems.household.rounds import Call, Round, Step, close_calls, first_calls, read_calls
from apsystems.household.share import household_entity
from apsystems.household.sharing import build_share
from apsystems.household.store import METER_TYPE, DeviceRecord, HouseholdStore, found_devices
from apsystems.inverters.config import SCAN_EVENT as INVERTER_SCAN_EVENT
from apsystems.inverters.jobs import local_day
from apsystems.inverters.site_store import (
    DISCOVERY_RETRY_S,
    DISCOVERY_STEP_S,
    Discovery,
    SiteInfo,
    SiteStore,
    zone_name,
)
from apsystems.production.share import NAMESPACE

SCAN_EVENT = "apsystems_scan_household"
# After the production and inverter apps, whose discovery writes the shared site file.
DISCOVERY_DELAY_S = 30
AFTER_INVERTER_SCAN_S = 15
TICK_S = 60
ROUND_STEP_S = 1  # the rest of a round after a slow answer, in a callback of its own
SLACK_S = 5


def entities_of(record: DeviceRecord) -> dict[str, Entity]:
    return meter_entities(record.eid) if record.kind == "meter" else storage_entities(record.eid, record.model)


class HouseholdApp(CloudApp):
    """Publishes ``sensor.apsystems_meter_<eid>_*`` and ``sensor.apsystems_storage_<eid>_*``."""

    def initialize(self) -> None:
        forward_library_logs(self)
        log_version(self)
        self._lock = threading.RLock()
        self.cfg, self.budget, self.client, self.publisher = wire_app(
            self, lambda: parse_household_args(self.args), LABEL
        )
        folder = state_dir(self, self.args)
        sid = self.cfg.sid.lower()
        self.shared = NamespaceShare(self, NAMESPACE, "meter readings")  # for the Charge HQ forwarder; no yaml edit
        self.discovery = Discovery(self.cfg.sid)
        self.site_store = SiteStore(folder / f"site_{sid}.json")  # shared with the other apps
        self.store = HouseholdStore(folder / f"household_{sid}.json")
        self.site: SiteInfo | None = self.site_store.load(self.cfg.sid)
        self._scan_continues = False  # the rest of a scan is scheduled in a callback of its own
        self._rounds: list[Round] = []  # rounds of calls under way, oldest first
        self.failed: dict[str, str] = {}  # eid -> why its last read gave no value (shared with Charge HQ)
        if self.store.discovered:
            self._tell_budget()
            self._publish()  # last known values first: HA forgets set_state entities on restart
        else:
            self.run_in(self._first_discovery, DISCOVERY_DELAY_S)
        self.listen_event(self._on_scan, SCAN_EVENT)
        self.listen_event(self._on_inverter_scan, INVERTER_SCAN_EVENT)
        self.run_every(self._tick, f"now+{TICK_S}", TICK_S)
        self.log(f"Meters app ready: {self._describe()}")

    # ---- time ------------------------------------------------------------------------------

    def _tz(self) -> tzinfo:
        fallback = str(self.budget.site_time_zone)
        return zone_or(zone_name(self.site, fallback), fallback, self._warn)

    def _describe(self) -> str:
        if not self.store.discovered:
            return "not discovered yet"
        return f"{len(self.store.meters())} meter(s), {len(self.store.storages())} battery(ies)"

    # ---- discovery -------------------------------------------------------------------------

    def _first_discovery(self, **_kwargs: Any) -> None:
        if not self.scan("start") and not self.store.discovered and not self._scan_continues:
            self.run_in(self._first_discovery, DISCOVERY_RETRY_S)

    def _on_scan(self, event_type: str, data: Any, **_kwargs: Any) -> None:
        if for_system(data, self.cfg.sid):
            self.scan(f"event {event_type}")

    def _on_inverter_scan(self, event_type: str, data: Any, **_kwargs: Any) -> None:
        if for_system(data, self.cfg.sid):
            self.run_in(self._later_scan, AFTER_INVERTER_SCAN_S, origin=f"after {event_type}")

    def _later_scan(self, **kwargs: Any) -> None:
        self._scan_continues = False
        origin = str(kwargs.get("origin", "later"))
        if origin == "start":
            self._first_discovery()  # (tried again later when it fails)
        else:
            self.scan(origin)

    def _continue_scan(self, origin: str) -> None:
        """The rest of a scan in a callback of its own: one slow answer per callback at most."""
        self._scan_continues = True
        self.run_in(self._later_scan, DISCOVERY_STEP_S, origin=origin)

    def scan(self, origin: str) -> bool:
        """Find the meters and batteries again; True when the scan went through."""
        with self._lock:
            try:
                return self._scan(origin)
            except Exception as exc:  # never let a scan stop the app
                self.log(f"Meter scan ({origin}) failed unexpectedly: {exc!r}", level="ERROR")
                return False

    def _scan(self, origin: str) -> bool:
        """The site (the shared file, else two calls), then the meter list: at start only when an
        ECU of the list says it has a meter, so an inverters-only site spends nothing; a requested
        scan always asks it."""
        started = monotonic()
        site = self.site_store.load(self.cfg.sid)
        if site is None:  # no other app has written it: one call per callback, the scan goes on in the next
            step = self.discovery.budgeted_step(
                self.budget, self.client, self._now().isoformat(), what=f"Meter scan ({origin})", warn=self._warn
            )
            if step.site is not None:
                self.site_store.save(step.site)
            if not step.failed:
                self._continue_scan(origin)
            return False
        meter_ids: tuple[str, ...] = ()
        if origin != "start" or any(d.ecu_type == METER_TYPE for d in site.devices):
            with self.budget.spending(1, "discovery") as decision:
                if not decision.allowed:
                    self.log(f"Meter scan ({origin}) postponed by the API budget: {decision.reason}", level="WARNING")
                    return False
                try:
                    meter_ids = self.client.meters(self.cfg.sid)
                except ApsystemsError as exc:
                    self.log(f"Meter scan ({origin}) failed, trying again later: {exc}", level="WARNING")
                    return False
        self.site = site
        found = found_devices(site, meter_ids)
        gone = [d for eid, d in self.store.devices.items() if eid not in found]
        added, _ = self.store.adopt(found)
        for record in gone:
            for entity in entities_of(record).values():
                self.publisher.remove(entity.entity_id)
        self._seed_and_read([self.store.devices[eid] for eid in added], started)
        self.store.save()
        self._tell_budget()
        self._publish()
        self.log(
            f"Meter scan ({origin}): {self._describe()}; added {', '.join(added) or 'none'},"
            f" removed {', '.join(d.eid for d in gone) or 'none'}"
        )
        return True

    def _seed_and_read(self, records: list[DeviceRecord], started: float) -> None:
        """New devices: their lifetime from the cloud's summary, then a first read (discovery calls)."""
        if not records:
            return
        now, tz = self._now(), self._tz()
        reads = Round(first_calls(records), local_day(now, tz), tz, read_at=now)
        decision = reads.reservation.enter_context(
            self.budget.spending(sum(1 + reader.read_cost(r) for r in records), "discovery")
        )
        if not decision.allowed:
            reads.end()
            self.log(f"First read of new meters postponed by the API budget: {decision.reason}", level="WARNING")
            return
        self._start(reads, started)

    # ---- rounds of calls, one slow answer per callback at most ------------------------------

    @property
    def busy(self) -> bool:
        """A round of calls is under way (it goes on in callbacks of its own)."""
        return bool(self._rounds)

    def _start(self, calls: Round, started: float) -> None:
        self._rounds.append(calls)
        if len(self._rounds) == 1:
            self._run_rounds(started)

    def _continue_rounds(self, **_kwargs: Any) -> None:
        with self._lock:
            try:
                self._run_rounds(monotonic())
            except Exception as exc:  # never let one bad answer stop the app
                self.log(f"Meter read failed unexpectedly: {exc!r}", level="ERROR")
                for calls in self._rounds:
                    calls.end()
                self._rounds.clear()

    def _run_rounds(self, started: float) -> None:
        """Rounds in order, each call while this callback is young; the rest in a callback of its own."""
        while self._rounds:
            current = self._rounds[0]
            if not current.run_slice(partial(self._attempt, current), started):
                self.run_in(self._continue_rounds, ROUND_STEP_S)
                return
            self._rounds.pop(0)
            current.end()
            if current.read_at is not None:
                self.store.last_read_at = current.read_at
            self.store.save()
            self._publish()

    def _attempt(self, calls: Round, call: Call) -> bool:
        """One call of ``calls``; a day close asks the budget for itself (False: refused, the round ends)."""
        if call.step is not Step.CLOSE:
            calls.execute(call, self.client, self.cfg.sid, self.store.devices, self.failed, self._warn)
            return True
        with self.budget.spending(1, "household") as decision:
            if not decision.allowed:
                return False
            calls.execute(call, self.client, self.cfg.sid, self.store.devices, self.failed, self._warn)
        return True

    def _warn(self, message: str) -> None:
        self.log(message, level="WARNING")

    def _tell_budget(self) -> None:
        self.budget.set_household(meters=len(self.store.meters()), storages=len(self.store.storages()))

    # ---- reads -----------------------------------------------------------------------------

    def _tick(self, **_kwargs: Any) -> None:
        with self._lock:
            try:
                self._poll()
            except Exception as exc:  # never let one bad answer stop the app
                self.log(f"Meter read failed unexpectedly: {exc!r}", level="ERROR")

    def _poll(self) -> None:
        records = list(self.store.devices.values())
        if not records or self._rounds:
            return  # an inverters-only site spends nothing here; a round under way goes on first
        started = monotonic()
        now, tz = self._now(), self._tz()
        day = local_day(now, tz)
        closes = close_calls(records, day)
        if closes:  # the past day's final totals, once per device after midnight (one call each)
            self._start(Round(closes, day, tz), started)
        purpose = self._due(now)
        if purpose is None:
            return
        reads = Round(read_calls(records), day, tz, read_at=now)
        decision = reads.reservation.enter_context(
            self.budget.spending(sum(reader.read_cost(r) for r in records), purpose)
        )
        if not decision.allowed:
            reads.end()
            self.log(f"Meter read not sent: {decision.reason}", level="DEBUG")
            return
        self._start(reads, started)

    def _due(self, now: datetime) -> str | None:
        """The purpose of a read due now: after production's poll by day, the night cadence after dark."""
        if self.budget.solar_window(now).contains(now):
            last_poll = self.budget.last_poll_at
            last = self.store.last_read_at
            return "extra_poll" if last_poll is not None and (last is None or last_poll > last) else None
        return "household" if self.budget.household_read_due(self.store.last_read_at, SLACK_S) else None

    # ---- publishing ------------------------------------------------------------------------

    def _publish(self) -> None:
        for record in self.store.devices.values():
            extra = {"measured_at": record.measured_at, "eid": record.eid}
            for key, entity in entities_of(record).items():
                if key in record.states:
                    self.publisher.publish(entity, record.states[key], extra)
        self._share()

    def _share(self) -> None:
        """Meter and battery fields for the Charge HQ forwarder, in the user namespace."""
        if not self.store.devices:
            return
        plan = self.budget.plan()
        interval = float(max(plan.interval_s, plan.night_interval_s))
        share = build_share(self.cfg.sid, self.store.devices.values(), self.failed, interval)
        state, attributes = share.to_state()
        self.shared.put(household_entity(self.cfg.sid), state, attributes)
