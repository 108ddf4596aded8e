"""PV production: per-day irradiance profiles and energy counters for ECUs and channels.

The model is linear: every DC channel produces ``rating × mismatch × g(t)`` watts, where
``g`` is the site's normalised output (sun geometry × weather × temperature derating). Sums
over a day therefore need only one number per day (Σg), which is cached, so lifetime
totals over years cost a dictionary walk.

Energies are reported like a real ECU reports them: as differences of a quantised
cumulative counter. Point energies then always add up exactly to the day's total, and a
gap in the 5-minute series simply moves the missing energy to the next reported point.
"""

from __future__ import annotations

import calendar
import functools
import math
import random
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .site import EcuSpec, InverterSpec, SiteSpec, model
from .solar import DEG, clear_sky_poa, hour_angle, panel_normal, sun_day
from .weather import day_weather

POINT_SECONDS = 300
KWH_PER_W_POINT = POINT_SECONDS / 3600.0 / 1000.0
SYSTEM_LOSS = 0.93  # soiling, wiring, mismatch
TEMP_COEFF = -0.0037  # per °C of cell temperature above 25 °C
WAKE_POA_W_M2 = 15.0  # below this the micro-inverters sleep and report nothing
CENTI = 100  # counter unit 10 Wh: what "12.28" kWh strings resolve
MILLI = 1000  # counter unit 1 Wh: per-channel 5-minute energies


@dataclass(frozen=True)
class Geometry:
    """What the irradiance profile depends on (and nothing else), so it can key caches."""

    latitude: float
    longitude: float
    timezone: str
    seed: int
    tilt: float
    azimuth: float

    @classmethod
    def of(cls, site: SiteSpec) -> Geometry:
        return cls(site.latitude, site.longitude, site.timezone, site.seed, site.tilt, site.azimuth)


@dataclass(frozen=True, eq=False)
class DayProfile:
    """One local day at 5-minute resolution; index i is the instant ``start + 300·i``.

    Hashed by identity (``eq=False``): profiles come from an LRU cache, and hashing the
    tuples on every lookup would cost more than the lookup saves.
    """

    day: date
    start_epoch: float
    labels: tuple[str, ...]
    hours: tuple[int, ...]
    minutes: tuple[int, ...]
    g: tuple[float, ...]
    cum_g: tuple[float, ...]
    t_air: tuple[float, ...]
    t_cell: tuple[float, ...]
    first: int
    last: int
    weather: str

    @property
    def n(self) -> int:
        return len(self.g)

    @property
    def total_g(self) -> float:
        return self.cum_g[-1] if self.cum_g else 0.0


def day_bounds(day: date, tz: ZoneInfo) -> tuple[float, int]:
    """Epoch of local midnight and the number of 5-minute points in the day (DST-aware)."""
    start = datetime.combine(day, time(0), tz).timestamp()
    end = datetime.combine(day + timedelta(days=1), time(0), tz).timestamp()
    return start, int((end - start) // POINT_SECONDS)


def _series(
    geo: Geometry, day: date, detail: bool
) -> tuple[list[float], list[float], list[float], list[float], str, float, int]:
    """The normalised output g per point and its running sum (plus temperatures if ``detail``).

    One function for the fast path (daily totals) and the detailed path (profiles), so both
    produce bit-identical sums.
    """
    tz = ZoneInfo(geo.timezone)
    start, n = day_bounds(day, tz)
    sd = sun_day(day, 12.0 - geo.longitude / 15.0)
    lat = geo.latitude * DEG
    sin_lat, cos_lat = math.sin(lat), math.cos(lat)
    sin_d, cos_d = math.sin(sd.declination), math.cos(sd.declination)
    normal = panel_normal(geo.tilt, geo.azimuth)
    weather = day_weather(geo.seed, day, n, geo.latitude)
    factors = weather.factors
    t_mean, t_amp = weather.temp_mean_c, weather.temp_amplitude_c
    two_pi_24 = 2.0 * math.pi / 24.0
    g: list[float] = [0.0] * n
    cum: list[float] = [0.0] * n
    t_air: list[float] = []
    t_cell: list[float] = []
    total = 0.0
    for i in range(n):
        ha = hour_angle(start + i * POINT_SECONDS, geo.longitude, sd.eot_minutes)
        cos_h = math.cos(ha)
        up = sin_lat * sin_d + cos_lat * cos_d * cos_h
        air = t_mean + t_amp * math.cos(two_pi_24 * (12.0 + ha / DEG / 15.0 - 15.0))
        cell = air
        if up > 0.0:
            sun = (-cos_d * math.sin(ha), cos_lat * sin_d - sin_lat * cos_d * cos_h, up)
            poa = clear_sky_poa(sun, normal) * factors[i]
            if poa >= WAKE_POA_W_M2:
                cell = air + poa / 800.0 * 25.0
                value = poa / 1000.0 * SYSTEM_LOSS * (1.0 + TEMP_COEFF * (cell - 25.0))
                g[i] = value
                total += value
        cum[i] = total
        if detail:
            t_air.append(air)
            t_cell.append(cell)
    return g, cum, t_air, t_cell, weather.kind, start, n


@functools.lru_cache(maxsize=200_000)
def day_total_g(geo: Geometry, day: date) -> float:
    """Σg over the day: the only per-day number the totals need (cached across instances)."""
    return _series(geo, day, False)[1][-1]


def day_g(geo: Geometry, day: date) -> list[float]:
    """g per point without labels (for whole-day household totals)."""
    return _series(geo, day, False)[0]


@functools.lru_cache(maxsize=1024)
def day_profile(geo: Geometry, day: date) -> DayProfile:
    """The full 5-minute profile of a day, with local labels."""
    g, cum, t_air, t_cell, kind, start, n = _series(geo, day, True)
    tz = ZoneInfo(geo.timezone)
    labels: list[str] = []
    hours: list[int] = []
    minutes: list[int] = []
    for i in range(n):
        local = datetime.fromtimestamp(start + i * POINT_SECONDS, tz)
        labels.append(f"{local.hour:02d}:{local.minute:02d}")
        hours.append(local.hour)
        minutes.append(local.hour * 60 + local.minute)
    lit = [i for i, v in enumerate(g) if v > 0.0]
    return DayProfile(
        day=day,
        start_epoch=start,
        labels=tuple(labels),
        hours=tuple(hours),
        minutes=tuple(minutes),
        g=tuple(g),
        cum_g=tuple(cum),
        t_air=tuple(t_air),
        t_cell=tuple(t_cell),
        first=lit[0] if lit else -1,
        last=lit[-1] if lit else -1,
        weather=kind,
    )


@functools.lru_cache(maxsize=4096)
def gap_set(seed: int, eid: str, profile: DayProfile, gap_rate: float) -> frozenset[int]:
    """Points an ECU misses (offline runs of 1–5 points), never the first or last of the day."""
    if gap_rate <= 0.0 or profile.first < 0:
        return frozenset()
    rng = random.Random(f"gaps:{seed}:{eid}:{profile.day.isoformat()}")
    gaps: set[int] = set()
    i = profile.first + 1
    while i < profile.last:
        if rng.random() < gap_rate / 3.0:
            length = rng.randint(1, 5)
            gaps.update(range(i, min(i + length, profile.last)))
            i += length
        else:
            i += 1
    return frozenset(gaps)


def units(scale: int, r_kwh: float, cum_g: float) -> int:
    """Quantised counter reading; the one formula every total and every point goes through."""
    return round(scale * r_kwh * cum_g)


@dataclass(frozen=True)
class Reported:
    """What an ECU has uploaded for a day so far: point indices and counter readings."""

    indices: list[int]
    counters: list[int]

    def deltas(self) -> list[int]:
        out: list[int] = []
        prev = 0
        for c in self.counters:
            out.append(c - prev)
            prev = c
        return out


RatingFn = Callable[[date], float]


def month_days(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


class Production:
    """Energy and power of one site, as of the fake clock's 'now'."""

    def __init__(self, site: SiteSpec) -> None:
        self.site = site
        self.geo = Geometry.of(site)
        self.tz = site.tz
        self._lock = threading.RLock()
        self._day_cache: dict[tuple[object, ...], int] = {}
        self._month_cache: dict[tuple[object, ...], int] = {}
        self._cf: dict[tuple[str, int], float] = {}
        self._site_w: dict[date, float] = {}
        # Household flow totals of closed months, kept here so edits invalidate them too.
        self.flow_months: dict[tuple[int, int], dict[str, float]] = {}

    def invalidate(self) -> None:
        """Forget rating-dependent caches (after inverters were added or removed)."""
        with self._lock:
            self._day_cache.clear()
            self._month_cache.clear()
            self._site_w.clear()
            self.flow_months.clear()

    # --- time ------------------------------------------------------------------------------
    def local_date(self, now_epoch: float) -> date:
        return datetime.fromtimestamp(now_epoch, self.tz).date()

    def local_hour(self, now_epoch: float) -> int:
        return datetime.fromtimestamp(now_epoch, self.tz).hour

    def available_epoch(self, now_epoch: float) -> float:
        """Newest instant whose data has been uploaded (the ECU uploads every N minutes)."""
        step = self.site.upload_interval_min * 60
        return math.floor(now_epoch / step) * step if step else now_epoch

    def cutoff(self, profile: DayProfile, now_epoch: float) -> int:
        """Number of leading points of the day that are available at ``now``."""
        avail = self.available_epoch(now_epoch)
        if avail < profile.start_epoch:
            return 0
        return min(profile.n, int((avail - profile.start_epoch) // POINT_SECONDS) + 1)

    def profile(self, day: date) -> DayProfile:
        return day_profile(self.geo, day)

    def total_g(self, day: date) -> float:
        return day_total_g(self.geo, day)

    # --- ratings ---------------------------------------------------------------------------
    def mismatch(self, uid: str, channel: int) -> float:
        """A fixed per-channel factor (panel tolerance, soiling, partial shade)."""
        key = (uid, channel)
        value = self._cf.get(key)
        if value is None:
            value = random.Random(f"cf:{self.site.seed}:{uid}:{channel}").uniform(0.94, 1.0)
            self._cf[key] = value
        return value

    def channel_dc_w(self, inv: InverterSpec, channel: int) -> float:
        """DC watts of the channel per unit of g."""
        return inv.panels_w[channel] * self.mismatch(inv.uid, channel)

    def channel_ac_w(self, inv: InverterSpec, channel: int) -> float:
        """AC watts attributed to the channel per unit of g (after conversion losses)."""
        return self.channel_dc_w(inv, channel) * model(inv.model).efficiency

    def inverter_ac_w(self, inv: InverterSpec) -> float:
        return sum(self.channel_ac_w(inv, ch) for ch in range(len(inv.panels_w)))

    def ecu_r_kwh(self, ecu: EcuSpec, day: date) -> float:
        total = 0.0
        for inv in ecu.inverters:
            if inv.active_on(day):
                total += self.inverter_ac_w(inv)
        return total * KWH_PER_W_POINT * self.site.day_factor(day)

    def channel_r_kwh(self, inv: InverterSpec, channel: int, day: date) -> float:
        if not inv.active_on(day):
            return 0.0
        return self.channel_ac_w(inv, channel) * KWH_PER_W_POINT * self.site.day_factor(day)

    def site_ac_w(self, day: date) -> float:
        """The site's AC watts per unit of g on ``day`` (all ECUs)."""
        value = self._site_w.get(day)
        if value is None:
            value = sum(self.ecu_r_kwh(ecu, day) for ecu in self.site.ecus) / KWH_PER_W_POINT
            with self._lock:
                self._site_w[day] = value
        return value

    # --- one producer: an ECU or a channel ---------------------------------------------------
    def day_units(self, key: tuple[object, ...], rating: RatingFn, day: date, scale: int) -> int:
        """A whole day's counter (cached)."""
        ck = (*key, scale, day)
        with self._lock:
            hit = self._day_cache.get(ck)
        if hit is not None:
            return hit
        value = units(scale, rating(day), self.total_g(day)) if day >= self.site.create_date else 0
        with self._lock:
            self._day_cache[ck] = value
        return value

    def reported(self, eid: str, rating: RatingFn, day: date, now_epoch: float, scale: int) -> Reported:
        """Points uploaded for ``day`` by ``now`` (gaps are the ECU's), with counter readings."""
        if day < self.site.create_date:
            return Reported([], [])
        prof = self.profile(day)
        limit = self.cutoff(prof, now_epoch)
        if prof.first < 0 or limit <= prof.first:
            return Reported([], [])
        r = rating(day)
        if r <= 0.0:
            return Reported([], [])  # no active inverter: the ECU has nothing to upload
        gaps = gap_set(self.site.seed, eid, prof, self.site.gap_rate)
        idx = [i for i in range(prof.first, min(limit, prof.last + 1)) if prof.g[i] > 0.0 and i not in gaps]
        return Reported(idx, [units(scale, r, prof.cum_g[i]) for i in idx])

    def so_far(
        self, key: tuple[object, ...], eid: str, rating: RatingFn, day: date, now_epoch: float, scale: int
    ) -> int | None:
        """Energy of ``day`` as reported at ``now``; None if nothing has been uploaded yet."""
        today = self.local_date(now_epoch)
        if day > today or day < self.site.create_date:
            return None
        if day < today:
            return self.day_units(key, rating, day, scale)
        rep = self.reported(eid, rating, day, now_epoch, scale)
        return rep.counters[-1] if rep.counters else None

    def hourly(self, eid: str, rating: RatingFn, day: date, now_epoch: float, scale: int) -> list[int]:
        """24 hour buckets; for today the in-progress hour and later stay 0."""
        rep = self.reported(eid, rating, day, now_epoch, scale)
        prof = self.profile(day)
        closed = self.local_hour(now_epoch) if day == self.local_date(now_epoch) else 24
        out = [0] * 24
        for i, delta in zip(rep.indices, rep.deltas(), strict=True):
            h = prof.hours[i]
            if h < closed:
                out[h] += delta
        return out

    def day_value(
        self, key: tuple[object, ...], eid: str, rating: RatingFn, day: date, now_epoch: float, scale: int
    ) -> int:
        value = self.so_far(key, eid, rating, day, now_epoch, scale)
        return value or 0

    def daily(
        self, key: tuple[object, ...], eid: str, rating: RatingFn, year: int, month: int, now_epoch: float, scale: int
    ) -> list[int]:
        return [
            self.day_value(key, eid, rating, date(year, month, d), now_epoch, scale)
            for d in range(1, month_days(year, month) + 1)
        ]

    def month_total(
        self, key: tuple[object, ...], eid: str, rating: RatingFn, year: int, month: int, now_epoch: float, scale: int
    ) -> int:
        today = self.local_date(now_epoch)
        closed = (year, month) < (today.year, today.month)
        ck = (*key, scale, year, month)
        if closed:
            with self._lock:
                hit = self._month_cache.get(ck)
            if hit is not None:
                return hit
        value = sum(self.daily(key, eid, rating, year, month, now_epoch, scale))
        if closed:
            with self._lock:
                self._month_cache[ck] = value
        return value

    def monthly(
        self, key: tuple[object, ...], eid: str, rating: RatingFn, year: int, now_epoch: float, scale: int
    ) -> list[int]:
        return [self.month_total(key, eid, rating, year, m, now_epoch, scale) for m in range(1, 13)]

    def years(self, now_epoch: float) -> list[int]:
        return list(range(self.site.create_date.year, self.local_date(now_epoch).year + 1))

    def yearly(self, key: tuple[object, ...], eid: str, rating: RatingFn, now_epoch: float, scale: int) -> list[int]:
        return [sum(self.monthly(key, eid, rating, y, now_epoch, scale)) for y in self.years(now_epoch)]

    def summary(
        self, key: tuple[object, ...], eid: str, rating: RatingFn, now_epoch: float, scale: int
    ) -> tuple[int | None, int, int, int]:
        """(today or None, month, year, lifetime) as of ``now``."""
        today = self.local_date(now_epoch)
        t = self.so_far(key, eid, rating, today, now_epoch, scale)
        month = self.month_total(key, eid, rating, today.year, today.month, now_epoch, scale)
        year = sum(self.monthly(key, eid, rating, today.year, now_epoch, scale))
        lifetime = sum(self.yearly(key, eid, rating, now_epoch, scale))
        return t, month, year, lifetime

    # --- convenience for ECUs and channels ---------------------------------------------------
    def ecu_rating(self, ecu: EcuSpec) -> tuple[tuple[object, ...], RatingFn]:
        return ("ecu", ecu.eid), functools.partial(self.ecu_r_kwh, ecu)

    def channel_rating(self, inv: InverterSpec, channel: int) -> tuple[tuple[object, ...], RatingFn]:
        return ("ch", inv.uid, channel), functools.partial(self.channel_r_kwh, inv, channel)


def add_lists(lists: Iterable[list[int]]) -> list[int]:
    """Element-wise sum (system = Σ ECUs)."""
    out: list[int] = []
    for values in lists:
        out = [a + b for a, b in zip(out, values, strict=True)] if out else list(values)
    return out
