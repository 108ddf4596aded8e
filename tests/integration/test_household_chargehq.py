"""An all-APsystems Charge HQ push: the meters app's reads of the fake cloud, through the forwarder's
own source reading and payload building.

Production, consumption, net import, battery discharge and SoC all come from the cloud; the push
must satisfy consumption = production + net import + battery discharge within 0.05 kW and carry
``tsms`` = the cloud's measurement time. A failed or stale meter read must give an error push.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from apsystems.api.client import ApsystemsClient
from apsystems.household import reader
from apsystems.household.lifetime import LifetimeCounter
from apsystems.household.share import HouseholdShare
from apsystems.household.sharing import build_share
from apsystems.household.store import DeviceRecord, energy_keys
from chargehq.config import parse_config
from chargehq.payload import build_push, epoch_ms
from chargehq.sources import read_sources
from fakes.apsystems_cloud import DEFAULT_APP_ID, DEFAULT_APP_SECRET, FakeCloud

TZ = ZoneInfo("Australia/Sydney")
METER, STORAGE = "215000004402", "215000004403"
ALL_APSYSTEMS = {
    "api_key": "k" * 20,
    "production": "apsystems",
    "consumption": "apsystems",
    "net_import": "apsystems",
    "battery_discharge": "apsystems",
    "battery_soc": "apsystems",
    "imported_kwh": "apsystems",
    "exported_kwh": "apsystems",
}
# moments of one winter day: night, morning charge, midday export, evening discharge
MOMENTS = [(6, 2), (9, 37), (12, 7), (15, 52), (17, 7), (21, 12)]


@pytest.fixture(scope="module")
def cloud() -> Iterator[FakeCloud]:
    with FakeCloud(site="southern") as fake:
        yield fake


def read_all(cloud: FakeCloud, at: datetime) -> list[DeviceRecord]:
    cloud.clock.set_fixed(at)
    api = ApsystemsClient(DEFAULT_APP_ID, DEFAULT_APP_SECRET, base_url=cloud.url, clock=cloud.clock.timestamp)
    records = [
        DeviceRecord(METER, "meter", None, LifetimeCounter(energy_keys("meter"))),
        DeviceRecord(STORAGE, "storage", "ELS-5K", LifetimeCounter(energy_keys("storage"))),
    ]
    for record in records:
        reader.seed(api, cloud.sid, record, at.date())
        assert reader.read(api, cloud.sid, record, at.date(), TZ)
    return records


@pytest.mark.parametrize(("hour", "minute"), MOMENTS)
def test_all_apsystems_push_balances_with_the_measurement_time(cloud: FakeCloud, hour: int, minute: int) -> None:
    at = datetime(2026, 6, 15, hour, minute, tzinfo=TZ)
    records = read_all(cloud, at)
    share = HouseholdShare.from_attributes(build_share(cloud.sid, records, {}, 1800.0).to_state()[1])
    assert share is not None
    config = parse_config(ALL_APSYSTEMS)
    results = read_sources(config, lambda _e: None, now=at, apsystems=None, household=share)
    plan = build_push(results, now=at, expected=config.sources, tolerance_kw=config.tolerance_kw)
    assert plan.state == "ok", plan.problems
    meters = plan.site_meters
    assert meters is not None
    for field in ("production_kw", "consumption_kw", "net_import_kw", "battery_discharge_kw", "battery_soc"):
        assert field in meters
    residual = meters["consumption_kw"] - meters["production_kw"] - meters["net_import_kw"]
    residual -= meters["battery_discharge_kw"]
    assert abs(residual) <= 0.05 and plan.equation_ok
    measured = datetime.fromisoformat(str(records[0].measured_at))
    assert plan.tsms == epoch_ms(measured) and timedelta(0) <= at - measured <= timedelta(minutes=20)
    assert 0.0 <= meters["battery_soc"] <= 1.0
    assert meters["imported_kwh"] > 0 and meters["exported_kwh"] >= 0


def test_a_failed_meter_read_gives_an_error_push_never_a_zero(cloud: FakeCloud) -> None:
    at = datetime(2026, 6, 15, 17, 7, tzinfo=TZ)
    records = read_all(cloud, at)
    share = build_share(cloud.sid, records, {METER: "meter 215000004402: read failed (timeout)"}, 1800.0)
    config = parse_config(ALL_APSYSTEMS)
    plan = build_push(read_sources(config, lambda _e: None, now=at, household=share), now=at, expected=config.sources)
    assert plan.state == "error" and plan.site_meters is None
    assert plan.error is not None and "read failed" in plan.error


def test_a_stale_meter_read_gives_an_error_push(cloud: FakeCloud) -> None:
    at = datetime(2026, 6, 15, 12, 7, tzinfo=TZ)
    share = build_share(cloud.sid, read_all(cloud, at), {}, 900.0)
    later = at + timedelta(hours=2)  # 2 x 900 s + 15 min is 45 min
    config = parse_config(ALL_APSYSTEMS)
    plan = build_push(read_sources(config, lambda _e: None, now=later, household=share), now=later)
    assert plan.state == "source_stale" and plan.site_meters is None


def test_without_the_meters_app_the_push_is_an_error(cloud: FakeCloud) -> None:
    at = datetime(2026, 6, 15, 12, 7, tzinfo=TZ)
    config = parse_config(ALL_APSYSTEMS)
    plan = build_push(read_sources(config, lambda _e: None, now=at, household=None), now=at)
    assert plan.state == "error" and "meters app" in (plan.error or "")
