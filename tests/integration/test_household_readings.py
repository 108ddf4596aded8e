"""Meter and battery readings from the fake cloud over real HTTP, checked against the cloud's own figures."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from apsystems.api.client import ApsystemsClient
from apsystems.household.entities import meter_entities, meter_states, storage_entities, storage_states
from apsystems.household.lifetime import LifetimeCounter
from apsystems.household.readings import METER_ENERGY_KEYS, STORAGE_ENERGY_KEYS, meter_reading, storage_reading
from fakes.apsystems_cloud import DEFAULT_APP_ID, DEFAULT_APP_SECRET, FakeCloud, preset

TZ = ZoneInfo("Australia/Sydney")
# 17:07 local in winter: after sunset the battery discharges into the evening peak
EVENING = datetime(2026, 6, 15, 17, 7, tzinfo=TZ)


@pytest.fixture(scope="module")
def cloud() -> Iterator[FakeCloud]:
    with FakeCloud(site=preset("southern")) as fake:
        fake.clock.set_fixed(EVENING)
        yield fake


@pytest.fixture()
def api(cloud: FakeCloud) -> ApsystemsClient:
    return ApsystemsClient(DEFAULT_APP_ID, DEFAULT_APP_SECRET, base_url=cloud.url, clock=cloud.clock.timestamp)


def eids(api: ApsystemsClient, sid: str) -> tuple[str, str]:
    ecus = api.inverters(sid)
    return next(e for e in ecus if e.has_meter).ecu.eid, next(e for e in ecus if e.has_storage).ecu.eid


def test_meter_reading_is_the_newest_point_and_the_days_totals(api: ApsystemsClient, cloud: FakeCloud) -> None:
    meter, _ = eids(api, cloud.sid)
    day = EVENING.date()
    minutely = api.meter_period_minutely(cloud.sid, meter, day)
    reading = meter_reading(minutely, day, TZ)
    assert reading is not None
    summary = api.meter_summary(cloud.sid, meter)
    for key in METER_ENERGY_KEYS:
        assert reading.today_kwh[key] == pytest.approx(getattr(summary.today, key), abs=0.01)
    assert reading.at == datetime.combine(day, datetime.strptime(minutely.times[-1], "%H:%M").time(), TZ)
    assert timedelta(0) <= EVENING - reading.at <= timedelta(minutes=30)
    # the power-flow equation at the meter: consumption = production + grid (import positive)
    # + battery discharge − charge, with the battery's powers at the same point
    _, storage = eids(api, cloud.sid)
    flows = api.storage_period_minutely(cloud.sid, storage, day)
    i = minutely.times.index(reading.at.strftime("%H:%M"))
    battery = (flows.power_w["discharge"][i] or 0.0) - (flows.power_w["charge"][i] or 0.0)
    assert reading.consumption_w == pytest.approx(reading.production_w + reading.grid_w + battery, abs=50)


def test_grid_sign_is_import_positive_and_follows_the_energies(api: ApsystemsClient, cloud: FakeCloud) -> None:
    meter, _ = eids(api, cloud.sid)
    day = EVENING.date()
    minutely = api.meter_period_minutely(cloud.sid, meter, day)
    reading = meter_reading(minutely, day, TZ)
    assert reading is not None
    i = len(minutely.times) - 1
    imported = minutely.energy_kwh["imported"][i] or 0.0
    exported = minutely.energy_kwh["exported"][i] or 0.0
    assert (reading.grid_w > 0) == (imported > exported)


def test_storage_reading_matches_the_cloud(api: ApsystemsClient, cloud: FakeCloud) -> None:
    _, storage = eids(api, cloud.sid)
    day = EVENING.date()
    latest = api.storage_latest(cloud.sid, storage)
    reading = storage_reading(latest, api.storage_period_minutely(cloud.sid, storage, day), day, TZ)
    assert reading is not None
    summary = api.storage_summary(cloud.sid, storage)
    assert reading.soc_percent == latest.soc_percent and 0 <= reading.soc_percent <= 100
    for key in STORAGE_ENERGY_KEYS:
        assert reading.today_kwh[key] == pytest.approx(summary.today[key] or 0.0, abs=0.01)
    assert reading.mode_name == "self_consumption"  # the fake's battery runs mode 1


def test_lifetime_seeded_from_the_summary_equals_the_clouds(api: ApsystemsClient, cloud: FakeCloud) -> None:
    meter, storage = eids(api, cloud.sid)
    day = EVENING.date()
    summary = api.meter_summary(cloud.sid, meter)
    counter = LifetimeCounter(METER_ENERGY_KEYS)
    counter.seed(day, vars(summary.lifetime), vars(summary.today))
    reading = meter_reading(api.meter_period_minutely(cloud.sid, meter, day), day, TZ)
    assert reading is not None
    lifetime = counter.observe(day, reading.today_kwh)
    for key in METER_ENERGY_KEYS:
        assert lifetime[key] == pytest.approx(getattr(summary.lifetime, key), abs=0.01)
    states = meter_states(reading, lifetime)
    entities = meter_entities(meter)
    assert set(states) == set(entities)
    assert entities["imported_lifetime"].entity_id == f"sensor.apsystems_meter_{meter}_imported_lifetime"
    store = api.storage_summary(cloud.sid, storage)
    battery = LifetimeCounter(STORAGE_ENERGY_KEYS)
    battery.seed(day, store.lifetime, store.today)
    latest = api.storage_latest(cloud.sid, storage)
    sreading = storage_reading(latest, api.storage_period_minutely(cloud.sid, storage, day), day, TZ)
    assert sreading is not None
    sstates = storage_states(sreading, battery.observe(day, sreading.today_kwh))
    assert set(sstates) == set(storage_entities(storage))
    assert sstates["charged_lifetime"] == pytest.approx(store.lifetime["charge"] or 0.0, abs=0.01)


def test_the_day_closes_with_its_final_totals(api: ApsystemsClient, cloud: FakeCloud) -> None:
    """After midnight the open day is closed with yesterday's final minutely totals, then today counts."""
    meter, _ = eids(api, cloud.sid)
    yesterday = EVENING.date() - timedelta(days=1)
    counter = LifetimeCounter(METER_ENERGY_KEYS)
    counter.observe(yesterday, {"consumed": 1.0, "imported": 0.5, "exported": 0.2})  # an afternoon read
    final = meter_reading(api.meter_period_minutely(cloud.sid, meter, yesterday), yesterday, TZ)
    assert final is not None and final.today_kwh["consumed"] > 1.0
    counter.close_day(yesterday, final.today_kwh)
    today = EVENING.date()
    lifetime = counter.observe(today, {"consumed": 0.3, "imported": 0.3, "exported": 0.0})
    assert lifetime["consumed"] == pytest.approx(final.today_kwh["consumed"] + 0.3)


def test_past_day_minutely_totals_equal_the_daily_period(api: ApsystemsClient, cloud: FakeCloud) -> None:
    meter, _ = eids(api, cloud.sid)
    day = date(2026, 6, 10)
    reading = meter_reading(api.meter_period_minutely(cloud.sid, meter, day), day, TZ)
    daily = api.meter_period(cloud.sid, meter, "daily", day)
    assert reading is not None
    index = daily.times.index("10")
    assert reading.today_kwh["imported"] == pytest.approx(daily.imported[index] or 0.0, abs=0.01)
