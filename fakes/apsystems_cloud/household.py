"""Household consumption, battery and grid flows behind the meter and storage ECUs.

Per 5-minute point: pv + import + discharge = load + export + charge (the storage balance
the reference describes). The battery starts each day at a seeded state of charge, which
keeps days independent (and cacheable) at the price of a small jump at midnight. The load
curve uses ``5·i`` minutes after midnight as its clock, so it is the same whether a day is
simulated for its totals or for its 5-minute series.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from .production import KWH_PER_W_POINT, Geometry, day_g
from .site import StorageSpec

FLOWS = ("produced", "consumed", "imported", "exported", "charge", "discharge")


@functools.lru_cache(maxsize=4)
def _shape(weekend: bool, n: int) -> tuple[float, ...]:
    """The smooth part of the load (fridge cycling, meal-time peaks), W per point."""
    out: list[float] = []
    for i in range(n):
        minute = 5 * i
        h = minute / 60.0
        value = 60.0 if (minute // 30) % 2 == 0 else 0.0
        value += 450.0 * math.exp(-(((h - (8.5 if weekend else 7.3)) / 0.8) ** 2))
        value += 300.0 * math.exp(-(((h - 12.5) / 0.7) ** 2)) * (1.5 if weekend else 0.6)
        value += 850.0 * math.exp(-(((h - 19.0) / 1.4) ** 2))
        out.append(value)
    return tuple(out)


def load_curve(seed: int, day: date, n: int) -> list[float]:
    """A household: base load, the smooth shape with ±5 % noise, and a few appliances."""
    rng = random.Random(f"load:{seed}:{day.isoformat()}")
    base = rng.uniform(180.0, 320.0)
    shape = _shape(day.weekday() >= 5, n)
    uniform = rng.uniform
    load = [(base + shape[i]) * (1.0 + uniform(-0.05, 0.05)) for i in range(n)]
    events = [(2000.0, 1)] * rng.randint(2, 5)
    if rng.random() < 0.5:
        events.append((600.0, rng.randint(12, 18)))
    if rng.random() < 0.4:
        events.append((2200.0, rng.randint(6, 10)))
    for watts, length in events:
        start = rng.randrange(max(1, n - length))
        for j in range(start, min(n, start + length)):
            load[j] += watts
    return load


@dataclass(frozen=True, eq=False)
class DayFlows:
    """Watts per point for each flow, and the battery's state of charge (%) per point."""

    power: dict[str, tuple[float, ...]]
    soc: tuple[float, ...]

    def energy(self, flow: str, upto: int) -> float:
        """kWh of ``flow`` over the first ``upto`` points."""
        return sum(self.power[flow][:upto]) * KWH_PER_W_POINT


def simulate(seed: int, day: date, g: Sequence[float], pv_w_per_g: float, storage: StorageSpec | None) -> DayFlows:
    """Run the battery and the grid connection through one day."""
    n = len(g)
    load = load_curve(seed, day, n)
    pv = [v * pv_w_per_g for v in g]
    charge = [0.0] * n
    discharge = [0.0] * n
    soc_list = [0.0] * n
    imported = [0.0] * n
    exported = [0.0] * n
    soc = random.Random(f"soc:{seed}:{day.isoformat()}").uniform(20.0, 60.0) if storage else 0.0
    for i in range(n):
        net = pv[i] - load[i]
        if storage is not None:
            pct_per_w = KWH_PER_W_POINT * 100.0 / storage.capacity_kwh
            if net > 0.0:
                room_w = (100.0 - soc) / (pct_per_w * storage.efficiency)
                charge[i] = min(net, storage.max_power_w, max(0.0, room_w))
                soc += charge[i] * pct_per_w * storage.efficiency
            elif net < 0.0:
                avail_w = (soc - storage.min_soc) * storage.efficiency / pct_per_w
                discharge[i] = min(-net, storage.max_power_w, max(0.0, avail_w))
                soc -= discharge[i] * pct_per_w / storage.efficiency
            soc = min(100.0, max(0.0, soc))
        grid = load[i] + charge[i] - pv[i] - discharge[i]
        if grid > 0.0:
            imported[i] = grid
        else:
            exported[i] = -grid
        soc_list[i] = soc
    power = {
        "produced": tuple(pv),
        "consumed": tuple(load),
        "imported": tuple(imported),
        "exported": tuple(exported),
        "charge": tuple(charge),
        "discharge": tuple(discharge),
    }
    return DayFlows(power, tuple(soc_list))


@functools.lru_cache(maxsize=256)
def day_flows(geo: Geometry, day: date, pv_w_per_g: float, storage: StorageSpec | None) -> DayFlows:
    """One day's flows (5-minute detail)."""
    return simulate(geo.seed, day, day_g(geo, day), pv_w_per_g, storage)


@functools.lru_cache(maxsize=200_000)
def day_totals(geo: Geometry, day: date, pv_w_per_g: float, storage: StorageSpec | None) -> dict[str, float]:
    """kWh per flow over the whole day (cached across instances)."""
    flows = day_flows(geo, day, pv_w_per_g, storage)
    return {f: flows.energy(f, len(flows.soc)) for f in FLOWS}
