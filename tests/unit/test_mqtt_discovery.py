"""The MQTT discovery payloads built from the entity model (no broker: the topics and JSON alone)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from apsystems.budget.config import parse_budget_args
from apsystems.common.args import PublishSettings, parse_publish
from apsystems.common.mqtt_discovery import (
    Availability,
    attributes_payload,
    button_messages,
    config_payload,
    device_block,
    entity_messages,
    entity_name,
    removal_messages,
    state_payload,
    topics,
)
from apsystems.inverters.config import parse_inverters_args
from apsystems.inverters.entities import entity_specs, refresh_button, scan_button
from apsystems.production.config import parse_production_args
from apsystems.production.entities import energy_entities, power_entity
from chargehq.forwarder_app import parse_app_args
from chargehq.status import status_entity_model

AVAILABILITY = Availability("appdaemon_mqtt_client/status", "online", "offline")


def test_energy_sensor_config_keeps_todays_entity_id_and_classes() -> None:
    entity = energy_entities("AZ12649A3DFF")["total_energy"]
    config = config_payload(entity, AVAILABILITY)
    assert config["unique_id"] == "sensor.apsystems_az12649a3dff_total_energy"
    assert config["default_entity_id"] == "sensor.apsystems_az12649a3dff_total_energy"
    assert config["object_id"] == "apsystems_az12649a3dff_total_energy"
    assert config["name"] == "lifetime energy"  # HA prefixes the device name: "APsystems AZ12649A3DFF lifetime energy"
    assert (config["unit_of_measurement"], config["device_class"], config["state_class"]) == (
        "kWh",
        "energy",
        "total_increasing",
    )
    assert config["icon"] == "mdi:solar-power"
    assert config["state_topic"] == "apsystems/apsystems_az12649a3dff_total_energy/state"
    assert config["json_attributes_topic"] == "apsystems/apsystems_az12649a3dff_total_energy/attributes"
    assert config["availability_topic"] == "appdaemon_mqtt_client/status"
    assert (config["payload_available"], config["payload_not_available"]) == ("online", "offline")
    assert config["device"] == {
        "identifiers": ["apsystems_az12649a3dff"],
        "name": "APsystems AZ12649A3DFF",
        "manufacturer": "APsystems",
    }
    assert "command_topic" not in config


def test_config_topic_is_derived_from_the_entity_id_and_prefix() -> None:
    where = topics("sensor.apsystems_inverter_80200001_power", "custom/discovery")
    assert where.config == "custom/discovery/sensor/apsystems/apsystems_inverter_80200001_power/config"
    with pytest.raises(ValueError, match=r"domain\.object_id"):
        topics("no_domain")


@pytest.mark.parametrize("channels", [2, 4])
def test_inverter_devices_chain_to_their_ecu_and_system(channels: int) -> None:
    specs = entity_specs("80200001", "DS3" if channels == 2 else "QS1", channels, "216200001", "AZ1")
    assert len(specs) == 1 + 3 * channels + 3
    for spec in specs:
        device = config_payload(spec.entity, AVAILABILITY)["device"]
        assert device["identifiers"] == ["apsystems_inverter_80200001"]
        assert device["via_device"] == "apsystems_ecu_216200001"
        assert device["serial_number"] == "80200001"
        assert device["model"] == ("DS3" if channels == 2 else "QS1")
    ecu = specs[0].entity.device.via
    assert ecu is not None
    assert device_block(ecu) == {
        "identifiers": ["apsystems_ecu_216200001"],
        "name": "APsystems ECU 216200001",
        "manufacturer": "APsystems",
        "model": "ECU",
        "serial_number": "216200001",
        "via_device": "apsystems_az1",
    }
    dc = config_payload(specs[1].entity, AVAILABILITY)
    assert (dc["unit_of_measurement"], dc["device_class"], dc["state_class"]) == ("W", "power", "measurement")
    assert dc["name"] == "DC power channel 1"


def test_icon_chosen_with_the_state_goes_into_the_config_not_the_attributes() -> None:
    spec = entity_specs("80200001", "DS3", 2)[0]
    attributes = {"icon": "mdi:solar-power", "uid": "80200001", "friendly_name": "x", "hourly_ac_power": [0.0, 1.5]}
    config = config_payload(spec.entity, AVAILABILITY, extra=attributes)
    assert config["icon"] == "mdi:solar-power"
    assert json.loads(attributes_payload(attributes)) == {"uid": "80200001", "hourly_ac_power": [0.0, 1.5]}


def test_messages_are_retained_config_first() -> None:
    entity = power_entity("AZ1")
    messages = entity_messages(entity, 0.0, {"data_time": "2026-06-01T12:00:00+02:00"}, AVAILABILITY)
    assert [m.topic.rsplit("/", 1)[1] for m in messages] == ["config", "attributes", "state"]
    assert all(m.retain for m in messages)
    assert messages[2].payload == "0.0"  # a zero stays a zero (unlike AppDaemon's REST cleaning)
    assert json.loads(messages[1].payload) == {"data_time": "2026-06-01T12:00:00+02:00"}


@pytest.mark.parametrize(("state", "payload"), [(None, "None"), ("unknown", "None"), (12.5, "12.5"), ("ok", "ok")])
def test_state_payload(state: object, payload: str) -> None:
    assert state_payload(state) == payload


def test_attributes_over_16_kib_are_refused() -> None:
    with pytest.raises(ValueError, match="16384"):
        attributes_payload({"series": ["x" * 100] * 200})


def test_buttons_have_a_command_topic_on_the_system_device() -> None:
    for entity, object_id in (
        (scan_button("AZ1"), "apsystems_az1_scan_inverters"),
        (refresh_button("AZ1"), "apsystems_az1_refresh_inverters"),
    ):
        (message,) = button_messages(entity, AVAILABILITY)
        assert message.topic == f"homeassistant/button/apsystems/{object_id}/config"
        config = json.loads(message.payload)
        assert config["default_entity_id"] == f"button.{object_id}"
        assert config["command_topic"] == f"apsystems/{object_id}/press"
        assert config["payload_press"] == "PRESS"
        assert config["device"]["identifiers"] == ["apsystems_az1"]
        assert "state_topic" not in config


def test_removal_empties_config_state_and_attributes() -> None:
    messages = removal_messages("sensor.apsystems_inverter_80200001_power")
    assert {m.topic for m in messages} == {
        "homeassistant/sensor/apsystems/apsystems_inverter_80200001_power/config",
        "apsystems/apsystems_inverter_80200001_power/state",
        "apsystems/apsystems_inverter_80200001_power/attributes",
    }
    assert all(m.payload == "" and m.retain for m in messages)


def test_chargehq_status_has_its_own_device_and_todays_name() -> None:
    entity = status_entity_model("chargehq")
    config = config_payload(entity, None)
    assert config["default_entity_id"] == "sensor.chargehq_push_status"
    assert entity_name(entity) == "Charge HQ push status"[len("Charge HQ ") :]
    assert config["device"]["identifiers"] == ["chargehq_chargehq"]
    assert "availability_topic" not in config


def test_parse_publish_defaults_and_errors() -> None:
    assert parse_publish({}, "inverter app") == PublishSettings("set_state", "mqtt", "homeassistant")
    assert parse_publish({"publish": "MQTT", "mqtt_namespace": "broker", "discovery_prefix": "ha/"}, "x") == (
        PublishSettings("mqtt", "broker", "ha")
    )
    with pytest.raises(ValueError, match="publish 'rest' of the inverter app must be set_state"):
        parse_publish({"publish": "rest"}, "inverter app")
    with pytest.raises(ValueError, match="discovery_prefix 'home/#'"):
        parse_publish({"publish": "mqtt", "discovery_prefix": "home/#"}, "x")


def test_every_app_accepts_the_publish_keys() -> None:
    publish = {"publish": "mqtt", "mqtt_namespace": "mqtt", "discovery_prefix": "homeassistant"}
    credentials = {"app_id": "a" * 32, "app_secret": "b" * 12, "sid": "AZ1"}
    parse_production_args({**credentials, **publish})
    parse_inverters_args({**credentials, **publish})
    parse_budget_args(
        {"app_id": "a" * 32, "sid": "AZ1", **publish},
        default_latitude=51.5,
        default_longitude=0.0,
        default_time_zone="Europe/London",
    )
    parse_app_args({"api_key": "k", "production": "sensor.pv", **publish}, Path("/tmp/unused"))
    with pytest.raises(ValueError, match="unknown argument"):
        parse_inverters_args({**credentials, "publsh": "mqtt"})
