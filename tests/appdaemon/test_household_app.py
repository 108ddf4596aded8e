"""The meters app in a real AppDaemon with a real budget app, against the fake cloud.

Site ``southern`` (Canberra): one ECU with six DS3-L, a meter and a 5 kWh battery, each on
its own ECU. The fake's clock is fixed at 17:07 Sydney time on the real current date (the
app asks for *today* in the system's zone, and AppDaemon runs on the real clock): the
battery is discharging into the evening peak. Every published value is compared with what
the cloud itself answers for the same device.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from apsystems.api.client import ApsystemsClient
from apsystems.household.entities import METER_KINDS, STORAGE_KINDS
from apsystems.household.share import METER_FIELDS, STORAGE_FIELDS, HouseholdShare, household_entity
from apsystems.production.share import NAMESPACE
from benchmarks.fault_matrix import callback_timer
from fakes.apsystems_cloud import DEFAULT_APP_ID, DEFAULT_APP_SECRET, FakeCloud
from tests.appdaemon.conftest import HarnessFactory
from tests.appdaemon.test_inverters_app import apps_for as inverter_apps
from tests.support.appdaemon_harness import AppDaemonHarness, Location

pytestmark = pytest.mark.appdaemon

HOUSEHOLD = "apsystems_meters"
BUDGET = "apsystems_budget"
SYDNEY = ZoneInfo("Australia/Sydney")
CANBERRA = Location(latitude=-35.28, longitude=149.13, elevation=580, time_zone="Australia/Sydney")
SLOW_S = 4.0
METER = "215000004402"
STORAGE = "215000004403"


def fixed_evening(fake: FakeCloud) -> None:
    today = datetime.now(SYDNEY).date()
    fake.clock.set_fixed(datetime.combine(today, time(17, 7), tzinfo=SYDNEY))


@pytest.fixture
def southern() -> Iterator[FakeCloud]:
    with FakeCloud(site="southern") as fake:
        fixed_evening(fake)
        yield fake


@pytest.fixture
def inverters_only() -> Iterator[FakeCloud]:
    with FakeCloud(site="demo") as fake:
        fixed_evening(fake)
        yield fake


def apps_for(cloud: FakeCloud) -> dict[str, dict[str, Any]]:
    """The inverter tests' budget app (the site's location), and the meters app on its credentials."""
    return {
        BUDGET: inverter_apps(cloud)[BUDGET],
        HOUSEHOLD: {
            "module": "apsystems.household_app",
            "class": "HouseholdApp",
            "dependencies": [BUDGET],
            "app_id": DEFAULT_APP_ID,
            "app_secret": DEFAULT_APP_SECRET,
            "sid": cloud.sid,
            "base_url": cloud.url,
            "budget": BUDGET,
        },
    }


async def fire(ad: AppDaemonHarness, callback: str) -> None:
    entries = [e for e in ad.scheduler_entries(HOUSEHOLD) if e.callback == callback]
    assert len(entries) == 1, f"{callback}: {ad.scheduler_entries(HOUSEHOLD)}"
    await ad.fire_timer(HOUSEHOLD, entries[0].handle)
    await ad.wait_idle(timeout=60)


async def discover(ad: AppDaemonHarness) -> None:
    """The first scan: discovering the site takes two callbacks (one call each) when no other app
    did, the meter list a third; the first reads go on in callbacks of their own after a slow answer."""
    await fire(ad, "_first_discovery")
    while [e for e in ad.scheduler_entries(HOUSEHOLD) if e.callback == "_later_scan"]:
        await fire(ad, "_later_scan")
    await settled(ad)


async def settled(ad: AppDaemonHarness) -> None:
    """Every round of calls done (a round goes on by itself, a second later, after a slow answer)."""
    await ad.wait_for(lambda: not ad.get_app(HOUSEHOLD).busy or None, timeout=60, message="the meter reads")
    await ad.wait_idle(timeout=60)


def close(published: Any, expected: float, *, energy: bool) -> bool:
    value = float(published)
    return abs(value - expected) <= (0.01 if energy else max(0.5, abs(expected) * 0.01))


async def test_every_meter_and_battery_entity_matches_the_cloud(
    appdaemon_factory: HarnessFactory, southern: FakeCloud
) -> None:
    ad = await appdaemon_factory(apps_for(southern), location=CANBERRA)
    assert ad.entity_ids(prefix="sensor.apsystems_meter_") == []
    await discover(ad)

    meter_ids = {f"sensor.apsystems_meter_{METER}_{k.key}": k for k in METER_KINDS}
    storage_ids = {f"sensor.apsystems_storage_{STORAGE}_{k.key}": k for k in STORAGE_KINDS}
    assert set(ad.entity_ids(prefix="sensor.apsystems_meter_")) == set(meter_ids)
    assert set(ad.entity_ids(prefix="sensor.apsystems_storage_")) == set(storage_ids)
    for entity_id, kind in {**meter_ids, **storage_ids}.items():
        attrs = ad.attributes(entity_id)
        assert attrs.get("unit_of_measurement") == kind.unit, entity_id
        assert attrs.get("device_class") == kind.device_class, entity_id
        assert attrs.get("state_class") == kind.state_class, entity_id
        assert attrs["measured_at"].startswith(datetime.now(SYDNEY).date().isoformat())

    # what the cloud says, read after the app with a client of our own
    api = ApsystemsClient(DEFAULT_APP_ID, DEFAULT_APP_SECRET, base_url=southern.url, clock=southern.clock.timestamp)
    before = southern.calls.total
    sid, day = southern.sid, datetime.now(SYDNEY).date()
    meter = api.meter_summary(sid, METER)
    minutely = api.meter_period_minutely(sid, METER, day)
    latest = api.storage_latest(sid, STORAGE)
    battery = api.storage_summary(sid, STORAGE)
    m = f"sensor.apsystems_meter_{METER}_"
    s = f"sensor.apsystems_storage_{STORAGE}_"
    expected_energy = {
        **{f"{m}{k}_today": getattr(meter.today, k) for k in ("consumed", "imported", "exported")},
        **{f"{m}{k}_lifetime": getattr(meter.lifetime, k) for k in ("consumed", "imported", "exported")},
        f"{s}charged_today": battery.today["charge"],
        f"{s}discharged_today": battery.today["discharge"],
        f"{s}charged_lifetime": battery.lifetime["charge"],
        f"{s}discharged_lifetime": battery.lifetime["discharge"],
    }
    for entity_id, value in expected_energy.items():
        assert value is not None and close(ad.state(entity_id), value, energy=True), (entity_id, ad.state(entity_id))
    last = len(minutely.times) - 1
    expected_power = {
        f"{m}consumption_power": minutely.power_w["consumed"][last],
        f"{m}grid_power": minutely.power_w["imported_exported"][last],  # the fake: import positive
        f"{m}production_power": minutely.power_w["produced"][last],
        f"{s}soc": latest.soc_percent,
        f"{s}charge_power": latest.values["charge"],
        f"{s}discharge_power": latest.values["discharge"],
    }
    for entity_id, value in expected_power.items():
        assert value is not None and close(ad.state(entity_id), value, energy=False), (entity_id, ad.state(entity_id))
    assert ad.state(f"{s}mode") == "self_consumption"

    # what the Charge HQ forwarder reads: every field, in its units, with the cloud's measurement time
    shared = ad.entity(household_entity(sid), namespace=NAMESPACE)
    assert shared is not None
    share = HouseholdShare.from_attributes(shared.attributes)
    assert share is not None and not share.problems
    assert set(share.values) == {*METER_FIELDS, *STORAGE_FIELDS}
    assert share.values["consumption"] == pytest.approx(float(ad.state(f"{m}consumption_power")) / 1000)
    assert share.values["battery_soc"] == pytest.approx(float(ad.state(f"{s}soc")) / 100)
    assert share.measured("consumption") == datetime.fromisoformat(ad.attributes(f"{m}grid_power")["measured_at"])

    # discovery: details + inverter list + meter list; a summary and a first read per device
    app_calls = before
    assert southern.calls.count("meters") == 1
    assert southern.calls.count("meter_summary") == 2 and southern.calls.count("storage_summary") == 2  # ours too
    assert app_calls == 3 + (1 + 1) + (1 + 2)
    plan = await ad.call_app(BUDGET, "plan")
    assert plan.poll_cost == 1 + 1 + 2  # a production poll now reads the meter and the battery too
    assert plan.night_interval_s >= 3600

    # a tick right after discovery spends nothing (no production poll since, no night read due)
    await fire(ad, "_tick")
    assert southern.calls.total == app_calls + 4


# Canberra and its antipode: whatever the real time, the solar window is open at one of the two
# and closed at the other, so the day rule and the night cadence are both run by every test run.
HERE_AND_ANTIPODE = {
    "canberra": {"latitude": -35.28, "longitude": 149.13, "time_zone": "Australia/Sydney"},
    "antipode": {"latitude": 35.28, "longitude": -30.87, "time_zone": "Atlantic/Azores"},
}


@pytest.mark.parametrize("where", sorted(HERE_AND_ANTIPODE))
async def test_the_first_read_counts_by_day_and_by_night(
    appdaemon_factory: HarnessFactory, southern: FakeCloud, where: str
) -> None:
    """Discovery's first read is a read: the tick after it spends nothing, whether the budget's
    solar window is open (no production poll since) or closed (the night cadence starts from it)."""
    apps = apps_for(southern)
    apps[BUDGET] = {**apps[BUDGET], **HERE_AND_ANTIPODE[where]}
    ad = await appdaemon_factory(apps, location=CANBERRA)
    await discover(ad)
    app_calls = southern.calls.total
    assert app_calls == 3 + (1 + 1) + (1 + 2)
    await fire(ad, "_tick")
    assert southern.calls.total == app_calls
    assert ad.get_app(HOUSEHOLD).store.last_read_at is not None


async def test_an_inverters_only_site_publishes_nothing_and_reads_nothing(
    appdaemon_factory: HarnessFactory, inverters_only: FakeCloud
) -> None:
    ad = await appdaemon_factory(apps_for(inverters_only), location=CANBERRA)
    await discover(ad)
    assert ad.entity_ids(prefix="sensor.apsystems_meter_") == []
    assert ad.entity_ids(prefix="sensor.apsystems_storage_") == []
    # the site's details and inverter list (which the production app would otherwise fetch); no ECU
    # of the list has a meter or a battery, so no call at all is spent on them
    assert inverters_only.calls.total == 2 and inverters_only.calls.count("meters") == 0
    plan = await ad.call_app(BUDGET, "plan")
    assert plan.poll_cost == 1 and plan.night_interval_s == 0
    await fire(ad, "_tick")
    assert inverters_only.calls.total == 2
    # a requested scan asks the meter list all the same (one call), and still finds nothing
    await ad.fire_event("apsystems_scan_household")
    await ad.wait_idle(timeout=30)
    assert inverters_only.calls.count("meters") == 1 and inverters_only.calls.total == 3
    assert ad.entity_ids(prefix="sensor.apsystems_meter_") == []


async def test_a_slow_cloud_gets_one_call_per_callback(appdaemon_factory: HarnessFactory, southern: FakeCloud) -> None:
    """Every answer takes 4 s: discovery, the meter list, the summaries and the first reads (two
    calls for the battery) each run in a callback of their own, so no callback nears AppDaemon's
    10 s warning, and the values are the same as from a fast cloud."""
    with callback_timer() as durations:
        ad = await appdaemon_factory(apps_for(southern), location=CANBERRA)
        southern.faults.inject("delay", delay_s=SLOW_S, rate=1.0)
        await discover(ad)
        southern.faults.clear()
    ours = [(seconds, label) for label, seconds in durations if HOUSEHOLD in label]
    longest = max(ours, default=(0.0, "-"))
    assert SLOW_S <= longest[0] < 2 * SLOW_S, longest  # a slow answer, never two in one callback
    assert southern.calls.total == 3 + (1 + 1) + (1 + 2)
    assert int(ad.state(f"sensor.apsystems_{southern.sid.lower()}_api_calls")) == southern.calls.total
    for entity_id in (f"sensor.apsystems_meter_{METER}_grid_power", f"sensor.apsystems_storage_{STORAGE}_soc"):
        assert ad.state(entity_id) not in (None, "unknown"), entity_id
    assert not [line for line in ad.log_lines if "Excessive time spent" in line or "Traceback" in line]
