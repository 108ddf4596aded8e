"""What one meter or storage read says, taken from the client's records without AppDaemon.

A meter's minutely period answer carries the 5-minute power series, the energy per point and
the day's totals in one call; the newest point with values is the reading, and its ``HH:mm``
label on the requested day in the site's zone is its measurement time (Charge HQ's ``tsms``).

The sign of ``power.imported_exported`` is undocumented (reference §7.9, §10 item 5). It is
established from the same answer: the per-point energies say whether a point imported or
exported, so a positive power at points whose energy is imported means "import positive".
``grid_sign`` counts those points; with no evidence either way it keeps import positive (the
convention of the only published client that reads the field).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo

from apsystems.api.records import MeterMinutely, StorageLatest, StorageMinutely

METER_ENERGY_KEYS = ("consumed", "imported", "exported")
STORAGE_ENERGY_KEYS = ("charge", "discharge")

# ATN's guesses; its author confirmed 1. Unknown values keep their raw number.
STORAGE_MODES: Mapping[int, str] = {0: "backup", 1: "self_consumption", 2: "advanced", 3: "peak_shaving"}


def measured_at(day: date, label: str | None, tz: tzinfo) -> datetime | None:
    """The instant of an ``HH:mm`` label on ``day`` in ``tz``; None for a malformed label."""
    if not label:
        return None
    try:
        hours, minutes = (int(p) for p in label.strip().split(":", 1))
        return datetime.combine(day, time(hours, minutes)).replace(tzinfo=tz)
    except ValueError:
        return None


def _last_complete(times: Sequence[str], series: Sequence[Sequence[float | None]]) -> int | None:
    """Index of the newest point every series has a value for."""
    for i in range(len(times) - 1, -1, -1):
        if all(i < len(s) and s[i] is not None for s in series):
            return i
    return None


def grid_sign(minutely: MeterMinutely) -> int:
    """+1 when ``imported_exported`` is positive on import, -1 when positive on export."""
    power = minutely.power_w.get("imported_exported", ())
    imported = minutely.energy_kwh.get("imported", ())
    exported = minutely.energy_kwh.get("exported", ())
    votes = 0
    for i, watts in enumerate(power):
        if watts is None or watts == 0 or i >= len(imported) or i >= len(exported):
            continue
        imp, exp = imported[i] or 0.0, exported[i] or 0.0
        if imp > 0 and exp == 0:
            votes += 1 if watts > 0 else -1
        elif exp > 0 and imp == 0:
            votes += 1 if watts < 0 else -1
    return -1 if votes < 0 else 1


@dataclass(frozen=True)
class MeterReading:
    """The meter's newest point (W) and the day's totals so far (kWh); grid is import positive."""

    at: datetime
    consumption_w: float
    grid_w: float
    production_w: float
    today_kwh: Mapping[str, float]


def meter_reading(minutely: MeterMinutely, day: date, tz: tzinfo) -> MeterReading | None:
    """The reading of one minutely answer for ``day``; None when no point is complete."""
    p = minutely.power_w
    names = ("consumed", "imported_exported", "produced")
    series = [p.get(name, ()) for name in names]
    index = _last_complete(minutely.times, series)
    if index is None:
        return None
    at = measured_at(day, minutely.times[index], tz)
    today = minutely.today
    totals = {"consumed": today.consumed, "imported": today.imported, "exported": today.exported}
    if at is None or any(v is None or v < 0 for v in totals.values()):
        return None
    values = [float(s[index] or 0.0) for s in series]
    return MeterReading(
        at=at,
        consumption_w=values[0],
        grid_w=grid_sign(minutely) * values[1],
        production_w=values[2],
        today_kwh={k: float(v or 0.0) for k, v in totals.items()},
    )


@dataclass(frozen=True)
class StorageReading:
    """The battery now: state of charge, charge and discharge power, mode, the day's energies."""

    at: datetime
    soc_percent: float
    charge_w: float
    discharge_w: float
    mode: int | None
    today_kwh: Mapping[str, float]

    @property
    def mode_name(self) -> str:
        """The known name of the mode, else its raw value, so nothing the cloud says is lost."""
        if self.mode is None:
            return "unknown"
        return STORAGE_MODES.get(self.mode, str(self.mode))


def storage_reading(latest: StorageLatest, minutely: StorageMinutely, day: date, tz: tzinfo) -> StorageReading | None:
    """The reading of a ``latest`` answer (SoC, mode, powers) with the day's totals of a minutely one."""
    at = measured_at(day, latest.time, tz)
    soc = latest.soc_percent
    charge, discharge = latest.values.get("charge"), latest.values.get("discharge")
    totals = {k: minutely.today.get(k) for k in STORAGE_ENERGY_KEYS}
    if at is None or soc is None or not 0.0 <= soc <= 100.0 or charge is None or discharge is None:
        return None
    if any(v is None or v < 0 for v in totals.values()):
        return None
    return StorageReading(
        at=at,
        soc_percent=soc,
        charge_w=charge,
        discharge_w=discharge,
        mode=latest.mode,
        today_kwh={k: float(v or 0.0) for k, v in totals.items()},
    )
