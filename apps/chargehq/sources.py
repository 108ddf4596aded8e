"""Turning Home Assistant states and the APsystems production app's power into readings.

A reading is a number already in Charge HQ's unit and sign, with the time it was measured.
Anything else (``unavailable``, ``unknown``, a missing entity, text, NaN, a bad unit) is a
``Missing`` with the reason, never 0: a false zero stops the car charging for 15 minutes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo

from apsystems.household.share import HouseholdShare
from chargehq.config import APSYSTEMS, ChargeHQConfig, SourceSpec
from chargehq.errors import ConfigError
from chargehq.units import convert

UNAVAILABLE_STATES = frozenset({"unavailable", "unknown", "none", ""})
# A battery at "100.4 %" is full, not a unit mistake; beyond this slack it is one.
SOC_SLACK = 0.02
# APsystems data is late by design: the ECU uploads about every 15 minutes and we poll at
# the budget's interval. Twice the interval plus that upload period is still "current".
APSYSTEMS_UPLOAD_PERIOD_S = 15 * 60.0
# Signs as the README documents them: only net_import and battery_discharge may be negative.
SIGNED_SOURCES = frozenset({"net_import", "battery_discharge"})
# A standby inverter or a clamp meter reads a few watts below zero at night: noise, sent as 0.
NEGATIVE_NOISE_KW = 0.05
# No home installation comes near this; a larger reading is a unit or data error.
PHYSICAL_MAX_KW = 1000.0


@dataclass(frozen=True)
class Reading:
    """A usable value of one source, in kW, kWh or a fraction, sign already as Charge HQ wants it."""

    source: str
    value: float
    measured_at: datetime
    max_age_s: float
    delayed: bool = False
    """The value carries a reliable device timestamp from minutes ago (the APsystems cloud):
    Charge HQ should get that time as ``tsms``. HA entity times are only when HA last heard
    of the value, so HA readings are never ``delayed``; ``max_age`` covers them."""
    entity: str | None = None


@dataclass(frozen=True)
class Missing:
    """No usable value for a source, and why (for the status entity, the log and the error push)."""

    source: str
    reason: str
    entity: str | None = None
    config_error: bool = False
    """The user has to fix something (a unit) rather than wait for the source."""


SourceResult = Reading | Missing


def utc_now() -> datetime:
    """The current time, aware, in UTC (the default clock)."""
    return datetime.now(timezone.utc)


def parse_time(value: object, default_tz: tzinfo | None = None) -> datetime | None:
    """An aware datetime from a datetime or an ISO 8601 string (``Z`` allowed); ``None`` otherwise.

    A naive time is placed in ``default_tz`` when one is given (the ECU reports local times),
    and rejected otherwise: guessing the zone would shift ``tsms`` by hours.
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
    else:
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        if default_tz is None:
            return None
        localize = getattr(default_tz, "localize", None)  # pytz zones need localize(), not replace()
        parsed = localize(parsed) if callable(localize) else parsed.replace(tzinfo=default_tz)
    return parsed


def parse_number(state: object) -> float | str:
    """The state as a finite float, or the reason it is not one."""
    if state is None:
        return "state is None"
    if isinstance(state, bool):
        return f"state {state!r} is not a number"
    if isinstance(state, (int, float)):
        number = float(state)
    else:
        text = str(state).strip()
        if text.lower() in UNAVAILABLE_STATES:
            return f"state is {text!r}" if text else "state is empty"
        try:
            number = float(text)
        except ValueError:
            shown = text if len(text) <= 40 else text[:40] + "…"
            return f"state {shown!r} is not a number"
    if not math.isfinite(number):
        return f"state {number!r} is not a finite number"
    return number


def check_sign_and_size(source: str, kind: str, value: float, entity: str) -> float | Missing:
    """A value as Charge HQ may get it, or why not: a wrong sign or an impossible size is never sent."""
    if kind == "power" and abs(value) > PHYSICAL_MAX_KW:
        limit = f"beyond any home installation ({PHYSICAL_MAX_KW:g} kW)"
        return Missing(source, f"{source} {value:g} kW is {limit}", entity)
    if source in SIGNED_SOURCES or kind == "soc" or value >= 0:
        return value
    if kind == "power" and value >= -NEGATIVE_NOISE_KW:
        return 0.0
    hint = "; check `invert`" if kind == "power" else ""
    return Missing(source, f"{source} {value:g} must not be negative{hint}", entity, config_error=kind == "power")


def _finish(spec: SourceSpec, value: float, entity: str) -> float | Missing:
    """Apply the sign convention, check the sign and size per field, and a SOC's range."""
    if spec.invert:
        value = -value
    checked = check_sign_and_size(spec.name, spec.kind, value, entity)
    if isinstance(checked, Missing):
        return checked
    value = checked
    if spec.kind == "soc":
        if value < -SOC_SLACK or value > 1 + SOC_SLACK:
            return Missing(
                spec.name,
                f"state of charge {value:g} is outside 0..1 after conversion; check the unit ('%' or 'fraction')",
                entity,
                config_error=True,
            )
        value = min(1.0, max(0.0, value))
    return value


def parse_ha_state(spec: SourceSpec, state: Mapping[str, object] | None, *, now: datetime) -> SourceResult:
    """A reading from an HA state as AppDaemon's ``get_state(entity, attribute="all")`` returns it.

    The measurement time is the later of ``last_updated`` and ``last_reported`` (HA 2024.3+
    updates the latter when a sensor reports an unchanged value); without either it is ``now``.
    """
    entity = spec.entity or spec.name
    if state is None:
        return Missing(spec.name, f"{entity} does not exist in Home Assistant", entity)
    number = parse_number(state.get("state"))
    if isinstance(number, str):
        return Missing(spec.name, f"{entity}: {number}", entity)
    attributes = state.get("attributes")
    unit = spec.unit
    if unit is None and isinstance(attributes, Mapping):
        raw_unit = attributes.get("unit_of_measurement")
        unit = raw_unit if isinstance(raw_unit, str) else None
    try:
        converted = convert(spec.kind, number, unit, entity)
    except ConfigError as err:
        return Missing(spec.name, str(err), entity, config_error=True)
    value = _finish(spec, converted, entity)
    if isinstance(value, Missing):
        return value
    times = [t for t in (parse_time(state.get("last_updated")), parse_time(state.get("last_reported"))) if t]
    measured_at = max(times) if times else now
    return Reading(spec.name, value, measured_at, spec.max_age_s, delayed=False, entity=entity)


def apsystems_max_age_s(poll_interval_s: float) -> float:
    """How old the APsystems power may be before it counts as stale: 2 × the polling interval + 15 min."""
    return 2 * poll_interval_s + APSYSTEMS_UPLOAD_PERIOD_S


@dataclass(frozen=True)
class ApsystemsSnapshot:
    """What the production app shares: its latest system power and when the ECU measured it.

    ``window_open`` is False outside the solar window, when the production app does not poll
    and its power reads 0: that is a real night 0, sent as measured now (no ``tsms``).
    """

    power_kw: float | None
    measured_at: datetime | str | None
    poll_interval_s: float
    window_open: bool = True
    time_zone: tzinfo | None = None
    """The system's zone, for a measurement time given without an offset (ECU local time)."""


def apsystems_reading(snapshot: ApsystemsSnapshot | None, *, now: datetime, source: str = "production") -> SourceResult:
    """The production reading from the APsystems production app (``production: apsystems``)."""
    if snapshot is None:
        return Missing(source, "the APsystems production app has not shared a power reading yet", APSYSTEMS)
    max_age = apsystems_max_age_s(snapshot.poll_interval_s)
    if not snapshot.window_open:
        return Reading(source, 0.0, now, max_age, delayed=False, entity=APSYSTEMS)
    number = parse_number(snapshot.power_kw)
    if isinstance(number, str):
        return Missing(source, f"APsystems power: {number}", APSYSTEMS)
    checked = check_sign_and_size(source, "power", number, APSYSTEMS)
    if isinstance(checked, Missing):
        return checked
    measured_at = parse_time(snapshot.measured_at, snapshot.time_zone)
    if measured_at is None:
        return Missing(source, f"APsystems power has no usable measurement time ({snapshot.measured_at!r})", APSYSTEMS)
    return Reading(source, checked, measured_at, max_age, delayed=True, entity=APSYSTEMS)


def apsystems_snapshot_from_state(
    state: Mapping[str, object] | None,
    *,
    poll_interval_s: float,
    window_open: bool = True,
    time_zone: tzinfo | None = None,
) -> ApsystemsSnapshot | None:
    """A snapshot from the production app's ``sensor.apsystems_<sid>_power`` (W, attribute ``data_time``).

    Returns None when the entity does not exist. A bad unit is reported as a missing value.
    """
    if state is None:
        return None
    attributes = state.get("attributes")
    attrs: Mapping[str, object] = attributes if isinstance(attributes, Mapping) else {}
    number = parse_number(state.get("state"))
    power_kw: float | None = None
    if isinstance(number, float):
        unit = attrs.get("unit_of_measurement")
        try:
            power_kw = convert("power", number, unit if isinstance(unit, str) else None, "APsystems power")
        except ConfigError:
            power_kw = None
    data_time = attrs.get("data_time")
    measured_at = data_time if isinstance(data_time, (str, datetime)) else None
    return ApsystemsSnapshot(power_kw, measured_at, poll_interval_s, window_open, time_zone)


def household_reading(share: HouseholdShare | None, source: str) -> SourceResult:
    """A meter or battery field from the APsystems meters app (``consumption: apsystems`` and co).

    Like ``production: apsystems`` it carries the cloud's measurement time (``delayed``); a
    field whose last read failed is a ``Missing`` with the reason, so the push is an error.
    """
    if share is None:
        return Missing(source, "the APsystems meters app has not shared meter or battery readings yet", APSYSTEMS)
    problem = share.problems.get(source)
    if problem is not None:
        return Missing(source, f"APsystems {problem}", APSYSTEMS)
    value = share.values.get(source)
    measured_at = share.measured(source)
    if value is None or measured_at is None:
        return Missing(source, f"no APsystems meter or battery gives {source}", APSYSTEMS)
    kind = "soc" if source == "battery_soc" else "energy" if source.endswith("_kwh") else "power"
    checked = check_sign_and_size(source, kind, value, APSYSTEMS)
    if isinstance(checked, Missing):
        return checked
    max_age = apsystems_max_age_s(share.poll_interval_s)
    return Reading(source, checked, measured_at, max_age, delayed=True, entity=APSYSTEMS)


def read_sources(
    config: ChargeHQConfig,
    get_state: Callable[[str], Mapping[str, object] | None],
    *,
    now: datetime,
    apsystems: ApsystemsSnapshot | None = None,
    household: HouseholdShare | None = None,
) -> dict[str, SourceResult]:
    """Read every configured source: ``get_state(entity_id)`` returns the HA state dict or None.

    With an APsystems meter, ``production: apsystems`` takes the meter's production at the
    meter's measurement time when consumption or net import come from the meter too: all the
    power-flow terms then describe one instant of the cloud's data (the production app's power
    may be from another poll, which would unbalance the equation).
    """
    results: dict[str, SourceResult] = {}
    meter_flows = any(config.sources[n].is_apsystems for n in ("consumption", "net_import") if n in config.sources)
    for name, spec in config.sources.items():
        from_meter = name != "production" or (meter_flows and household is not None)
        if spec.is_apsystems and from_meter:
            results[name] = household_reading(household, name)
        elif spec.is_apsystems:
            results[name] = apsystems_reading(apsystems, now=now, source=name)
        else:
            assert spec.entity is not None
            results[name] = parse_ha_state(spec, get_state(spec.entity), now=now)
    return results
