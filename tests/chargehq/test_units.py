"""Unit conversion: W/kW/MW, Wh/kWh/MWh, % and fractions; unknown or missing units are errors."""

from __future__ import annotations

import pytest

from chargehq.errors import ConfigError
from chargehq.units import accepted_units, energy_to_kwh, power_to_kw, soc_to_fraction, unit_factor


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [(3200, "W", 3.2), (3.2, "kW", 3.2), (0.0032, "MW", 3.2), (3_200_000, "mW", 3.2), (1500, "w", 1.5), (2, "KW", 2)],
)
def test_power_to_kw(value: float, unit: str, expected: float) -> None:
    assert power_to_kw(value, unit, "sensor.pv") == pytest.approx(expected)


@pytest.mark.parametrize(
    ("value", "unit", "expected"), [(12345, "Wh", 12.345), (12.5, "kWh", 12.5), (1.2, "MWh", 1200)]
)
def test_energy_to_kwh(value: float, unit: str, expected: float) -> None:
    assert energy_to_kwh(value, unit, "sensor.import") == pytest.approx(expected)


def test_soc_percent_and_declared_fraction() -> None:
    assert soc_to_fraction(50, "%", "sensor.soc") == pytest.approx(0.5)
    assert soc_to_fraction(0.42, "fraction", "sensor.soc") == pytest.approx(0.42)


@pytest.mark.parametrize("unit", [None, "", "  "])
def test_missing_unit_is_a_config_error_naming_the_entity(unit: str | None) -> None:
    with pytest.raises(ConfigError) as info:
        soc_to_fraction(0.5, unit, "sensor.battery_soc")
    message = str(info.value)
    assert "sensor.battery_soc" in message
    assert "no unit_of_measurement" in message
    assert "%" in message and "fraction" in message


@pytest.mark.parametrize(
    ("kind", "unit"), [("power", "kWh"), ("power", "A"), ("energy", "kW"), ("soc", "kWh"), ("power", "mw")]
)
def test_unknown_unit_names_entity_unit_and_accepted(kind: str, unit: str) -> None:
    with pytest.raises(ConfigError) as info:
        unit_factor(kind, unit, "sensor.thing")  # type: ignore[arg-type]
    message = str(info.value)
    assert "sensor.thing" in message
    assert repr(unit) in message
    for accepted in accepted_units(kind):  # type: ignore[arg-type]
        assert accepted in message


def test_milli_and_mega_are_never_confused() -> None:
    assert power_to_kw(1, "MW") == 1000
    assert power_to_kw(1, "mW") == pytest.approx(1e-6)
    with pytest.raises(ConfigError):
        power_to_kw(1, "mw")
