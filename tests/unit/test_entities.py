"""The entity model: ids and attributes stay what users have today."""

from __future__ import annotations

from apsystems.common.entities import DeviceKind
from apsystems.inverters.entities import entity_specs
from apsystems.production.entities import api_calls_entity, energy_entities, power_entity


def test_system_entities_keep_their_ids_and_attributes() -> None:
    energy = energy_entities("AZ12649A3DFF")
    assert [e.entity_id for e in energy.values()] == [
        f"sensor.apsystems_az12649a3dff_{key}"
        for key in ("total_energy", "today_energy", "month_energy", "year_energy")
    ]
    assert energy["total_energy"].attributes({"date": "2027-06-15"}) == {
        "friendly_name": "APsystems AZ12649A3DFF lifetime energy",
        "unit_of_measurement": "kWh",
        "device_class": "energy",
        "state_class": "total_increasing",
        "icon": "mdi:solar-power",
        "date": "2027-06-15",
    }
    assert power_entity("AZ1").attributes()["unit_of_measurement"] == "W"
    calls = api_calls_entity("AZ1")
    assert calls.entity_id == "sensor.apsystems_az1_api_calls"
    assert calls.attributes() == {
        "friendly_name": "APsystems AZ1 API calls this month",
        "unit_of_measurement": "calls",
        "icon": "mdi:api",
    }
    assert {e.device.kind for e in (*energy.values(), calls)} == {DeviceKind.SYSTEM}


def test_inverter_entities_belong_to_their_inverter() -> None:
    specs = entity_specs("703000001001", "DS3", 2)
    assert {s.entity.device.identifier for s in specs} == {"703000001001"}
    assert {s.entity.device.kind for s in specs} == {DeviceKind.INVERTER}
    assert specs[0].entity_id == "sensor.apsystems_inverter_703000001001_power"
