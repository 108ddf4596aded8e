"""Per-inverter entity specs and what each sensor publishes."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from apsystems.api.records import channels_for_model
from apsystems.inverters.entities import (
    InverterIdentity,
    channel_count,
    entity_ids,
    entity_specs,
    inverter_states,
)
from apsystems.inverters.telemetry import Latest, SourceData

BERLIN = ZoneInfo("Europe/Berlin")
DAY = date(2026, 6, 21)

UNITS = {
    "power": ("W", "power"),
    "dc_power": ("W", "power"),
    "dc_voltage": ("V", "voltage"),
    "dc_current": ("A", "current"),
    "ac_voltage": ("V", "voltage"),
    "frequency": ("Hz", "frequency"),
    "temperature": ("°C", "temperature"),
}


def kind_of(key: str) -> str:
    return key.rsplit("_ch", 1)[0]


@pytest.mark.parametrize(("model", "channels"), [("DS3", 2), ("YC600", 2), ("QS1", 4), ("QT2", 4)])
def test_specs_per_model(model: str, channels: int) -> None:
    assert channels_for_model(model) == channels
    specs = entity_specs("703000001001", model, channels)
    suffixes = [s.entity_id.removeprefix("sensor.apsystems_inverter_703000001001_") for s in specs]
    expected = ["power"]
    for kind in ("dc_power", "dc_voltage", "dc_current"):
        expected += [f"{kind}_ch{n}" for n in range(1, channels + 1)]
    expected += ["ac_voltage", "frequency", "temperature"]
    assert suffixes == expected
    assert len(specs) == 4 + 3 * channels
    for spec in specs:
        unit, device_class = UNITS[kind_of(spec.key)]
        attrs = spec.base_attributes()
        assert (attrs["unit_of_measurement"], attrs["device_class"], attrs["state_class"]) == (
            unit,
            device_class,
            "measurement",
        )
        assert f"{model} 703000001001" in attrs["friendly_name"]
        if spec.channel is not None:
            assert attrs["friendly_name"].endswith(f"channel {spec.channel}")


def test_uid_is_lower_cased_and_names_differ() -> None:
    ids = entity_ids("ABC000000001", "DS3", 2)
    assert ids[0] == "sensor.apsystems_inverter_abc000000001_power"
    names = [s.friendly_name for s in entity_specs("ABC000000001", "DS3", 2)]
    assert len(set(names)) == len(names)


def test_channel_count_follows_the_data_when_it_shows_more() -> None:
    four = SourceData("batch", DAY, ("12:00",), dc_power=dict.fromkeys((1, 2, 3, 4), (1.0,)))
    assert channel_count(2, None, None) == 2
    assert channel_count(2, four) == 4
    assert channel_count(4, SourceData("batch", DAY, ())) == 4


def detail_two_channels() -> SourceData:
    return SourceData(
        "detail",
        DAY,
        ("12:00", "12:05", "12:10"),
        ac_power=(345.0, 360.0, 349.0),
        dc_power={1: (180.0, 190.0, 182.0), 2: (176.0, 185.0, None)},
        readings={
            "dc_voltage_ch1": Latest(35.04, "12:10"),
            "dc_voltage_ch2": Latest(35.1, "12:10"),
            "dc_current_ch1": Latest(5.123, "12:10"),
            "dc_current_ch2": Latest(5.0, "12:10"),
            "ac_voltage": Latest(231.0, "12:10"),
            "frequency": Latest(50.014, "12:10"),
            "temperature": Latest(39.0, "12:10"),
        },
    )


def test_states_from_detail() -> None:
    who = InverterIdentity("703000001001", "DS3", "216000000101", 2)
    states = inverter_states(who, detail_two_channels(), None, BERLIN)
    prefix = "sensor.apsystems_inverter_703000001001_"
    state, attrs = states[prefix + "power"]
    assert state == 349.0
    assert attrs["dc_channel1_power_w"] == 182.0 and attrs["dc_channel2_power_w"] == 185.0
    assert attrs["dc_channel1_peak_w"] == 190.0 and attrs["dc_channel2_peak_w"] == 185.0
    assert attrs["ac_power_peak_w"] == 360.0
    assert attrs["hourly_times"] == ["12:00", "12:05", "12:10"]
    assert attrs["hourly_ac_power"] == [345, 360, 349]
    assert attrs["hourly_dc_p1"] == [180, 190, 182] and attrs["hourly_dc_p2"] == [176, 185, None]
    assert attrs["inverter_type"] == "DS3" and attrs["ecu_id"] == "216000000101"
    assert attrs["source"] == "detail" and attrs["ac_estimated"] is False
    assert attrs["data_time"] == "2026-06-21T12:10:00+02:00"
    assert states[prefix + "dc_power_ch2"][0] == 185.0
    assert states[prefix + "dc_power_ch2"][1]["data_time"] == "2026-06-21T12:05:00+02:00"
    assert states[prefix + "dc_current_ch1"][0] == 5.12
    assert states[prefix + "frequency"][0] == 50.01
    assert states[prefix + "ac_voltage"][0] == 231.0
    assert states[prefix + "temperature"][0] == 39.0


def test_batch_fresher_supplies_power_values_detail_the_rest() -> None:
    who = InverterIdentity("703000001001", "DS3", "216000000101", 2)
    batch = SourceData("batch", DAY, ("12:00", "20:00"), dc_power={1: (200.0, 10.0), 2: (100.0, 10.0)})
    states = inverter_states(who, detail_two_channels(), batch, BERLIN)
    prefix = "sensor.apsystems_inverter_703000001001_"
    state, attrs = states[prefix + "power"]
    assert state == 19.0  # (10 + 10) × 0.95, flagged as an estimate
    assert attrs["source"] == "batch" and attrs["ac_estimated"] is True and attrs["ac_efficiency"] == 0.95
    assert attrs["dc_channel1_power_w"] == 10.0 and attrs["dc_channel1_peak_w"] == 200.0
    assert attrs["ac_power_peak_w"] == 285.0
    assert states[prefix + "dc_power_ch1"][0] == 10.0
    assert states[prefix + "temperature"][0] == 39.0  # only detail knows it


def test_no_data_means_unknown_with_full_metadata() -> None:
    who = InverterIdentity("801000001001", "QS1", "216000000102", 4)
    states = inverter_states(who, None, None, BERLIN)
    assert len(states) == 16
    assert all(state == "unknown" for state, _ in states.values())
    attrs = states["sensor.apsystems_inverter_801000001001_power"][1]
    for n in range(1, 5):
        assert attrs[f"dc_channel{n}_power_w"] is None and attrs[f"hourly_dc_p{n}"] == []
    assert attrs["hourly_times"] == [] and attrs["ac_power_peak_w"] is None


def test_three_phase_voltages_as_attributes() -> None:
    detail = SourceData(
        "detail",
        DAY,
        ("12:00",),
        ac_power=(900.0,),
        dc_power=dict.fromkeys((1, 2, 3, 4), (240.0,)),
        readings={
            "ac_voltage": Latest(230.0, "12:00"),
            "ac_voltage_l2": Latest(231.0, "12:00"),
            "ac_voltage_l3": Latest(232.0, "12:00"),
        },
    )
    who = InverterIdentity("902000001001", "QT2", "216000000103", 4)
    state, attrs = inverter_states(who, detail, None, BERLIN)["sensor.apsystems_inverter_902000001001_ac_voltage"]
    assert state == 230.0 and attrs["phase_l2_v"] == 231.0 and attrs["phase_l3_v"] == 232.0
