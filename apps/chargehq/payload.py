"""Building the ``SiteMeterPush`` body from source readings, exactly per Charge HQ's schema.

The result is a ``PushPlan``: what to send (without the API key), the status it implies and the
power-flow residual, so the status entity shows exactly what was pushed. Rules, in order:

1. A configured source that is missing, not numeric or older than its ``max_age`` turns the
   push into ``{"apiKey", "error"}`` without ``siteMeters`` (a missing production reading is
   never sent as 0; a real 0 is).
2. Grid import and export sensors combine into ``net_import_kw = import - export``.
3. With two of consumption, production and net import known, the third is derived from
   ``consumption = production + net_import [+ battery_discharge]``; with all three measured the
   equation is checked and the residual reported (Charge HQ accepts a mismatch silently over
   HTTP, then shows an error on its home screen).
4. ``tsms`` is the measurement time of the oldest *delayed* reading (one with a reliable device
   timestamp, i.e. the APsystems cloud's power), and unset when no reading is delayed.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from chargehq.config import DEFAULT_TOLERANCE_KW
from chargehq.sources import Missing, Reading, SourceResult

PushState = Literal["ok", "error", "source_stale", "unconfigured"]

# Source name → siteMeters field. net_import also comes from grid_import/grid_export.
SITE_METER_FIELDS: Mapping[str, str] = {
    "production": "production_kw",
    "net_import": "net_import_kw",
    "consumption": "consumption_kw",
    "imported_kwh": "imported_kwh",
    "exported_kwh": "exported_kwh",
    "battery_discharge": "battery_discharge_kw",
    "battery_soc": "battery_soc",
    "battery_energy": "battery_energy_kwh",
}
TOP_LEVEL_KEYS = ("apiKey", "tsms", "error", "siteMeters")
# Decimals sent: watts for power, watt-hours for energy, 0.01 % for the SOC.
_DECIMALS: Mapping[str, int] = {"battery_soc": 4}
_DEFAULT_DECIMALS = 3
MAX_ERROR_CHARS = 200
# Clocks of HA, the ECU and this machine differ a little; a reading further ahead is not fresh.
FUTURE_SLACK_S = 120.0
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _round(value: float, decimals: int = _DEFAULT_DECIMALS) -> float:
    """Round for the wire, and never send ``-0.0``."""
    rounded = round(float(value), decimals)
    return 0.0 if rounded == 0 else rounded


def epoch_ms(moment: datetime) -> int:
    """Milliseconds since the Unix epoch, exactly (``tsms``)."""
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def equation_residual(
    consumption_kw: float, production_kw: float, net_import_kw: float, battery_discharge_kw: float = 0.0
) -> float:
    """``consumption - (production + net_import + battery_discharge)``; 0 when the flows balance."""
    return consumption_kw - (production_kw + net_import_kw + battery_discharge_kw)


@dataclass(frozen=True)
class PushPlan:
    """What one push sends and what the status entity shows about it."""

    state: PushState
    site_meters: Mapping[str, float] | None = None
    error: str | None = None
    tsms: int | None = None
    equation_residual_kw: float | None = None
    """Residual of the power-flow equation when all three terms were measured, else None."""
    equation_ok: bool | None = None
    derived: str | None = None
    """Which siteMeters field was derived from the other two, if any."""
    problems: tuple[str, ...] = field(default_factory=tuple)
    """Why the push is an error (one line per source), for the log."""

    @property
    def sendable(self) -> bool:
        """False only when unconfigured: there is nothing meaningful to send."""
        return self.state != "unconfigured"

    def body(self) -> dict[str, Any]:
        """The push body without ``apiKey`` (for ``Sender.push`` and the ``last_payload`` attribute)."""
        if not self.sendable:
            raise ValueError(f"nothing to push while {self.state}: {self.error}")
        body: dict[str, Any] = {}
        if self.tsms is not None:
            body["tsms"] = self.tsms
        if self.error is not None:
            body["error"] = self.error
        if self.site_meters is not None:
            body["siteMeters"] = dict(self.site_meters)
        return body

    def payload(self, api_key: str) -> dict[str, Any]:
        """The complete ``SiteMeterPush``: ``apiKey`` first, then the body."""
        return with_api_key(self.body(), api_key)

    def public_payload(self) -> dict[str, Any] | None:
        """The body as the status entity shows it: never with the API key; None when unconfigured."""
        return self.body() if self.sendable else None

    def status_attributes(self) -> dict[str, Any]:
        """``state``, ``equation_residual_kw`` and ``last_payload`` for ``sensor.chargehq_push_status``."""
        return {
            "state": self.state,
            "equation_residual_kw": self.equation_residual_kw,
            "last_payload": self.public_payload(),
        }


def with_api_key(body: Mapping[str, Any], api_key: str) -> dict[str, Any]:
    """``{"apiKey": key, **body}``; the body must not carry a key of its own."""
    if "apiKey" in body:
        raise ValueError("the push body already has an apiKey; pass the body without it")
    return {"apiKey": api_key, **body}


def unconfigured(reason: str) -> PushPlan:
    """The plan while the configuration is unusable: nothing is pushed, the status says why."""
    return PushPlan(state="unconfigured", error=reason[:MAX_ERROR_CHARS], problems=(reason,))


def _age_s(reading: Reading, now: datetime) -> float:
    return (now - reading.measured_at).total_seconds()


def _error_plan(state: PushState, problems: list[str]) -> PushPlan:
    text = "; ".join(problems)
    if len(text) > MAX_ERROR_CHARS:
        text = text[: MAX_ERROR_CHARS - 1] + "…"
    return PushPlan(state=state, error=text, problems=tuple(problems))


def build_push(
    results: Mapping[str, SourceResult],
    *,
    now: datetime,
    expected: Collection[str] | None = None,
    tolerance_kw: float = DEFAULT_TOLERANCE_KW,
) -> PushPlan:
    """The plan for one push from the sources' results.

    ``expected`` names the configured sources (default: the keys of ``results``); each one is
    required, so a missing or stale one makes the push an error. Production is always required.
    """
    names = set(results if expected is None else expected)
    if "production" not in names:
        return unconfigured("no production source is configured")

    missing: list[str] = []
    stale: list[str] = []
    readings: dict[str, Reading] = {}
    for name in sorted(names, key=_source_order):
        result = results.get(name)
        if result is None:
            missing.append(f"{name}: no reading")
        elif isinstance(result, Missing):
            missing.append(f"{name}: {result.reason}")
        else:
            age = _age_s(result, now)
            if age < -FUTURE_SLACK_S:
                where = f" ({result.entity})" if result.entity else ""
                stale.append(f"{name}{where}: stale, measured {-age:.0f} s in the future (clock or time zone wrong)")
            elif age > result.max_age_s:
                where = f" ({result.entity})" if result.entity else ""
                stale.append(f"{name}{where}: stale, measured {age:.0f} s ago (max_age {result.max_age_s:.0f} s)")
            else:
                readings[name] = result
    if missing:
        return _error_plan("error", missing + stale)
    if stale:
        return _error_plan("source_stale", stale)
    return _meter_plan(readings, tolerance_kw, now)


def _source_order(name: str) -> int:
    order = [*SITE_METER_FIELDS, "grid_import", "grid_export"]
    return order.index(name) if name in order else len(order)


def _meter_plan(readings: Mapping[str, Reading], tolerance_kw: float, now: datetime) -> PushPlan:
    values = {name: reading.value for name, reading in readings.items()}
    if "grid_import" in values and "grid_export" in values:
        values["net_import"] = values.pop("grid_import") - values.pop("grid_export")

    meters: dict[str, float] = {}
    for name, field_name in SITE_METER_FIELDS.items():
        if name in values:
            meters[field_name] = _round(values[name], _DECIMALS.get(name, _DEFAULT_DECIMALS))

    production = meters["production_kw"]
    battery = meters.get("battery_discharge_kw", 0.0)
    derived: str | None = None
    residual: float | None = None
    equation_ok: bool | None = None
    if "consumption_kw" in meters and "net_import_kw" in meters:
        residual = _round(equation_residual(meters["consumption_kw"], production, meters["net_import_kw"], battery))
        equation_ok = abs(residual) <= tolerance_kw + 1e-9
    elif "net_import_kw" in meters:
        meters["consumption_kw"] = _round(production + meters["net_import_kw"] + battery)
        derived = "consumption_kw"
    elif "consumption_kw" in meters:
        meters["net_import_kw"] = _round(meters["consumption_kw"] - production - battery)
        derived = "net_import_kw"

    ordered = {field_name: meters[field_name] for field_name in SITE_METER_FIELDS.values() if field_name in meters}
    delayed = [reading.measured_at for reading in readings.values() if reading.delayed]
    tsms = epoch_ms(min(*delayed, now)) if delayed else None  # never in the future
    return PushPlan(
        state="ok",
        site_meters=ordered,
        tsms=tsms,
        equation_residual_kw=residual,
        equation_ok=equation_ok,
        derived=derived,
    )


@dataclass(frozen=True)
class EquationReport:
    """A line for the log: the power-flow check changed from consistent to not, or back."""

    level: int
    message: str


class EquationReporter:
    """Says when to log the power-flow check: once when it starts failing, once when it recovers.

    A sensor pair that disagrees by 0.3 kW disagrees on every push; logging each one would bury
    the log, and Charge HQ's own error on its home screen is already there.
    """

    def __init__(self, tolerance_kw: float = DEFAULT_TOLERANCE_KW) -> None:
        self.tolerance_kw = tolerance_kw
        self._mismatched = False

    @property
    def mismatched(self) -> bool:
        """Whether the last checked push failed the equation."""
        return self._mismatched

    def observe(self, plan: PushPlan) -> EquationReport | None:
        """Feed every plan; returns a report only when the check's outcome changes."""
        residual = plan.equation_residual_kw
        if residual is None:
            return None
        mismatched = abs(residual) > self.tolerance_kw + 1e-9
        if mismatched == self._mismatched:
            return None
        self._mismatched = mismatched
        if mismatched:
            return EquationReport(
                logging.WARNING,
                f"power flows do not add up: consumption - (production + net import + battery discharge) = "
                f"{residual:+.3f} kW (tolerance {self.tolerance_kw:g} kW); check the signs (invert) and units "
                "of the sources; Charge HQ will show an error and solar tracking may not work",
            )
        return EquationReport(
            logging.INFO, f"power flows add up again (residual {residual:+.3f} kW, tolerance {self.tolerance_kw:g} kW)"
        )
