"""The entity model: ids and attributes stay what users have today."""

from __future__ import annotations

from apsystems.api.records import SystemDetails, parse_ecu_ref
from apsystems.common.entities import DeviceKind, system_model
from apsystems.inverters.entities import entity_specs
from apsystems.inverters.site_store import SiteInfo, site_from_api
from apsystems.production.entities import api_calls_entity, check_button, energy_entities, power_entity


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


def test_the_system_device_model_comes_from_the_system_details() -> None:
    assert system_model(1, 1.28) == "PV system 1.28 kW"
    assert system_model(3, 5.0) == "PV and storage system 5 kW"
    assert system_model(2, None) == "Storage system"
    assert system_model(None, 2.38) == "System 2.38 kW"  # a site file written before the type was kept
    assert system_model(9, 0.0) == "System"
    assert system_model(None, None) is None
    assert energy_entities("AZ1", "PV system 1.28 kW")["total_energy"].device.model == "PV system 1.28 kW"
    assert energy_entities("AZ1")["total_energy"].device == energy_entities("AZ1", None)["total_energy"].device


def test_the_check_button_belongs_to_the_system() -> None:
    button = check_button("AZ12649A3DFF", "PV system 1.28 kW")
    assert button.entity_id == "button.apsystems_az12649a3dff_check"
    assert button.device.kind is DeviceKind.SYSTEM and button.device.identifier == "AZ12649A3DFF"
    assert button.device.model == "PV system 1.28 kW"


def test_the_site_file_keeps_the_system_type_and_reads_old_files() -> None:
    details = SystemDetails("AZ1", None, 1.28, 1, "Europe/Berlin", (parse_ecu_ref("216000001234"),), None, None)
    site = site_from_api(details, (), "AZ1", "2026-12-06T12:00:00+00:00")
    assert site.model == "PV system 1.28 kW"
    assert SiteInfo.from_dict(site.to_dict()) == site
    old = {k: v for k, v in site.to_dict().items() if k != "system_type"}
    assert SiteInfo.from_dict(old).system_type is None
    assert SiteInfo.from_dict({**old, "system_type": "1"}).system_type is None  # only what we wrote
