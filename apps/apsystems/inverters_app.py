"""AppDaemon app: per-inverter sensors, inverter discovery, stale clean-up, scan and refresh.

The logic lives in the ``inverters`` package (``entities``, ``telemetry``, ``scan``,
``store``, ``jobs``); this class schedules, asks the
budget app before every call, and publishes. Every call goes through the budget app's
``spending`` gate and its call hook, so the ledger sees everything.

Jobs (times in the system's local time zone, see ``inverters.jobs``):

* ``detail_time`` (12:30): minutely detail for the inverters the budget says are due
  today (``detail_due``), one call each, purpose ``detail``. It runs shortly after start
  instead when today's run was missed, and on the very first start in daylight (so a new
  install shows values at once; same calls, only earlier: 12:30 is then skipped today);
* ``batch_time`` (23:00): batch power per ECU, one call each, purpose ``batch``;
* every ``batch_every`` seconds in the solar window: batch power again, but only from the
  month's projected surplus (``extra_batch_room``), purpose ``poll``, so it is paced with,
  and never ahead of, production polling;
* scan (event ``apsystems_scan_inverters`` or ``scan_button``): the inverter list, one call;
* refresh (event ``apsystems_refresh_inverters`` or ``refresh_button``): detail now for
  every inverter (or the ``uid`` given in the event), one ``manual`` decision for all.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import date, datetime, time, tzinfo
from typing import Any

from appdaemon.plugins.hass.hassapi import Hass

from apsystems.api.errors import ApsystemsError
from apsystems.common.months import zone_or
from apsystems.ha.publisher import publisher_for
from apsystems.ha.support import forward_library_logs, log_version, state_dir, stop_library_logs
from apsystems.ha.wiring import budget_client, find_budget
from apsystems.inverters.config import LABEL, InvertersConfig, parse_inverters_args
from apsystems.inverters.entities import refresh_button, scan_button
from apsystems.inverters.jobs import extra_batch_room, local_day, next_job_run
from apsystems.inverters.loop import (
    PREPAID,
    JobRun,
    batch_by_inverter,
    batch_eids,
    inverters_of,
    refresh_targets,
    requested_uids,
    run_step,
)
from apsystems.inverters.scan import adopt_site, apply_scan
from apsystems.inverters.sensors import InverterSensors
from apsystems.inverters.site_store import Discovery, SiteInfo, SiteStore
from apsystems.inverters.store import InverterStore
from apsystems.inverters.telemetry import from_minutely
from apsystems.production.tracker import Outcome, outcome_of

SCAN_EVENT = "apsystems_scan_inverters"
REFRESH_EVENT = "apsystems_refresh_inverters"
# The production app discovers 5 s after its start; waiting a little longer lets this app
# read the site file it wrote instead of spending two more calls on the same answer.
DISCOVERY_DELAY_S = 20
DISCOVERY_RETRY_S = 1800
DISCOVERY_STEP_S = 1  # the second discovery call, in a callback of its own
CATCH_UP_DELAY_S = 30
IDLE_STATES = (None, "unknown", "unavailable")


class InvertersApp(Hass):
    """Publishes ``sensor.apsystems_inverter_<uid>_*`` for every inverter of the system."""

    def initialize(self) -> None:
        forward_library_logs(self)
        log_version(self)
        self._lock = threading.RLock()
        try:
            self.cfg: InvertersConfig = parse_inverters_args(self.args)
            self.budget = find_budget(self, self.cfg.budget)
            self.client = budget_client(self.cfg, self.budget, self.name)
            self.publisher = publisher_for(self, LABEL)
        except ValueError as exc:
            self.log(f"Configuration error: {exc}", level="ERROR")
            raise
        sid = self.cfg.sid.lower()
        folder = state_dir(self, self.args)
        self.site_store = SiteStore(folder / f"site_{sid}.json")  # shared with the production app
        self.store = InverterStore(folder / f"inverters_{sid}.json", self.cfg.sid)
        self.site: SiteInfo | None = self.site_store.load(self.cfg.sid)
        self.discovery = Discovery(self.cfg.sid)
        self.sensors = InverterSensors(self.publisher, self.cfg.sid, self.store, self.log)
        self._timers: dict[str, str] = {}
        if self.site is not None:
            self._adopt(self.site)
            self._publish()  # last known values first: HA forgets set_state entities on restart
        else:
            self._timers["discovery"] = self.run_in(self._first_discovery, DISCOVERY_DELAY_S)
        self.publisher.button(scan_button(self.cfg.sid), lambda: self.scan(origin="button scan inverters"))
        self.publisher.button(refresh_button(self.cfg.sid), lambda: self.refresh(origin="button refresh inverters"))
        self.listen_event(self._on_scan_event, SCAN_EVENT)
        self.listen_event(self._on_refresh_event, REFRESH_EVENT)
        if self.cfg.scan_button:
            self.listen_state(self._on_scan_button, self.cfg.scan_button)
        if self.cfg.refresh_button:
            self.listen_state(self._on_refresh_button, self.cfg.refresh_button)
        self._arm("detail")
        self._arm("batch")
        if self.cfg.batch_every_s:
            every = self.cfg.batch_every_s
            self._timers["extra_batch"] = self.run_every(self._extra_batch_tick, f"now+{every}", every)
        self.log(
            f"Inverter app ready: {len(self.site.inverters) if self.site else 'no'} inverter(s) known;"
            f" detail at {self.cfg.detail_time}, batch at {self.cfg.batch_time} ({self._tz_name()} time)"
        )

    def terminate(self) -> None:
        stop_library_logs(self)
        client = getattr(self, "client", None)  # absent when initialize() failed
        if client is not None:
            client.close()

    # ---- time ------------------------------------------------------------------------------

    def _now(self) -> datetime:
        now: datetime = self.get_now()
        return now

    def _tz_name(self) -> str:
        if self.site is not None and self.site.timezone:
            return self.site.timezone
        return str(self.budget.site_time_zone)

    def _tz(self) -> tzinfo:
        return zone_or(self._tz_name(), str(self.budget.site_time_zone), self._warn)

    def _warn(self, message: str) -> None:
        self.log(message, level="WARNING")

    def _today(self) -> date:
        return local_day(self._now(), self._tz())

    # ---- scheduling ------------------------------------------------------------------------

    def _arm(self, job: str) -> None:
        """(Re-)arm the daily ``job`` at its system-local time; soon when today's was missed."""
        at: time = self.cfg.detail_time if job == "detail" else self.cfg.batch_time
        now, tz = self._now(), self._tz()
        done = self.store.jobs.get(job)
        early = job == "detail" and done is None and self._window_open(now)
        when = next_job_run(
            now, at, tz, done, early_first_run=early, site_known=self.site is not None, catch_up_s=CATCH_UP_DELAY_S
        )
        old = self._timers.pop(job, None)
        if old is not None and self.timer_running(old):
            self.cancel_timer(old)
        self._timers[job] = self.run_in(self._daily_job, max(1.0, (when - now).total_seconds()), job=job)

    def _window_open(self, now: datetime) -> bool:
        try:
            return bool(self.budget.solar_window(now).contains(now))
        except Exception:  # the budget's calendar cannot place the sun: keep the fixed time
            return False

    def _daily_job(self, **kwargs: Any) -> None:
        job = str(kwargs.get("job"))
        try:
            with self._lock:
                if job == "detail":
                    self._run_detail()
                else:
                    self._run_batch(extra=False)
        except Exception as exc:  # never let one bad day stop the app
            self.log(f"The {job} job failed unexpectedly: {exc!r}", level="ERROR")
        finally:
            self._arm(job)

    def _first_discovery(self, **_kwargs: Any) -> None:
        with self._lock:
            self._timers.pop("discovery", None)
            if self.site is not None:
                return
            try:
                found = self._discover()
            except Exception as exc:
                self.log(f"Discovery failed unexpectedly: {exc!r}", level="ERROR")
                found = False
            if found is None:  # details read: the inverter list in a callback of its own
                self._timers["discovery"] = self.run_in(self._first_discovery, DISCOVERY_STEP_S)
            elif not found:
                self._timers["discovery"] = self.run_in(self._first_discovery, DISCOVERY_RETRY_S)

    # ---- discovery, scans and stale clean-up -----------------------------------------------

    def _discover(self) -> bool | None:
        """The system's details and inverter list: from the shared site file when the production
        app has written it meanwhile, else one call per callback (None: a step is left)."""
        site = self.site_store.load(self.cfg.sid)
        if site is None:
            step = self.discovery.budgeted_step(
                self.budget, self.client, self._now().isoformat(), what="Discovery", warn=self._warn
            )
            if step.site is None:
                return None if step.pending else False
            site = step.site
            self.site_store.save(site)
        self._adopt(site)
        self.store.save()
        self._publish()
        self.log(f"Discovered {len(site.inverters)} inverter(s) on {len(site.query_eids)} ECU(s)")
        self._arm("detail")
        self._arm("batch")
        return True

    def _adopt(self, site: SiteInfo) -> None:
        """Take ``site`` as the truth: identities, orphans' clean-up, the budget's fleet."""
        adoption = adopt_site(site, self.store, self._warn)
        self.site = site = adoption.site
        if adoption.orphans:
            orphans = adoption.orphans
            self.log(f"Removing {len(orphans)} inverter(s) no longer in the list: {', '.join(orphans)}")
            for uid in orphans:
                self.sensors.remove_inverter(uid)
            self.store.save()
        self.budget.set_site(
            inverters=len(site.inverters),
            ecus=len(site.query_eids),
            poll_source=self.budget.poll_source,
            time_zone=site.timezone,
        )

    def scan(self, origin: str = "request") -> None:
        """Re-read the inverter list (one call) and add or remove inverters' entities."""
        with self._lock:
            try:
                self._scan(origin)
            except Exception as exc:
                self.log(f"Inverter scan failed unexpectedly: {exc!r}", level="ERROR")

    def _scan(self, origin: str) -> None:
        if self.site is None:
            self.log(f"Inverter scan ({origin}): the system is not discovered yet; discovering")
            if self._discover() is None:
                self._timers["discovery"] = self.run_in(self._first_discovery, DISCOVERY_STEP_S)
            return
        answer = None
        with self.budget.spending(1, "discovery") as decision:
            if not decision.allowed:
                self.log(f"Inverter scan ({origin}) refused by the API budget: {decision.reason}", level="WARNING")
                return
            try:
                answer = self.client.inverters(self.cfg.sid)
            except ApsystemsError as exc:
                self.log(f"Inverter scan ({origin}) failed: {exc}", level="WARNING")
        result = apply_scan(self.site, answer, self._now().isoformat())
        if not result.accepted:
            self.log(f"Inverter scan ({origin}) changed nothing: {result.reason}", level="WARNING")
            return
        self.site_store.save(result.site)
        for inv in result.removed:
            self.sensors.remove_inverter(inv.uid)
        self._adopt(result.site)
        self.store.save()
        self._publish([inv.uid for inv in (*result.added, *result.changed)])
        self.log(f"Inverter scan ({origin}): {result.summary()}")

    # ---- telemetry -------------------------------------------------------------------------

    def _budget_allows_job(self, setting: str) -> bool:
        """The budget app plans a fixed job only when its setting is on; so do we."""
        return bool(getattr(self.budget.settings, setting))

    def _run_detail(self) -> None:
        today = self._today()
        self.store.jobs["detail"] = today.isoformat()
        self.store.save()
        if self.site is None:
            return
        if not self._budget_allows_job("inverter_detail"):
            self.log("Inverter detail is off in the budget app (inverter_detail: false); skipping")
            return
        due = self.budget.detail_due([inv.uid for inv in self.site.inverters])
        self._step(JobRun.start("detail", due, today))

    def _log_line(self, message: str, level: str) -> None:
        self.log(message, level=level)

    def _step(self, run: JobRun) -> None:
        """One slice of a job's run (one slow answer per callback at most); the rest in a
        callback of its own, the report when the run is over."""
        call = self._batch_call if run.per_ecu else self._detail_call
        done: list[str] = []
        try:
            run, done = run_step(run, self.budget, call, self._log_line)
        finally:
            self.store.save()
            self._publish(inverters_of(self.site, done) if run.per_ecu else done)
        if run.items:
            self.run_in(self._continue, 1, progress=run)
        else:
            self.log(run.report())

    def _continue(self, **kwargs: Any) -> None:
        run: JobRun = kwargs["progress"]
        with self._lock:
            try:
                self._step(run)
            except Exception as exc:  # never let one bad answer stop the app
                self.log(f"Inverter {run.purpose} failed unexpectedly: {exc!r}", level="ERROR")

    def _detail_call(self, uid: str, day: date) -> Outcome:
        try:
            minutely = self.client.inverter_energy_minutely(self.cfg.sid, uid, day)
        except ApsystemsError as exc:
            return outcome_of(exc)
        self.store.record(uid).detail = from_minutely(minutely, day)
        return Outcome("ok")

    def _batch_call(self, eid: str, day: date) -> Outcome:
        try:
            batch = self.client.batch_power(self.cfg.sid, eid, day)
        except ApsystemsError as exc:
            return outcome_of(exc)
        if self.site is not None:
            for uid, data in batch_by_inverter(self.site, eid, batch, day).items():
                self.store.record(uid).batch = data
        return Outcome("ok")

    def _run_batch(self, *, extra: bool) -> None:
        today = self._today()
        if not extra:
            self.store.jobs["batch"] = today.isoformat()
            self.store.save()
        if self.site is None or not self._budget_allows_job("batch_power"):
            return
        eids = batch_eids(self.site)
        if extra:
            with self.budget.spending(len(eids), "extra_poll") as decision:
                if not decision.allowed:
                    return
            # the calls were allowed together; each ECU is asked in its own slice if answers are slow
        self._step(JobRun.start(PREPAID if extra else "batch", eids, today))

    def _extra_batch_tick(self, **_kwargs: Any) -> None:
        with self._lock:
            try:
                self._extra_batch()
            except Exception as exc:
                self.log(f"Extra batch poll failed unexpectedly: {exc!r}", level="ERROR")

    def _extra_batch(self) -> None:
        if self.site is None or not self._budget_allows_job("batch_power"):
            return
        now = self._now()
        if not self._window_open(now):
            return
        eids = batch_eids(self.site)
        if not eids:
            return
        room, why = extra_batch_room(self.budget.plan(), len(eids))
        if not room:
            self.log(f"No extra batch poll: {why}", level="DEBUG")
            return
        self._run_batch(extra=True)

    def refresh(self, uids: Iterable[str] | None = None, origin: str = "request") -> None:
        """Detail now for ``uids`` (default: every inverter), if the budget allows them all."""
        with self._lock:
            try:
                self._refresh(None if uids is None else list(uids), origin)
            except Exception as exc:
                self.log(f"Manual refresh failed unexpectedly: {exc!r}", level="ERROR")

    def _refresh(self, uids: list[str] | None, origin: str) -> None:
        if self.site is None:
            self.log(f"Manual refresh ({origin}): the system is not discovered yet", level="WARNING")
            return
        targets, unknown = refresh_targets([inv.uid for inv in self.site.inverters], uids)
        if unknown:
            self.log(f"Manual refresh ({origin}): unknown inverter(s) {', '.join(unknown)}", level="WARNING")
        if not targets:
            return
        with self.budget.spending(len(targets), "manual") as decision:
            allowed, reason = decision.allowed, decision.reason  # all or nothing: no half refresh
        if not allowed:
            self.log(
                f"Manual refresh ({origin}) of {len(targets)} inverter(s) refused by the API budget: {reason}",
                level="WARNING",
            )
            return
        self._step(JobRun.start("manual", targets, self._today(), origin))

    # ---- HA triggers -----------------------------------------------------------------------

    def _for_this_system(self, data: Any) -> bool:
        sid = data.get("sid") if isinstance(data, dict) else None
        return sid is None or str(sid).strip().lower() == self.cfg.sid.lower()

    def _on_scan_event(self, event_type: str, data: Any, **_kwargs: Any) -> None:
        if self._for_this_system(data):
            self.scan(origin=f"event {event_type}")

    def _on_refresh_event(self, event_type: str, data: Any, **_kwargs: Any) -> None:
        if not self._for_this_system(data):
            return
        raw = data.get("uid") if isinstance(data, dict) else None
        self.refresh(requested_uids(raw), origin=f"event {event_type}")

    @staticmethod
    def _pressed(old: Any, new: Any) -> bool:
        """A press changes the button's timestamp; HA coming back (from unavailable) is no press."""
        return new not in IDLE_STATES and old not in ("unavailable", new)

    def _on_scan_button(self, entity: str, attribute: str, old: Any, new: Any, **_kwargs: Any) -> None:
        if self._pressed(old, new):
            self.scan(origin=entity)

    def _on_refresh_button(self, entity: str, attribute: str, old: Any, new: Any, **_kwargs: Any) -> None:
        if self._pressed(old, new):
            self.refresh(origin=entity)

    # ---- publishing ------------------------------------------------------------------------

    def _publish(self, uids: Iterable[str] | None = None) -> None:
        """Publish the sensors of ``uids`` (default: every inverter) from what is stored."""
        report = self.sensors.publish(self.site, self._tz(), uids).report()
        if report is not None:
            self.log(report)
