"""The forwarder's settings from apps.yaml, validated into a typed model.

Every problem is reported at once, naming the key, the bad value and what to do, because a
user edits apps.yaml and restarts AppDaemon for each round of fixes. The API key's value is
never part of a message.

Example (flat, next to AppDaemon's own keys)::

    chargehq:
      module: chargehq.app
      class: ChargeHQForwarder
      api_key: !secret chargehq_api_key
      production: apsystems            # or sensor.pv_power, or {entity: …, invert: …, max_age: …, unit: …}
      consumption: sensor.house_power
      net_import: {entity: sensor.grid_power, invert: true}   # export-positive meter
      push_interval: 60
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from apsystems.common.args import APPDAEMON_KEYS
from chargehq.errors import ConfigError
from chargehq.units import Kind, accepted_units, unit_factor

DEFAULT_ENDPOINT = "https://api.chargehq.net/api/public/push-solar-data"
DEFAULT_PUSH_INTERVAL_S = 60.0
MIN_PUSH_INTERVAL_S = 30.0
DEFAULT_MAX_AGE_S = 300.0
DEFAULT_TOLERANCE_KW = 0.05
APSYSTEMS = "apsystems"

# Source keys in apps.yaml and the quantity each one carries.
SOURCE_KINDS: Mapping[str, Kind] = {
    "production": "power",
    "consumption": "power",
    "net_import": "power",
    "grid_import": "power",
    "grid_export": "power",
    "battery_discharge": "power",
    "battery_soc": "soc",
    "battery_energy": "energy",
    "imported_kwh": "energy",
    "exported_kwh": "energy",
}
SOURCE_KEYS: tuple[str, ...] = tuple(SOURCE_KINDS)
# Sources the APsystems cloud can fill: production (the production app) and, with an APsystems
# meter or battery, these (the meters app).
APSYSTEMS_HOUSEHOLD_SOURCES = frozenset(
    {"consumption", "net_import", "battery_discharge", "battery_soc", "imported_kwh", "exported_kwh"}
)

SETTING_KEYS = frozenset({"api_key", "endpoint", "push_interval", "equation_tolerance_kw", "max_age"})
SOURCE_OPTION_KEYS = frozenset({"entity", "invert", "max_age", "unit"})

_ENTITY_ID = re.compile(r"^[a-z_][a-z0-9_]*\.[a-z0-9_]+$")
# What a user probably meant by a misspelt key.
_HINTS: Mapping[str, str] = {
    "apikey": "api_key",
    "api-key": "api_key",
    "key": "api_key",
    "solar": "production",
    "pv": "production",
    "load": "consumption",
    "grid": "net_import",
    "net_import_kw": "net_import",
    "production_kw": "production",
    "consumption_kw": "consumption",
    "battery_discharge_kw": "battery_discharge",
    "battery_energy_kwh": "battery_energy",
    "interval": "push_interval",
    "tolerance": "equation_tolerance_kw",
}


@dataclass(frozen=True)
class SourceSpec:
    """One configured source: an HA entity (or the APsystems production app) and how to read it."""

    name: str
    kind: Kind
    entity: str | None
    """The HA entity id; ``None`` for ``production: apsystems``."""
    invert: bool = False
    max_age_s: float = DEFAULT_MAX_AGE_S
    unit: str | None = None
    """Overrides the entity's ``unit_of_measurement`` (needed for a unitless fractional SOC)."""

    @property
    def is_apsystems(self) -> bool:
        """True for the APsystems production app's power, which travels with its own timestamp."""
        return self.entity is None

    @property
    def label(self) -> str:
        """How messages name this source: ``consumption (sensor.house_power)``."""
        return f"{self.name} ({self.entity if self.entity else APSYSTEMS})"


@dataclass(frozen=True)
class ChargeHQConfig:
    """Validated settings of the forwarder. ``api_key`` is kept out of ``repr``."""

    api_key: str = field(repr=False)
    sources: Mapping[str, SourceSpec]
    endpoint: str = DEFAULT_ENDPOINT
    push_interval_s: float = DEFAULT_PUSH_INTERVAL_S
    tolerance_kw: float = DEFAULT_TOLERANCE_KW
    max_age_s: float = DEFAULT_MAX_AGE_S

    @property
    def uses_apsystems(self) -> bool:
        """Whether production comes from the APsystems production app."""
        return self.sources["production"].is_apsystems

    @property
    def uses_apsystems_household(self) -> bool:
        """Whether a meter or battery field comes from the APsystems meters app."""
        return any(spec.is_apsystems for name, spec in self.sources.items() if name != "production")

    @property
    def entities(self) -> tuple[str, ...]:
        """The HA entity ids to read (and, for the app, to check at start-up)."""
        return tuple(spec.entity for spec in self.sources.values() if spec.entity is not None)


def _is_number(value: object) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _unknown_key_message(where: str, key: object, allowed: Collection[str]) -> str:
    hint = _HINTS.get(str(key).lower())
    suggestion = f"did you mean {hint!r}? " if hint else ""
    return f"{where}unknown key {key!r}: {suggestion}allowed keys are {', '.join(sorted(allowed))}"


def _source_options(name: str, value: object, problems: list[str]) -> Mapping[object, object] | None:
    """The option mapping of a source written as a plain entity id or as a mapping."""
    if isinstance(value, str):
        return {"entity": value}
    if isinstance(value, Mapping):
        for key in value:
            if key not in SOURCE_OPTION_KEYS:
                problems.append(_unknown_key_message(f"{name}: ", key, SOURCE_OPTION_KEYS))
        return value
    problems.append(
        f"{name}: {value!r} is neither an entity id nor a mapping; write `{name}: sensor.x` "
        f"or `{name}: {{entity: sensor.x, invert: true}}`"
    )
    return None


def _check_entity(name: str, entity: object, problems: list[str]) -> None:
    if isinstance(entity, str) and _ENTITY_ID.match(entity.strip()):
        return
    if isinstance(entity, str) and entity.strip().lower() == APSYSTEMS:
        problems.append(f"{name}: write `{name}: {APSYSTEMS}` as a plain value, without options")
    else:
        problems.append(
            f"{name}: entity {entity!r} is not a Home Assistant entity id; use the lower-case id such as "
            f"sensor.{name}_power (Developer tools > States shows it)"
        )


def _check_invert(name: str, kind: Kind, invert: object, problems: list[str]) -> None:
    if not isinstance(invert, bool):
        problems.append(f"{name}: invert must be true or false, not {invert!r}")
    elif invert and kind != "power":
        problems.append(f"{name}: invert only applies to power sources; {name} carries {kind}, remove invert")


def _check_unit(name: str, kind: Kind, unit: object, problems: list[str]) -> None:
    if unit is None:
        return
    if not isinstance(unit, str):
        problems.append(f"{name}: unit must be a string such as 'W' or 'kW', not {unit!r}")
        return
    try:
        unit_factor(kind, unit, name)
    except ConfigError:
        accepted = ", ".join(accepted_units(kind))
        problems.append(f"{name}: unit {unit!r} is not a {kind} unit; accepted: {accepted}")


def _parse_source(name: str, value: object, default_max_age_s: float, problems: list[str]) -> SourceSpec | None:
    """One source's spec, or None after adding its problems."""
    kind = SOURCE_KINDS[name]
    if isinstance(value, str) and value.strip().lower() == APSYSTEMS:
        if name != "production" and name not in APSYSTEMS_HOUSEHOLD_SOURCES:
            allowed = ", ".join(["production", *sorted(APSYSTEMS_HOUSEHOLD_SOURCES)])
            problems.append(f"{name}: {APSYSTEMS!r} can only be used for {allowed}; give an HA entity id here")
            return None
        return SourceSpec(name=name, kind=kind, entity=None)
    before = len(problems)
    options = _source_options(name, value, problems)
    if options is None:
        return None
    entity = options.get("entity")
    invert = options.get("invert", False)
    max_age = options.get("max_age", default_max_age_s)
    unit = options.get("unit")
    _check_entity(name, entity, problems)
    _check_invert(name, kind, invert, problems)
    max_age_s = float(max_age) if _is_number(max_age) and max_age > 0 else None
    if max_age_s is None:
        problems.append(f"{name}: max_age must be a number of seconds above 0, not {max_age!r}")
    _check_unit(name, kind, unit, problems)
    if len(problems) > before or max_age_s is None:
        return None
    assert isinstance(entity, str)
    return SourceSpec(
        name=name,
        kind=kind,
        entity=entity.strip(),
        invert=bool(invert),
        max_age_s=max_age_s,
        unit=unit.strip() if isinstance(unit, str) else None,
    )


def _setting(args: Mapping[str, Any], key: str, default: object) -> Any:
    """A setting's value; an empty value in YAML (``push_interval:``) means the default."""
    value = args.get(key)
    return default if value is None else value


def _parse_settings(args: Mapping[str, Any], problems: list[str]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    api_key = args.get("api_key")
    if api_key is None:
        problems.append(
            "api_key is missing: copy the key from the Charge HQ web app (My Equipment > Solar / Battery Equipment"
            " > Push API) into secrets.yaml and set `api_key: !secret chargehq_api_key`"
        )
    elif not isinstance(api_key, str) or not api_key.strip():
        problems.append("api_key must be a non-empty string (set `api_key: !secret chargehq_api_key`)")
    else:
        settings["api_key"] = api_key.strip()

    endpoint = _setting(args, "endpoint", DEFAULT_ENDPOINT)
    if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
        problems.append(f"endpoint {endpoint!r} is not an http(s) URL; leave it out to use {DEFAULT_ENDPOINT}")
    else:
        settings["endpoint"] = endpoint

    interval = _setting(args, "push_interval", DEFAULT_PUSH_INTERVAL_S)
    if not _is_number(interval):
        problems.append(f"push_interval must be a number of seconds, not {interval!r}")
    elif float(interval) < MIN_PUSH_INTERVAL_S:
        problems.append(
            f"push_interval {interval} s is below Charge HQ's minimum of {MIN_PUSH_INTERVAL_S:g} s; "
            f"use 60 (recommended) or at least {MIN_PUSH_INTERVAL_S:g}"
        )
    else:
        settings["push_interval_s"] = float(interval)

    tolerance = _setting(args, "equation_tolerance_kw", DEFAULT_TOLERANCE_KW)
    if not _is_number(tolerance) or float(tolerance) < 0:
        problems.append(f"equation_tolerance_kw must be a number of kW, 0 or more, not {tolerance!r}")
    else:
        settings["tolerance_kw"] = float(tolerance)

    max_age = _setting(args, "max_age", DEFAULT_MAX_AGE_S)
    if not _is_number(max_age) or float(max_age) <= 0:
        problems.append(f"max_age must be a number of seconds above 0, not {max_age!r}")
    else:
        settings["max_age_s"] = float(max_age)
    return settings


def _check_topology(sources: Mapping[str, object], problems: list[str]) -> None:
    has_net = "net_import" in sources
    has_import = "grid_import" in sources
    has_export = "grid_export" in sources
    if has_net and (has_import or has_export):
        problems.append(
            "net_import cannot be combined with grid_import/grid_export: use net_import for one signed grid sensor"
            " (import positive), or grid_import and grid_export for two separate sensors"
        )
    elif has_import != has_export:
        present, absent = ("grid_import", "grid_export") if has_import else ("grid_export", "grid_import")
        problems.append(
            f"{present} needs {absent} as well (net import = grid_import - grid_export); "
            "for one signed grid sensor use net_import instead"
        )


def parse_config(args: Mapping[str, Any], *, extra_keys: Collection[str] = ()) -> ChargeHQConfig:
    """Validate an app's args into a ChargeHQConfig, or raise ConfigError listing every problem.

    ``extra_keys`` are further keys the app itself understands (they are not rejected).
    """
    problems: list[str] = []
    allowed = set(SETTING_KEYS) | set(SOURCE_KEYS)
    for key in args:
        if key not in allowed and key not in APPDAEMON_KEYS and key not in extra_keys:
            problems.append(_unknown_key_message("", key, allowed | set(extra_keys)))

    settings = _parse_settings(args, problems)
    default_max_age = settings.get("max_age_s", DEFAULT_MAX_AGE_S)

    configured = {name: args[name] for name in SOURCE_KEYS if args.get(name) is not None}
    if "production" not in configured:
        problems.append(
            "production is missing: set `production: apsystems` to use the APsystems production app, "
            "or `production: sensor.<your_pv_power>`"
        )
    _check_topology(configured, problems)

    sources: dict[str, SourceSpec] = {}
    for name, value in configured.items():
        spec = _parse_source(name, value, default_max_age, problems)
        if spec is not None:
            sources[name] = spec

    if problems:
        raise ConfigError(problems)
    return ChargeHQConfig(sources=sources, **settings)
