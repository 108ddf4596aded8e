"""AppDaemon app: per-inverter sensors, inverter discovery, stale clean-up, scan and refresh.

The logic lives in the ``inverters`` package, without AppDaemon: ``site_store`` (discovery),
``scan`` (the list's changes and the site's adoption), ``loop`` (a job's slices, retries and
calls), ``sensors`` (publishing and removals), ``store``, ``jobs``, ``telemetry``. This class
schedules, hands a job's progress from callback to callback, and logs. Every call goes
through the budget app's ``spending`` gate and its call hook, so the ledger sees everything.

Jobs (times in the system's local time zone, see ``inverters.jobs``):

* ``detail_time`` (12:30): minutely detail for the inverters the budget says are due
  today (``detail_due``), one call each, purpose ``detail``. It runs shortly after start
  instead when today's run was missed, and on the very first start in daylight (so a new
  install shows values at once; same calls, only earlier: 12:30 is then skipped today);
* ``batch_time`` (23:00): batch power per ECU, one call each, purpose ``batch``;
* every ``batch_every`` seconds in the solar window: batch power again, but only from the
  month's projected surplus (``extra_batch_room``), purpose ``extra_poll``, so it is paced
  with, and never ahead of, production polling;
* scan (event ``apsystems_scan_inverters`` or ``scan_button``): the inverter list, one call;
  an inverter (or a whole ECU) no longer listed loses its entities, never on an empty list;
* refresh (event ``apsystems_refresh_inverters`` or ``refresh_button``): detail now for
  every inverter (or the ``uid`` given in the event), one ``manual`` decision for all.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, tzinfo
from functools import partial
from typing import Any

from apsystems.common.months import zone_or
from apsystems.ha.support import (
    CloudApp,
    app_logger,
    for_system,
    forward_library_logs,
    log_version,
    pressed,
    state_dir,
)
from apsystems.ha.wiring import wire_app
from apsystems.inverters.config import LABEL, REFRESH_EVENT, SCAN_EVENT, InvertersConfig, parse_inverters_args
from apsystems.inverters.entities import refresh_button, scan_button
from apsystems.inverters.jobs import extra_batch_room, local_day, next_job_run
from apsystems.inverters.loop import (
    PREPAID,
    JobRun,
    Readings,
    batch_eids,
    inverters_of,
    refresh_targets,
    requested_uids,
    run_step,
)
from apsystems.inverters.scan import adopt_site, read_list
from apsystems.inverters.sensors import InverterSensors
from apsystems.inverters.site_store import (
    DISCOVERY_RETRY_S,
    DISCOVERY_STEP_S,
    Discovery,
    SiteInfo,
    SiteStore,
    zone_name,
)
from apsystems.inverters.store import InverterStore

# The production app discovers 5 s after its start; waiting a little longer lets this app
# read the site file it wrote instead of spending two more calls on the same answer.
DISCOVERY_DELAY_S = 20
CATCH_UP_DELAY_S = 30


class InvertersApp(CloudApp):
    """Publishes ``sensor.apsystems_inverter_<uid>_*`` for every inverter of the system."""

    def initialize(self) -> None:
        forward_library_logs(self)
        log_version(self)
        self._lock = threading.RLock()
        self.cfg: InvertersConfig
        self.cfg, self.budget, self.client, self.publisher = wire_app(
            self, lambda: parse_inverters_args(self.args), LABEL
        )
        sid = self.cfg.sid.lower()
        folder = state_dir(self, self.args)
        self.site_store = SiteStore(folder / f"site_{sid}.json")  # shared with the production app
        self.store = InverterStore(folder / f"inverters_{sid}.json", self.cfg.sid)
        self.site: SiteInfo | None = self.site_store.load(self.cfg.sid)
        self.discovery = Discovery(self.cfg.sid)
        self.sensors = InverterSensors(self.publisher, self.cfg.sid, self.store, self.log)
        self.readings = Readings(self.client, self.cfg.sid, self.store)
        self._log_line = app_logger(self)
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

    # ---- time ------------------------------------------------------------------------------

    def _tz_name(self) -> str:
        return zone_name(self.site, str(self.budget.site_time_zone))

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
        self._guarded(f"The {job} job", self._run_detail if job == "detail" else self._run_batch)
        self._arm(job)  # never let one bad day stop the app

    def _guarded(self, what: str, work: Callable[[], object]) -> None:
        """``work`` under the app's lock; an unexpected error is a log line, never the app's end."""
        with self._lock:
            try:
                work()
            except Exception as exc:
                self.log(f"{what} failed unexpectedly: {exc!r}", level="ERROR")

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
        self._guarded("Inverter scan", lambda: self._scan(origin))

    def _scan(self, origin: str) -> None:
        if self.site is None:
            self.log(f"Inverter scan ({origin}): the system is not discovered yet; discovering")
            if self._discover() is None:
                self._timers["discovery"] = self.run_in(self._first_discovery, DISCOVERY_STEP_S)
            return
        fetch = partial(self.client.inverters, self.cfg.sid)
        result = read_list(
            self.budget, fetch, self.site, self._now().isoformat(), f"Inverter scan ({origin})", self._warn
        )
        if result is None:
            return
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

    def _step(self, run: JobRun) -> None:
        """One slice of a job's run (one slow answer per callback at most); the rest in a
        callback of its own, the report when the run is over."""
        done: list[str] = []
        try:
            run, done = run_step(run, self.budget, self.readings.for_run(run, self.site), self._log_line)
        finally:
            self.store.save()
            self._publish(inverters_of(self.site, done) if run.per_ecu else done)
        if run.items:
            self.run_in(self._continue, 1, progress=run)
        else:
            self.log(run.report())

    def _continue(self, **kwargs: Any) -> None:
        run: JobRun = kwargs["progress"]
        self._guarded(f"Inverter {run.purpose}", lambda: self._step(run))

    def _run_batch(self) -> None:
        today = self._today()
        self.store.jobs["batch"] = today.isoformat()
        self.store.save()
        if self.site is not None and self._budget_allows_job("batch_power"):
            self._step(JobRun.start("batch", batch_eids(self.site), today))

    def _extra_batch_tick(self, **_kwargs: Any) -> None:
        self._guarded("Extra batch poll", self._extra_batch)

    def _extra_batch(self) -> None:
        eids = batch_eids(self.site)
        if not eids or not self._budget_allows_job("batch_power") or not self._window_open(self._now()):
            return
        room, why = extra_batch_room(self.budget.plan(), len(eids))
        if not room:
            self.log(f"No extra batch poll: {why}", level="DEBUG")
            return
        with self.budget.spending(len(eids), "extra_poll") as decision:
            if not decision.allowed:
                return
        # the calls were allowed together; each ECU is asked in its own slice if answers are slow
        self._step(JobRun.start(PREPAID, eids, self._today()))

    def refresh(self, uids: Iterable[str] | None = None, origin: str = "request") -> None:
        """Detail now for ``uids`` (default: every inverter), if the budget allows them all."""
        self._guarded("Manual refresh", lambda: self._refresh(None if uids is None else list(uids), origin))

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

    def _on_scan_event(self, event_type: str, data: Any, **_kwargs: Any) -> None:
        if for_system(data, self.cfg.sid):
            self.scan(origin=f"event {event_type}")

    def _on_refresh_event(self, event_type: str, data: Any, **_kwargs: Any) -> None:
        if not for_system(data, self.cfg.sid):
            return
        raw = data.get("uid") if isinstance(data, dict) else None
        self.refresh(requested_uids(raw), origin=f"event {event_type}")

    def _on_scan_button(self, entity: str, attribute: str, old: Any, new: Any, **_kwargs: Any) -> None:
        if pressed(old, new):
            self.scan(origin=entity)

    def _on_refresh_button(self, entity: str, attribute: str, old: Any, new: Any, **_kwargs: Any) -> None:
        if pressed(old, new):
            self.refresh(origin=entity)

    # ---- publishing ------------------------------------------------------------------------

    def _publish(self, uids: Iterable[str] | None = None) -> None:
        """Publish the sensors of ``uids`` (default: every inverter) from what is stored."""
        report = self.sensors.publish(self.site, self._tz(), uids).report()
        if report is not None:
            self.log(report)
