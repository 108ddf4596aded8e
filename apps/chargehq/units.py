"""Unit conversion from Home Assistant's ``unit_of_measurement`` to what Charge HQ expects.

Charge HQ wants power in kW, energy in kWh and the battery's state of charge as a fraction
(0.5 = 50 %). Peers that guessed kW for an unknown unit sent values 1000 times too large, so an
unknown or missing unit is a configuration error here, never a guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from chargehq.errors import ConfigError

Kind = Literal["power", "energy", "soc"]

# Factor from the unit to kW, kWh or a fraction. Spellings are Home Assistant's own.
POWER_TO_KW: Mapping[str, float] = {"mW": 1e-6, "W": 1e-3, "kW": 1.0, "MW": 1e3}
ENERGY_TO_KWH: Mapping[str, float] = {"Wh": 1e-3, "kWh": 1.0, "MWh": 1e3}
# A fractional SOC has no unit in HA; the user says so with ``unit: fraction`` in apps.yaml.
SOC_TO_FRACTION: Mapping[str, float] = {"%": 0.01, "fraction": 1.0}

_TABLES: Mapping[Kind, Mapping[str, float]] = {
    "power": POWER_TO_KW,
    "energy": ENERGY_TO_KWH,
    "soc": SOC_TO_FRACTION,
}
_TARGET: Mapping[Kind, str] = {"power": "kW", "energy": "kWh", "soc": "a fraction"}


def accepted_units(kind: Kind) -> tuple[str, ...]:
    """The unit spellings accepted for ``kind`` (for error messages and documentation)."""
    return tuple(_TABLES[kind])


def _lookup(table: Mapping[str, float], unit: str) -> float | None:
    """Exact match first, then case-insensitive where that cannot confuse milli with mega."""
    stripped = unit.strip()
    if stripped in table:
        return table[stripped]
    if stripped[:1] in ("m", "M"):
        return None
    folded = {name.casefold(): factor for name, factor in table.items() if name[:1] not in ("m", "M")}
    return folded.get(stripped.casefold())


def unit_factor(kind: Kind, unit: str | None, entity: str) -> float:
    """The factor that turns a value in ``unit`` into kW, kWh or a fraction.

    Raises ConfigError naming the entity, the unit and what is accepted, so a user can fix the
    entity's ``unit_of_measurement`` or set ``unit:`` for the source in apps.yaml.
    """
    accepted = ", ".join(accepted_units(kind))
    fix = f"give the entity a unit_of_measurement or set `unit:` for this source in apps.yaml (accepted: {accepted})"
    if unit is None or not str(unit).strip():
        raise ConfigError(f"{entity}: no unit_of_measurement, so its {kind} value cannot be converted; {fix}")
    factor = _lookup(_TABLES[kind], str(unit))
    if factor is None:
        raise ConfigError(f"{entity}: unit {unit!r} is not a {kind} unit; {fix}")
    return factor


def convert(kind: Kind, value: float, unit: str | None, entity: str) -> float:
    """``value`` in ``unit`` expressed in Charge HQ's unit for ``kind`` (kW, kWh or fraction)."""
    return value * unit_factor(kind, unit, entity)


def power_to_kw(value: float, unit: str | None, entity: str = "power") -> float:
    """W, kW or MW (or mW) to kW."""
    return convert("power", value, unit, entity)


def energy_to_kwh(value: float, unit: str | None, entity: str = "energy") -> float:
    """Wh, kWh or MWh to kWh."""
    return convert("energy", value, unit, entity)


def soc_to_fraction(value: float, unit: str | None, entity: str = "battery_soc") -> float:
    """% to a fraction (0.5 = 50 %); an already fractional value only with the unit ``fraction``."""
    return convert("soc", value, unit, entity)


def target_unit(kind: Kind) -> str:
    """Charge HQ's unit for ``kind``, for messages."""
    return _TARGET[kind]
