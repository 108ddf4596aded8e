"""One inverter's day of telemetry from the two sources, and which of them to show.

Two endpoints describe an inverter's day:

* **detail** (inverter minutely, one call per inverter): AC power, per-channel DC power,
  voltage and current, AC voltage, grid frequency and temperature;
* **batch** (batch power, one call per ECU for all its inverters): per-channel DC power only.

**Freshest rule.** Each source's freshness is (its local day, the last time label that
carries a power value). The fresher one supplies every *power* value: the ``power``
sensor, the DC power sensors, the peaks and the day's series; on a tie detail wins
(it measured AC). Voltage, current, frequency and temperature exist only in detail and
always come from the latest detail.

**AC power from batch is an estimate.** Batch has no AC side, so when batch is the
fresher source the AC power (state, peak and series) is the sum of the channels' DC power ×
``NOMINAL_EFFICIENCY`` (0.95, a typical micro-inverter conversion efficiency; APsystems
quotes 95–96.5 % for DS3/QS1/QT2). The ``power`` sensor then says so: ``source: batch``,
``ac_estimated: true``, ``ac_efficiency: 0.95``.

**Thinning.** HA's recorder drops an entity's attributes above 16 KiB of JSON. The day's
series are kept at their native 5-minute resolution when they fit in ``SERIES_BUDGET_BYTES``,
else averaged into 10, 15, 20, 30 or 60-minute buckets (the first that fits; peaks are
always computed from the full series first). Values in the series are whole watts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from apsystems.api.records import BatchPower, InverterMinutely, Series

NOMINAL_EFFICIENCY = 0.95
ATTRIBUTE_LIMIT_BYTES = 16 * 1024  # HA's recorder limit for one entity's attributes
SERIES_BUDGET_BYTES = 15 * 1024  # what we allow ourselves: 1 KiB below the limit
BUCKET_MINUTES = (10, 15, 20, 30, 60)

SourceKind = Literal["detail", "batch"]


@dataclass(frozen=True)
class Latest:
    """A series' last known value and the time label it was measured at."""

    value: float
    label: str


def label_minutes(label: str) -> int | None:
    """Minutes since midnight of an ``HH:mm`` label; None when unreadable."""
    try:
        hours_text, minutes_text = label.strip().split(":", 1)
        hours, minutes = int(hours_text), int(minutes_text)
    except ValueError:
        return None
    if not (0 <= hours <= 24 and 0 <= minutes < 60):
        return None
    return hours * 60 + minutes


def last_value(times: Sequence[str], values: Sequence[float | None]) -> Latest | None:
    """The last non-null value of a series with its label."""
    for label, value in zip(reversed(times[: len(values)]), reversed(values[: len(times)]), strict=False):
        if value is not None:
            return Latest(value, label)
    return None


def _peak(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _aligned(times: Sequence[str], values: Sequence[float | None]) -> Series:
    """``values`` cut or padded with None to the length of ``times``."""
    out = list(values[: len(times)])
    out.extend([None] * (len(times) - len(out)))
    return tuple(out)


@dataclass(frozen=True)
class SourceData:
    """What one source said about one inverter's day (series aligned with ``times``).

    ``readings`` holds detail's last non-null non-power values, keyed like the entities:
    ``dc_voltage_chN``, ``dc_current_chN``, ``ac_voltage``, ``ac_voltage_l2``/``_l3``
    (three-phase models), ``frequency``, ``temperature``. Batch has none.
    """

    source: SourceKind
    day: date
    times: tuple[str, ...]
    ac_power: Series = ()
    dc_power: Mapping[int, Series] = field(default_factory=dict)
    readings: Mapping[str, Latest] = field(default_factory=dict)

    @property
    def channels(self) -> int:
        keys = set(self.dc_power) | {
            int(k.rsplit("_ch", 1)[1]) for k in self.readings if "_ch" in k and k.rsplit("_ch", 1)[1].isdigit()
        }
        return max(keys) if keys else 0

    def last_label(self) -> str | None:
        """The last time label at which any power value is known."""
        series = [self.ac_power, *self.dc_power.values()]
        for i in range(len(self.times) - 1, -1, -1):
            if any(i < len(s) and s[i] is not None for s in series):
                return self.times[i]
        return None

    def freshness(self) -> tuple[date, int]:
        label = self.last_label()
        minutes = label_minutes(label) if label is not None else None
        return (self.day, -1 if minutes is None else minutes)

    # ---- persistence: compact strings, so a day of 30 inverters stays a small file -----------

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "day": self.day.isoformat(),
            "times": ",".join(self.times),
            "ac_power": pack_series(self.ac_power),
            "dc_power": {str(n): pack_series(s) for n, s in sorted(self.dc_power.items())},
            "readings": {k: [r.value, r.label] for k, r in sorted(self.readings.items())},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SourceData:
        source = str(data["source"])
        if source not in ("detail", "batch"):
            raise ValueError(f"unknown source {source!r}")
        times = tuple(t for t in str(data.get("times") or "").split(",") if t)
        readings: dict[str, Latest] = {}
        for key, pair in (data.get("readings") or {}).items():
            value, label = pair
            readings[str(key)] = Latest(float(value), str(label))
        return cls(
            source="detail" if source == "detail" else "batch",
            day=date.fromisoformat(str(data["day"])),
            times=times,
            ac_power=_aligned(times, unpack_series(str(data.get("ac_power") or ""))) if data.get("ac_power") else (),
            dc_power={
                int(n): _aligned(times, unpack_series(str(text))) for n, text in (data.get("dc_power") or {}).items()
            },
            readings=readings,
        )


def pack_series(values: Sequence[float | None]) -> str:
    """``[180.0, None, 182.5]`` -> ``"180,,182.5"`` (one decimal kept)."""
    return ",".join("" if v is None else _short(v) for v in values)


def _short(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def unpack_series(text: str) -> Series:
    if not text:
        return ()
    return tuple(None if part == "" else float(part) for part in text.split(","))


def from_minutely(minutely: InverterMinutely, day: date) -> SourceData:
    """Detail for ``day``: power series plus the last non-power readings."""
    times = minutely.times
    readings: dict[str, Latest] = {}

    def keep(key: str, values: Sequence[float | None]) -> None:
        latest = last_value(times, values)
        if latest is not None:
            readings[key] = latest

    for n, values in minutely.dc_voltage_v.items():
        keep(f"dc_voltage_ch{n}", values)
    for n, values in minutely.dc_current_a.items():
        keep(f"dc_current_ch{n}", values)
    for phase, values in minutely.ac_voltage_v.items():
        keep("ac_voltage" if phase == 1 else f"ac_voltage_l{phase}", values)
    keep("frequency", minutely.ac_frequency_hz)
    keep("temperature", minutely.temperature_c)
    return SourceData(
        source="detail",
        day=day,
        times=times,
        ac_power=_aligned(times, minutely.ac_power_w),
        dc_power={n: _aligned(times, v) for n, v in sorted(minutely.dc_power_w.items())},
        readings=readings,
    )


def from_batch(batch: BatchPower, uid: str, day: date) -> SourceData | None:
    """One inverter's channels from an ECU's batch answer; None when the inverter is not in it."""
    channels = {ch: v for (key_uid, ch), v in batch.power_w.items() if key_uid == uid}
    if not channels:
        return None
    times = batch.times
    return SourceData(
        source="batch", day=day, times=times, dc_power={n: _aligned(times, v) for n, v in sorted(channels.items())}
    )


def freshest(detail: SourceData | None, batch: SourceData | None) -> SourceData | None:
    """The source whose (day, last label with power) is later; detail on a tie."""
    if detail is None or batch is None:
        return detail or batch
    return batch if batch.freshness() > detail.freshness() else detail


@dataclass(frozen=True)
class PowerView:
    """Everything the power sensors show, from one source."""

    source: SourceKind
    day: date
    ac_estimated: bool
    ac_latest: Latest | None
    ac_peak: float | None
    dc_latest: dict[int, Latest]
    dc_peak: dict[int, float]
    times: tuple[str, ...]
    ac_series: Series
    dc_series: dict[int, Series]


def estimated_ac(dc_power: Mapping[int, Series], length: int) -> Series:
    """AC power per point as the sum of the channels' DC power × ``NOMINAL_EFFICIENCY``."""
    out: list[float | None] = []
    for i in range(length):
        present = [s[i] for s in dc_power.values() if i < len(s) and s[i] is not None]
        out.append(sum(v for v in present if v is not None) * NOMINAL_EFFICIENCY if present else None)
    return tuple(out)


def power_view(data: SourceData) -> PowerView:
    estimated = data.source == "batch" or not any(v is not None for v in data.ac_power)
    ac_series = estimated_ac(data.dc_power, len(data.times)) if estimated else data.ac_power
    dc_latest = {n: latest for n, s in data.dc_power.items() if (latest := last_value(data.times, s)) is not None}
    dc_peak = {n: peak for n, s in data.dc_power.items() if (peak := _peak(s)) is not None}
    return PowerView(
        source=data.source,
        day=data.day,
        ac_estimated=estimated,
        ac_latest=last_value(data.times, ac_series),
        ac_peak=_peak(ac_series),
        dc_latest=dc_latest,
        dc_peak=dc_peak,
        times=data.times,
        ac_series=ac_series,
        dc_series=dict(data.dc_power),
    )


# ---- attribute size and thinning ------------------------------------------------------------


def attribute_size(attributes: Mapping[str, Any]) -> int:
    """Bytes of the attributes as JSON (default separators and ASCII escapes: a little more
    than HA's compact encoding, so a pass here is a pass there)."""
    return len(json.dumps(attributes).encode("utf-8"))


def _whole(value: float | None) -> int | None:
    return None if value is None else round(value)


def bucket_series(
    times: Sequence[str], series: Mapping[str, Sequence[float | None]], minutes: int
) -> tuple[list[str], dict[str, list[float | None]]]:
    """Average every series into ``minutes``-long buckets labelled by their start."""
    order: list[int] = []
    sums: dict[str, dict[int, list[float]]] = {name: {} for name in series}
    for i, label in enumerate(times):
        at = label_minutes(label)
        if at is None:
            continue
        start = at - at % minutes
        if not order or order[-1] != start:
            if start in order:
                continue  # out-of-order labels: keep the first run only
            order.append(start)
        for name, values in series.items():
            value = values[i] if i < len(values) else None
            bucket = sums[name].setdefault(start, [])
            if value is not None:
                bucket.append(value)
    labels = [f"{m // 60:02d}:{m % 60:02d}" for m in order]
    averaged: dict[str, list[float | None]] = {
        name: [(sum(b) / len(b)) if (b := sums[name].get(m)) else None for m in order] for name in series
    }
    return labels, averaged


def fit_series(
    attributes: Mapping[str, Any],
    times: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    budget: int = SERIES_BUDGET_BYTES,
) -> dict[str, Any]:
    """``attributes`` plus ``hourly_times`` and the series, thinned until all fits in ``budget``.

    Adds ``series_step_min``: 5 for native 5-minute data (or whatever the source sent),
    the bucket length after thinning, None when even hourly buckets did not fit (then the
    series are left empty rather than lose the whole entity's attributes).
    """
    candidates: list[tuple[int | None, list[str], dict[str, list[float | None]]]] = [
        (_native_step(times), list(times), {k: list(v) for k, v in series.items()})
    ]
    for minutes in BUCKET_MINUTES:
        labels, averaged = bucket_series(times, series, minutes)
        candidates.append((minutes, labels, averaged))
    for step, labels, values in candidates:
        out = dict(attributes)
        out["hourly_times"] = labels
        for name, seq in values.items():
            out[name] = [_whole(v) for v in seq]
        out["series_step_min"] = step
        if attribute_size(out) <= budget:
            return out
    out = dict(attributes)
    out["hourly_times"] = []
    for name in series:
        out[name] = []
    out["series_step_min"] = None
    return out


def _native_step(times: Sequence[str]) -> int | None:
    """The most common gap between labels (5 for the ECU's data); None for fewer than two."""
    gaps: dict[int, int] = {}
    previous: int | None = None
    for label in times:
        at = label_minutes(label)
        if at is not None and previous is not None and at > previous:
            gaps[at - previous] = gaps.get(at - previous, 0) + 1
        previous = at if at is not None else previous
    return max(gaps, key=lambda g: (gaps[g], -g)) if gaps else None
