"""The fake clock's modes, and call counting."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from fakes.apsystems_cloud import FakeClock, FakeCloud
from fakes.apsystems_cloud.clock import parse_datetime

from .conftest import NOON_ISH, USER, Api


class RealTime:
    """A controllable stand-in for time.time."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.value = start

    def __call__(self) -> float:
        return self.value


def test_real_mode_follows_real_time() -> None:
    real = RealTime()
    clock = FakeClock(real)
    assert clock.timestamp() == real.value
    real.value += 10
    assert clock.timestamp() == real.value
    assert clock.mode == "real"


def test_fixed_mode() -> None:
    real = RealTime()
    clock = FakeClock(real)
    clock.set_fixed(NOON_ISH)
    real.value += 3600
    assert clock.now() == NOON_ISH
    clock.advance(timedelta(minutes=5))
    assert clock.now() == NOON_ISH + timedelta(minutes=5)
    assert clock.describe()["mode"] == "fixed"


def test_offset_mode() -> None:
    real = RealTime()
    clock = FakeClock(real)
    clock.set_offset(timedelta(days=-1))
    assert clock.timestamp() == real.value - 86400
    real.value += 7
    assert clock.timestamp() == real.value - 86400
    assert clock.describe()["offset_s"] == -86400


def test_speed_mode_compresses_a_day() -> None:
    real = RealTime()
    clock = FakeClock(real)
    clock.set_speed(144.0, NOON_ISH)  # a day in ten minutes
    real.value += 600
    assert clock.now() == NOON_ISH + timedelta(days=1)
    clock.set_fixed(clock.now())
    real.value += 600
    assert clock.now() == NOON_ISH + timedelta(days=1)
    with pytest.raises(ValueError):
        clock.set_speed(0)


def test_naive_datetimes_rejected() -> None:
    with pytest.raises(ValueError, match="aware"):
        FakeClock().set_fixed(datetime(2026, 1, 1))
    assert parse_datetime("2026-01-01T00:00:00Z") == datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_set_real_returns_to_wall_clock() -> None:
    real = RealTime()
    clock = FakeClock(real)
    clock.set_fixed(NOON_ISH)
    clock.set_real()
    assert clock.timestamp() == real.value


def test_call_counts(api: Api, cloud: FakeCloud) -> None:
    sid = cloud.sid
    eid = cloud.site.ecus[0].eid
    uid = cloud.site.ecus[0].inverters[0].uid
    api.get(f"{USER}/systems/summary/{sid}")
    api.get(f"{USER}/systems/summary/{sid}")
    api.get(f"{USER}/systems/energy/{sid}", energy_level="hourly")
    api.get(f"{USER}/systems/{sid}/devices/ecu/energy/{eid}", energy_level="minutely")
    api.get(f"{USER}/systems/{sid}/devices/inverter/energy/{uid}", energy_level="minutely")
    api.get(f"{USER}/systems/{sid}/devices/inverter/batch/energy/{eid}", energy_level="power", date_range="2026-06-14")
    Api(cloud, app_id="e" * 32).get(f"{USER}/systems/summary/{sid}")
    calls = cloud.calls
    assert calls.total == 7
    assert calls.by_app == {cloud.app_id: 6, "e" * 32: 1}
    assert calls.by_route == {
        "system_summary": 3,
        "system_energy:hourly": 1,
        "ecu_energy:minutely": 1,
        "inverter_energy:minutely": 1,
        "batch:power": 1,
    }
    assert calls.count("system_summary", app_id=cloud.app_id) == 2
    assert calls.count("inverter_energy") == 1
    assert calls.by_code == {"0": 6, "2001": 1}
    last = calls.entries()[-2]
    assert last.route == "batch:power" and last.method == "GET" and last.code == 0
    assert "energy_level=power" in last.query and last.path.endswith(eid)
    assert last.time == NOON_ISH.isoformat()
    calls.reset()
    assert calls.total == 0 and calls.entries() == []
