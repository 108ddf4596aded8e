"""Home Assistant's Energy validation accepts the meter's grid and the battery's sensors.

A second AppDaemon runs the budget and meters apps against a second fake cloud: a site where
the sun is up now (like the suite's), with an APsystems meter and a battery on storage ECUs.
The meters app publishes into the suite's Home Assistant; the Energy preferences then get a
grid source (``imported_lifetime``/``exported_lifetime``) and a battery source
(``discharged_lifetime``/``charged_lifetime``) next to the suite's solar source, and the test
polls ``energy/validate`` until the recorder's first statistics compile after publishing
(see test_05_energy.py: at most about 5.5 minutes).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from fakes.apsystems_cloud import DEFAULT_APP_ID, DEFAULT_APP_SECRET, FakeCloud
from fakes.apsystems_cloud.presets import daylight
from fakes.apsystems_cloud.site import StorageSpec
from tests.e2e.conftest import Session
from tests.e2e.processes import wait_for
from tests.e2e.test_05_energy import SLACK_S, first_compile_after

pytestmark = pytest.mark.e2e

SID = "METERSDAY001"
METER = "203000009901"
STORAGE = "203000009902"
GRID_FROM = f"sensor.apsystems_meter_{METER}_imported_lifetime"
GRID_TO = f"sensor.apsystems_meter_{METER}_exported_lifetime"
BATTERY_FROM = f"sensor.apsystems_storage_{STORAGE}_discharged_lifetime"
BATTERY_TO = f"sensor.apsystems_storage_{STORAGE}_charged_lifetime"


@pytest.fixture(scope="module")
def meter_cloud() -> Iterator[FakeCloud]:
    site = dataclasses.replace(daylight(), sid=SID, meter_eid=METER, storage=StorageSpec(eid=STORAGE))
    cloud = FakeCloud(site=site).start()
    try:
        yield cloud
    finally:
        cloud.stop()


def meter_apps(cloud: FakeCloud) -> dict[str, dict[str, Any]]:
    site = cloud.site
    credentials = {"app_id": DEFAULT_APP_ID, "sid": SID}
    return {
        "apsystems_budget": {
            "module": "apsystems.budget_app",
            "class": "BudgetApp",
            **credentials,
            "latitude": site.latitude,
            "longitude": site.longitude,
            "time_zone": site.timezone,
        },
        "apsystems_meters": {
            "module": "apsystems.household_app",
            "class": "HouseholdApp",
            "dependencies": ["apsystems_budget"],
            **credentials,
            "app_secret": DEFAULT_APP_SECRET,
            "base_url": cloud.url,
            "budget": "apsystems_budget",
        },
    }


@pytest.mark.timeout(600)
def test_energy_validation_accepts_the_grid_and_battery_sensors(session: Session, meter_cloud: FakeCloud) -> None:
    hass = session.hass
    assert not hass.states().keys() & {GRID_FROM, BATTERY_FROM}, "the suite's site has no meter: none published"
    instance = session.make_appdaemon("appdaemon_meters", meter_apps(meter_cloud), aps_sid=SID)
    instance.start()
    try:
        states = session.wait_for_entities([GRID_FROM, GRID_TO, BATTERY_FROM, BATTERY_TO], timeout=120)
        published_at = datetime.now().astimezone()
        for entity_id, state in states.items():
            attributes = state["attributes"]
            assert attributes["unit_of_measurement"] == "kWh", entity_id
            assert attributes["device_class"] == "energy" and attributes["state_class"] == "total_increasing"
            assert float(state["state"]) > 0, entity_id

        grid = {
            "type": "grid",
            "stat_energy_from": GRID_FROM,
            "stat_energy_to": GRID_TO,
            "stat_cost": None,
            "entity_energy_price": None,
            "number_energy_price": None,
            "stat_compensation": None,
            "entity_energy_price_export": None,
            "number_energy_price_export": None,
            "cost_adjustment_day": 0.0,
        }
        battery = {"type": "battery", "stat_energy_from": BATTERY_FROM, "stat_energy_to": BATTERY_TO}
        prefs = hass.ws({"type": "energy/get_prefs"})[0]
        sources = [s for s in prefs["energy_sources"] if s["type"] not in ("grid", "battery")] + [grid, battery]
        hass.ws({"type": "energy/save_prefs", "energy_sources": sources})
        saved = hass.ws({"type": "energy/get_prefs"})[0]["energy_sources"]
        assert {s["type"] for s in saved} >= {"grid", "battery"}

        deadline = first_compile_after(published_at) + timedelta(seconds=SLACK_S)
        timeout = max(30.0, (deadline - datetime.now().astimezone()).total_seconds())
        seen: list[object] = []

        def validated() -> bool:
            issues = hass.ws({"type": "energy/validate"})[0]["energy_sources"]
            seen[:] = [issues]
            return not any(issues)

        wait_for(
            "energy/validate to report no issue for the grid and battery sources",
            validated,
            timeout=timeout,
            interval=5,
            context=lambda: f"last energy/validate issues: {seen}; saved sources: {saved}",
        )
        statistic_ids = {item["statistic_id"] for item in hass.ws({"type": "recorder/list_statistic_ids"})[0]}
        assert {GRID_FROM, GRID_TO, BATTERY_FROM, BATTERY_TO} <= statistic_ids
    finally:
        instance.stop()
