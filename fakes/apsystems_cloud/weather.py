"""Deterministic synthetic weather: day type, passing clouds and air temperature.

Seeded per (site seed, date) with string seeds (hashed by SHA-512 inside ``random``), so
the same seed gives the same weather in every process, whatever PYTHONHASHSEED is.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class DayWeather:
    """Irradiance multipliers per 5-minute point and the day's air-temperature curve."""

    kind: str  # "clear" | "partly" | "overcast"
    factors: tuple[float, ...]
    temp_mean_c: float
    temp_amplitude_c: float


def season(day: date, latitude: float) -> float:
    """+1 at the local midsummer, −1 at midwinter (hemisphere-aware)."""
    s = math.cos(2.0 * math.pi * (day.timetuple().tm_yday - 172) / 365.25)
    return s if latitude >= 0 else -s


def day_weather(seed: int, day: date, n_points: int, latitude: float) -> DayWeather:
    """The weather of one local day; ``n_points`` is its number of 5-minute points (DST-aware)."""
    rng = random.Random(f"weather:{seed}:{day.isoformat()}")
    s = season(day, latitude)
    # Cloudier towards the poles and in winter: about 1,100 kWh/kWp a year in London,
    # 1,200 in Munich and 1,500 in Canberra, close to what real systems there yield.
    lat = abs(latitude)
    p_clear = min(0.7, max(0.12, 0.55 - 0.015 * (lat - 30.0))) + 0.12 * s
    p_overcast = min(0.5, max(0.05, 0.12 + 0.012 * (lat - 30.0))) - 0.1 * s
    roll = rng.random()
    kind = "clear" if roll < p_clear else ("overcast" if roll < p_clear + p_overcast else "partly")
    factors = [1.0] * n_points
    if kind == "clear":
        base = rng.uniform(0.93, 1.0)
        for i in range(n_points):
            factors[i] = base * (1.0 + rng.uniform(-0.01, 0.01))
    elif kind == "partly":
        base = rng.uniform(0.65, 0.95)
        for i in range(n_points):
            factors[i] = base * (1.0 + rng.uniform(-0.02, 0.02))
        for _ in range(rng.randint(6, 20)):
            centre = rng.randrange(n_points)
            half = rng.randint(1, 6)
            depth = rng.uniform(0.4, 0.85)
            for j in range(max(0, centre - half), min(n_points, centre + half + 1)):
                shape = 1.0 - abs(j - centre) / (half + 1)
                factors[j] *= 1.0 - depth * shape
    else:
        base = rng.uniform(0.08, 0.35)
        waves = rng.uniform(1.0, 4.0)
        phase = rng.uniform(0.0, 2.0 * math.pi)
        for i in range(n_points):
            slow = 1.0 + 0.3 * math.sin(2.0 * math.pi * waves * i / n_points + phase)
            factors[i] = max(0.05, base * slow * (1.0 + rng.uniform(-0.05, 0.05)))
    mean = 14.0 - 0.3 * (abs(latitude) - 40.0) + 8.0 * s + rng.uniform(-3.0, 3.0)
    amplitude = {"clear": 6.5, "partly": 4.5, "overcast": 2.5}[kind] + rng.uniform(-1.0, 1.0)
    return DayWeather(kind, tuple(factors), mean, amplitude)


def air_temperature(weather: DayWeather, solar_hour: float) -> float:
    """Air temperature (°C) at a solar hour; the daily peak is at about 15:00 solar time."""
    return weather.temp_mean_c + weather.temp_amplitude_c * math.cos(2.0 * math.pi * (solar_hour - 15.0) / 24.0)
