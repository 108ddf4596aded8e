"""Rounds of meter and battery calls against the fake cloud: one call per slice when answers are
slow, the same values as one read in a row, and failures that keep the last values."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from apsystems.api.client import ApsystemsClient
from apsystems.household import reader
from apsystems.household.lifetime import LifetimeCounter
from apsystems.household.rounds import Call, Round, Step, close_calls, first_calls, read_calls
from apsystems.household.store import DeviceRecord, energy_keys
from fakes.apsystems_cloud import DEFAULT_APP_ID, DEFAULT_APP_SECRET, FakeCloud

TZ = ZoneInfo("Australia/Sydney")
METER, STORAGE = "215000004402", "215000004403"
AT = datetime(2026, 6, 15, 17, 7, tzinfo=TZ)


@pytest.fixture
def cloud() -> Iterator[FakeCloud]:
    with FakeCloud(site="southern") as fake:
        fake.clock.set_fixed(AT)
        yield fake


@pytest.fixture
def api(cloud: FakeCloud) -> Iterator[ApsystemsClient]:
    client = ApsystemsClient(DEFAULT_APP_ID, DEFAULT_APP_SECRET, base_url=cloud.url, clock=cloud.clock.timestamp)
    yield client
    client.close()


def records() -> dict[str, DeviceRecord]:
    return {
        METER: DeviceRecord(METER, "meter", None, LifetimeCounter(energy_keys("meter"))),
        STORAGE: DeviceRecord(STORAGE, "storage", "ELS-5K", LifetimeCounter(energy_keys("storage"))),
    }


class SlowClock:
    """A clock that each call moves on by two seconds: every answer looks slow."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def make_all(
    calls: Round,
    api: ApsystemsClient,
    sid: str,
    devices: dict[str, DeviceRecord],
    failed: dict[str, str],
    warnings: list[str],
) -> Callable[[Call], bool]:
    """An ``attempt`` that the budget never refuses."""

    def attempt(call: Call) -> bool:
        calls.execute(call, api, sid, devices, failed, warnings.append)
        return True

    return attempt


def test_call_lists_follow_the_read_costs() -> None:
    devices = list(records().values())
    assert [c.step for c in read_calls(devices)] == [Step.METER, Step.STORAGE_LATEST, Step.STORAGE_PERIOD]
    assert len(read_calls(devices)) == sum(reader.read_cost(r) for r in devices)
    assert [c.step for c in first_calls(devices)][:2] == [Step.SEED, Step.METER]
    assert close_calls(devices, AT.date()) == []  # no day open yet


def test_a_slow_round_makes_one_call_per_slice_and_reads_what_a_read_in_a_row_reads(
    cloud: FakeCloud, api: ApsystemsClient
) -> None:
    devices, failed, warnings = records(), {}, []  # type: ignore[var-annotated]
    calls = Round(first_calls(devices.values()), AT.date(), TZ)
    clock = SlowClock()
    slices = 0

    def attempt(call: Call) -> bool:
        calls.execute(call, api, cloud.sid, devices, failed, warnings.append)
        clock.now += 2.0
        return True

    while True:
        slices += 1
        sent = cloud.calls.total
        over = calls.run_slice(attempt, clock(), clock=clock)
        assert cloud.calls.total - sent <= 1  # never two slow answers in one slice
        if over:
            break
    assert slices >= 5 and cloud.calls.total == 5 and not failed and not warnings

    in_a_row = records()
    for record in in_a_row.values():
        reader.seed(api, cloud.sid, record, AT.date())
        assert reader.read(api, cloud.sid, record, AT.date(), TZ)
    for eid, record in devices.items():
        assert record.states == in_a_row[eid].states and record.measured_at == in_a_row[eid].measured_at


def test_a_fast_round_runs_in_one_slice(cloud: FakeCloud, api: ApsystemsClient) -> None:
    devices = records()
    calls = Round(read_calls(devices.values()), AT.date(), TZ)
    assert calls.run_slice(make_all(calls, api, cloud.sid, devices, {}, []), 0.0, clock=lambda: 0.5)
    assert cloud.calls.total == 3


def test_a_failed_battery_latest_skips_its_period_and_keeps_the_last_values(
    cloud: FakeCloud, api: ApsystemsClient
) -> None:
    devices, failed, warnings = records(), {}, []  # type: ignore[var-annotated]
    devices[STORAGE].states = {"soc": 55}
    cloud.faults.inject_code(5000, route="storage_latest")
    calls = Round(read_calls(devices.values()), AT.date(), TZ)
    assert calls.run_slice(make_all(calls, api, cloud.sid, devices, failed, warnings), 0.0, clock=lambda: 0.0)
    assert cloud.calls.count("storage_period") == 0 and cloud.calls.total == 2
    assert devices[STORAGE].states == {"soc": 55}
    assert set(failed) == {STORAGE} and "read failed" in failed[STORAGE]
    assert any("keeping the last values" in w for w in warnings)
    assert devices[METER].states  # the meter was read all the same


def test_a_refusal_ends_the_round_and_a_removed_device_is_skipped(cloud: FakeCloud, api: ApsystemsClient) -> None:
    devices = records()
    calls = Round(read_calls(devices.values()), AT.date(), TZ)
    del devices[METER]  # removed by a scan while the round waited
    made: list[Step] = []

    def attempt(call: Call) -> bool:
        made.append(call.step)
        calls.execute(call, api, cloud.sid, devices, {}, print)
        return call.step is not Step.STORAGE_LATEST  # the budget refuses after the battery's first call

    assert calls.run_slice(attempt, 0.0, clock=lambda: 0.0)
    assert made == [Step.METER, Step.STORAGE_LATEST] and cloud.calls.total == 1


def test_closing_a_day_rolls_the_counter_over(cloud: FakeCloud, api: ApsystemsClient) -> None:
    devices = records()
    yesterday = date(2026, 6, 14)
    cloud.clock.set_fixed(datetime(2026, 6, 14, 20, 0, tzinfo=TZ))
    meter = devices[METER]
    reader.seed(api, cloud.sid, meter, yesterday)
    assert reader.read(api, cloud.sid, meter, yesterday, TZ)
    cloud.clock.set_fixed(AT)
    [close] = close_calls([meter], AT.date())
    calls = Round([close], AT.date(), TZ)
    calls.execute(close, api, cloud.sid, devices, {}, print)
    assert meter.counter.open_day() == AT.date()
