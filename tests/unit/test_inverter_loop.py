"""The inverter jobs' loops: one slow answer per callback, failures in a row across slices, matching."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from apsystems.api.errors import RateLimitedError
from apsystems.api.records import BatchPower, EcuDevices, InverterInfo, parse_ecu_ref
from apsystems.budget.pacing import CallDecision
from apsystems.inverters.jobs import next_job_run
from apsystems.inverters.loop import (
    FailureStreak,
    JobRun,
    Readings,
    batch_by_inverter,
    batch_eids,
    inverters_of,
    refresh_targets,
    requested_uids,
    run_slice,
    run_step,
)
from apsystems.inverters.site_store import SiteInfo
from apsystems.inverters.store import InverterStore
from apsystems.production.tracker import Outcome

DAY = date(2027, 6, 15)


class SlowCloud:
    """Every answer takes ``seconds`` on a fake monotonic clock."""

    def __init__(self, seconds: float, outcome: Outcome) -> None:
        self.seconds, self.outcome, self.now, self.calls = seconds, outcome, 0.0, 0

    def clock(self) -> float:
        return self.now

    def attempt(self, _item: str) -> Outcome:
        self.calls += 1
        self.now += self.seconds
        return self.outcome


def quiet(_message: str, _level: str) -> None:
    pass


def run_job(cloud: SlowCloud, items: list[str]) -> tuple[int, list[str]]:
    """Run slices as the app's callbacks would until nothing is left; (callbacks, done)."""
    streak, callbacks, done, rest = FailureStreak(), 0, [], items
    while rest:
        callbacks += 1
        before = cloud.calls
        result = run_slice(rest, cloud.attempt, streak, purpose="detail", log=quiet, clock=cloud.clock)
        assert cloud.calls - before <= (1 if cloud.seconds > 1.0 else len(rest))
        done += result.done
        rest = [] if result.stopped else result.rest
    return callbacks, done


def test_one_slow_answer_per_callback() -> None:
    cloud = SlowCloud(5.5, Outcome("ok"))
    callbacks, done = run_job(cloud, [f"inv{i}" for i in range(4)])
    assert (callbacks, len(done)) == (4, 4)


def test_fast_answers_share_a_callback() -> None:
    cloud = SlowCloud(0.05, Outcome("ok"))
    callbacks, done = run_job(cloud, [f"inv{i}" for i in range(12)])
    assert (callbacks, len(done)) == (1, 12)


def test_failures_in_a_row_count_across_slices() -> None:
    cloud = SlowCloud(5.5, Outcome("transient", "timeout"))
    run_job(cloud, [f"inv{i}" for i in range(12)])
    assert cloud.calls == 3  # not 12: each slice no longer restarts the count


def test_no_data_goes_on_and_a_refusal_stops() -> None:
    log: list[tuple[str, str]] = []
    streak = FailureStreak(2)
    assert streak.go_on("detail", "inv1", Outcome("no_data"), lambda m, lv: log.append((m, lv)))
    assert streak.count == 0
    assert not streak.go_on("detail", "inv2", Outcome("auth", "4000"), lambda m, lv: log.append((m, lv)))
    assert log[-1][1] == "WARNING" and "refused (auth)" in log[-1][0]
    refused = run_slice(["a", "b"], lambda _uid: None, FailureStreak(), purpose="detail", log=quiet)
    assert refused.stopped and refused.done == [] and refused.rest == []


def test_batch_answers_reach_the_inverters_of_that_ecu_only() -> None:
    ecu1, ecu2 = parse_ecu_ref("216000000101"), parse_ecu_ref("216000000102")
    a, b, c = (
        InverterInfo("703000000001", "DS3", ecu1),
        InverterInfo("703000000002", "DS3", ecu1),
        InverterInfo("703000000003", "DS3", ecu2),
    )
    devices = (EcuDevices(ecu1, 0, "Europe/Berlin", (a, b)), EcuDevices(ecu2, 0, "Europe/Berlin", (c,)))
    site = SiteInfo("B0XD123A3BHJ", "Europe/Berlin", 3.0, (ecu1, ecu2), devices, "2027-06-01T00:00:00")
    batch = BatchPower(
        ("12:00", "12:05"),
        {(a.uid, 1): (100.0, 110.0), (a.uid, 2): (90.0, 95.0), (c.uid, 1): (50.0, 55.0)},
    )
    found = batch_by_inverter(site, ecu1.eid, batch, DAY)
    assert set(found) == {a.uid}  # b has no data in the answer; c belongs to the other ECU
    assert inverters_of(site, [ecu1.eid]) == [a.uid, b.uid]


def test_refresh_targets_and_event_uids() -> None:
    known = ["703000000001", "703000000002"]
    assert refresh_targets(known, None) == (known, [])
    assert refresh_targets(known, [" 703000000002 ", "999"]) == (["703000000002"], ["999"])
    assert requested_uids(703000000001) == ["703000000001"]  # unquoted in an HA script
    assert requested_uids(["a", 1]) == ["a", "1"]
    assert requested_uids(None) is None and requested_uids(True) is None and requested_uids(" ") is None


def test_batch_eids_skip_ecus_without_inverters() -> None:
    ecu1, meter = parse_ecu_ref("216000000101"), parse_ecu_ref("215000000001")
    a = InverterInfo("703000000001", "DS3", ecu1)
    devices = (EcuDevices(ecu1, 0, None, (a,)), EcuDevices(meter, 1, None, ()))
    site = SiteInfo("B0XD123A3BHJ", None, None, (ecu1, meter), devices, "2027-06-01T00:00:00")
    assert batch_eids(site) == [ecu1.eid]
    assert batch_eids(None) == []


def test_next_job_run_catches_up_or_waits_for_its_time() -> None:
    tz = ZoneInfo("Europe/Berlin")
    at = time(12, 30)
    morning = datetime(2027, 6, 15, 9, 0, tzinfo=tz)
    afternoon = datetime(2027, 6, 15, 15, 0, tzinfo=tz)
    kwargs: dict[str, Any] = {"early_first_run": False, "site_known": True, "catch_up_s": 30.0}
    assert next_job_run(morning, at, tz, "2027-06-14", **kwargs) == datetime(2027, 6, 15, 12, 30, tzinfo=tz)
    assert next_job_run(afternoon, at, tz, "2027-06-14", **kwargs) == afternoon + timedelta(seconds=30)
    assert next_job_run(afternoon, at, tz, "2027-06-15", **kwargs) == datetime(2027, 6, 16, 12, 30, tzinfo=tz)
    unknown_site = {**kwargs, "site_known": False}
    assert next_job_run(afternoon, at, tz, "2027-06-14", **unknown_site) == datetime(2027, 6, 16, 12, 30, tzinfo=tz)


class Gate:
    """The budget's gate: allows ``allowed`` single calls, then refuses."""

    def __init__(self, allowed: int) -> None:
        self.allowed = allowed
        self.asked: list[tuple[int, str]] = []

    @contextmanager
    def spending(self, cost: int, purpose: str) -> Iterator[CallDecision]:
        self.asked.append((cost, purpose))
        ok = len(self.asked) <= self.allowed
        yield CallDecision(ok, False, "ok" if ok else "no room")


def run_to_the_end(run: JobRun, gate: Gate, cloud: SlowCloud, log: list[tuple[str, str]]) -> tuple[JobRun, int]:
    """Slices as the app's continuation callbacks run them, each given the run the last one left."""
    callbacks = 0
    while True:
        callbacks += 1
        run, _ = run_step(
            run, gate, lambda item, _day: cloud.attempt(item), lambda m, lv: log.append((m, lv)), clock=cloud.clock
        )
        if not run.items:
            return run, callbacks


def test_a_job_run_goes_on_slice_by_slice_and_reports_at_its_end() -> None:
    cloud, gate, log = SlowCloud(5.5, Outcome("ok")), Gate(10), list[tuple[str, str]]()
    run, callbacks = run_to_the_end(JobRun.start("detail", ["a", "b", "c"], DAY), gate, cloud, log)
    assert callbacks == 3 and gate.asked == [(1, "detail")] * 3
    assert run.report() == f"Inverter detail: 3 of 3 due inverter(s) read for {DAY}"


def test_a_refusal_ends_the_run_and_failures_count_across_slices() -> None:
    cloud, gate, log = SlowCloud(5.5, Outcome("ok")), Gate(1), list[tuple[str, str]]()
    run, _ = run_to_the_end(JobRun.start("manual", ["a", "b", "c"], DAY, "event x"), gate, cloud, log)
    assert ("Stopping manual: no room", "INFO") in log
    assert run.report() == "Manual refresh (event x): 1 of 3 inverter(s) read"
    failing = SlowCloud(5.5, Outcome("transient", "timeout"))
    run, callbacks = run_to_the_end(JobRun.start("batch", ["e1", "e2", "e3", "e4"], DAY), Gate(10), failing, log)
    assert failing.calls == callbacks == 3 and run.report() == f"Batch power: 0 of 4 ECU(s) read for {DAY}"
    assert any(m.startswith("batch ECU e1 failed") for m, _ in log)


def test_an_extra_batch_asks_no_gate_per_call() -> None:
    gate, log = Gate(0), list[tuple[str, str]]()
    run, _ = run_to_the_end(JobRun.start("extra batch", ["e1", "e2"], DAY), gate, SlowCloud(0.1, Outcome("ok")), log)
    assert gate.asked == [] and run.read == 2
    assert run.report() == f"Extra batch power: 2 of 2 ECU(s) read for {DAY}"


class TelemetryCloud:
    """The two calls the jobs make; ``error`` makes every call fail with it."""

    def __init__(self, batch: BatchPower, error: Exception | None = None) -> None:
        self.batch, self.error = batch, error

    def batch_power(self, sid: str, eid: str, day: date) -> BatchPower:
        if self.error is not None:
            raise self.error
        return self.batch

    def inverter_energy_minutely(self, sid: str, uid: str, day: date) -> Any:
        raise self.error or RuntimeError("not in this test")


def test_readings_keep_batch_answers_in_the_store(tmp_path: Path) -> None:
    ecu = parse_ecu_ref("216000000101")
    a = InverterInfo("703000000001", "DS3", ecu)
    site = SiteInfo("B0XD123A3BHJ", "Europe/Berlin", 1.0, (ecu,), (EcuDevices(ecu, 0, None, (a,)),), "")
    batch = BatchPower(("12:00",), {(a.uid, 1): (100.0,), (a.uid, 2): (90.0,)})
    store = InverterStore(tmp_path / "inverters.json", "B0XD123A3BHJ")
    cloud: Any = TelemetryCloud(batch)
    readings = Readings(cloud, "B0XD123A3BHJ", store)
    call = readings.for_run(JobRun.start("batch", [ecu.eid], DAY), site)
    assert call(ecu.eid, DAY).kind == "ok"
    assert store.records[a.uid].batch is not None and store.records[a.uid].detail is None
    cloud.error = RateLimitedError(7002, "too fast")
    assert readings.for_run(JobRun.start("detail", [a.uid], DAY), site)(a.uid, DAY).kind == "rate_limited"
    assert call(ecu.eid, DAY).kind == "rate_limited"
