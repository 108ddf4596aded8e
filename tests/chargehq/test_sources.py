"""Reading HA states and the APsystems power: units, signs, times; never 0 for a missing value."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytz

from chargehq.config import SourceSpec, parse_config
from chargehq.sources import (
    ApsystemsSnapshot,
    Missing,
    Reading,
    apsystems_max_age_s,
    apsystems_reading,
    apsystems_snapshot_from_state,
    parse_ha_state,
    parse_time,
    read_sources,
)
from tests.chargehq.conftest import API_KEY, T0


def ha(state: object, unit: str | None = "W", **extra: Any) -> dict[str, Any]:
    attributes: dict[str, Any] = {"friendly_name": "x"}
    if unit is not None:
        attributes["unit_of_measurement"] = unit
    return {"state": state, "attributes": attributes, "last_updated": (T0 - timedelta(seconds=5)).isoformat(), **extra}


POWER = SourceSpec("consumption", "power", "sensor.house_power")


def test_watts_become_kw_with_the_measurement_time() -> None:
    result = parse_ha_state(POWER, ha("2150"), now=T0)
    assert isinstance(result, Reading)
    assert result.value == pytest.approx(2.15)
    assert result.measured_at == T0 - timedelta(seconds=5)
    assert result.max_age_s == 300
    assert not result.delayed
    assert result.entity == "sensor.house_power"


def test_last_reported_counts_when_later() -> None:
    reported = (T0 - timedelta(seconds=1)).isoformat()
    result = parse_ha_state(POWER, ha("0", last_reported=reported), now=T0)
    assert isinstance(result, Reading)
    assert result.measured_at == T0 - timedelta(seconds=1)


def test_no_timestamps_means_now() -> None:
    result = parse_ha_state(POWER, {"state": "1.5", "attributes": {"unit_of_measurement": "kW"}}, now=T0)
    assert isinstance(result, Reading)
    assert result.measured_at == T0


@pytest.mark.parametrize(
    ("invert", "raw", "expected"), [(False, "-1200", -1.2), (True, "-1200", 1.2), (True, "800", -0.8)]
)
def test_invert_flips_the_sign(invert: bool, raw: str, expected: float) -> None:
    spec = SourceSpec("net_import", "power", "sensor.grid", invert=invert)
    result = parse_ha_state(spec, ha(raw), now=T0)
    assert isinstance(result, Reading)
    assert result.value == pytest.approx(expected)


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        ("unavailable", "state is 'unavailable'"),
        ("unknown", "state is 'unknown'"),
        (None, "state is None"),
        ("", "state is empty"),
        ("on", "state 'on' is not a number"),
        ("nan", "not a finite number"),
        ("inf", "not a finite number"),
    ],
)
def test_unusable_states_are_missing_never_zero(state: object, reason: str) -> None:
    result = parse_ha_state(POWER, ha(state), now=T0)
    assert isinstance(result, Missing)
    assert reason in result.reason
    assert "sensor.house_power" in result.reason
    assert not result.config_error


def test_entity_that_does_not_exist() -> None:
    result = parse_ha_state(POWER, None, now=T0)
    assert isinstance(result, Missing)
    assert "does not exist" in result.reason


def test_missing_unit_is_a_config_problem_not_a_guess() -> None:
    result = parse_ha_state(POWER, ha("1500", unit=None), now=T0)
    assert isinstance(result, Missing)
    assert result.config_error
    assert "sensor.house_power" in result.reason
    assert "no unit_of_measurement" in result.reason


def test_unit_override_from_config() -> None:
    spec = SourceSpec("consumption", "power", "sensor.house_power", unit="kW")
    result = parse_ha_state(spec, ha("1.5", unit=None), now=T0)
    assert isinstance(result, Reading)
    assert result.value == 1.5


@pytest.mark.parametrize(
    ("raw", "unit", "expected"), [("55", "%", 0.55), ("100.4", "%", 1.0), ("0.8", "fraction", 0.8), ("0", "%", 0.0)]
)
def test_soc(raw: str, unit: str, expected: float) -> None:
    spec = SourceSpec("battery_soc", "soc", "sensor.soc")
    result = parse_ha_state(spec, ha(raw, unit=unit), now=T0)
    assert isinstance(result, Reading)
    assert result.value == pytest.approx(expected)


def test_soc_out_of_range_points_at_the_unit() -> None:
    spec = SourceSpec("battery_soc", "soc", "sensor.soc", unit="fraction")
    result = parse_ha_state(spec, ha("55", unit=None), now=T0)
    assert isinstance(result, Missing)
    assert result.config_error
    assert "outside 0..1" in result.reason


def test_energy_counter_in_wh() -> None:
    spec = SourceSpec("imported_kwh", "energy", "sensor.import_total")
    result = parse_ha_state(spec, ha("1234567", unit="Wh"), now=T0)
    assert isinstance(result, Reading)
    assert result.value == pytest.approx(1234.567)


def test_parse_time() -> None:
    assert parse_time("2024-06-15T11:55:00Z") == datetime(2024, 6, 15, 11, 55, tzinfo=timezone.utc)
    assert parse_time("2024-06-15T13:55:00+02:00") == datetime(2024, 6, 15, 11, 55, tzinfo=timezone.utc)
    assert parse_time("2024-06-15T11:55:00") is None  # naive: no guessing of the zone
    assert parse_time("yesterday") is None
    berlin = pytz.timezone("Europe/Berlin")
    assert parse_time("2024-06-15T13:55:00", berlin) == datetime(2024, 6, 15, 11, 55, tzinfo=timezone.utc)
    assert parse_time("2024-06-15T13:55:00", ZoneInfo("Europe/Berlin")) == datetime(
        2024, 6, 15, 11, 55, tzinfo=timezone.utc
    )
    assert parse_time(None) is None


def test_apsystems_reading_is_delayed_with_its_measurement_time() -> None:
    measured = T0 - timedelta(minutes=12)
    result = apsystems_reading(ApsystemsSnapshot(2.75, measured, poll_interval_s=600), now=T0)
    assert isinstance(result, Reading)
    assert result.value == 2.75
    assert result.measured_at == measured
    assert result.delayed
    assert result.max_age_s == 2 * 600 + 900 == apsystems_max_age_s(600)


def test_apsystems_local_ecu_time_with_the_system_zone() -> None:
    snapshot = ApsystemsSnapshot(1.5, "2024-06-15T13:50:00", 600, time_zone=pytz.timezone("Europe/Berlin"))
    result = apsystems_reading(snapshot, now=T0)
    assert isinstance(result, Reading)
    assert result.measured_at == T0 - timedelta(minutes=10)


def test_apsystems_night_zero_is_real_and_not_delayed() -> None:
    result = apsystems_reading(ApsystemsSnapshot(0.0, T0 - timedelta(hours=8), 600, window_open=False), now=T0)
    assert isinstance(result, Reading)
    assert result.value == 0.0
    assert result.measured_at == T0
    assert not result.delayed


@pytest.mark.parametrize(
    ("snapshot", "reason"),
    [
        (None, "has not shared a power reading yet"),
        (ApsystemsSnapshot(None, T0, 600), "state is None"),
        (ApsystemsSnapshot(1.0, None, 600), "no usable measurement time"),
        (ApsystemsSnapshot(1.0, "2024-06-15T11:50:00", 600), "no usable measurement time"),
    ],
)
def test_apsystems_missing(snapshot: ApsystemsSnapshot | None, reason: str) -> None:
    result = apsystems_reading(snapshot, now=T0)
    assert isinstance(result, Missing)
    assert reason in result.reason


def test_apsystems_snapshot_from_the_power_entity() -> None:
    state = {
        "state": "2750",
        "attributes": {"unit_of_measurement": "W", "data_time": "2024-06-15T11:50:00+00:00"},
    }
    snapshot = apsystems_snapshot_from_state(state, poll_interval_s=900)
    assert snapshot == ApsystemsSnapshot(2.75, "2024-06-15T11:50:00+00:00", 900, True)
    assert apsystems_snapshot_from_state(None, poll_interval_s=900) is None
    unavailable = apsystems_snapshot_from_state({"state": "unavailable", "attributes": {}}, poll_interval_s=900)
    assert unavailable is not None and unavailable.power_kw is None


def test_read_sources_for_a_whole_config() -> None:
    config = parse_config(
        {
            "api_key": API_KEY,
            "production": "apsystems",
            "consumption": "sensor.house",
            "grid_import": "sensor.grid_in",
            "grid_export": {"entity": "sensor.grid_out"},
        }
    )
    states = {"sensor.house": ha("1800"), "sensor.grid_in": ha("0"), "sensor.grid_out": ha("unavailable")}
    results = read_sources(config, states.get, now=T0, apsystems=ApsystemsSnapshot(3.0, T0 - timedelta(minutes=7), 600))
    assert isinstance(results["production"], Reading) and results["production"].delayed
    assert isinstance(results["consumption"], Reading) and results["consumption"].value == pytest.approx(1.8)
    assert isinstance(results["grid_import"], Reading) and results["grid_import"].value == 0.0
    assert isinstance(results["grid_export"], Missing)
