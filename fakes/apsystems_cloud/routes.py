"""The API's routes (reference §7) and what each answers.

Handlers are transport-free: they take a ``Ctx`` and return the ``data`` payload or raise
``ApiFailure(code)``; the server wraps the result in the ``{"data": …, "code": …}`` envelope.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from .fmt import kwh2, kwh3, num, whole
from .household import FLOWS, DayFlows, day_flows, day_totals
from .production import CENTI, MILLI, Production, Reported, add_lists, month_days
from .site import EcuSpec, InverterSpec, SiteSpec, model
from .state import Options, SiteState

NO_DATA = 1001
BAD_PARAM = 4001

USER_OR_INSTALLER = r"/(?:user|installer)/api/v2"
INSTALLER = r"/installer/api/v2"


class ApiFailure(Exception):
    """Raised by a handler to answer ``{"data": null, "code": code}``."""

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


class CloudView(Protocol):
    """What handlers need from the server."""

    sites: dict[str, SiteState]
    options: Options
    tokens: dict[str, tuple[str, str, float]]


@dataclass
class Ctx:
    cloud: CloudView
    params: dict[str, str]
    args: dict[str, Any]
    now_epoch: float

    @property
    def options(self) -> Options:
        return self.cloud.options


Handler = Callable[[Ctx], Any]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    kind: str
    handler: Handler
    leveled: bool = False

    def route_kind(self, args: Mapping[str, Any]) -> str:
        if not self.leveled:
            return self.kind
        return f"{self.kind}:{args.get('energy_level') or '-'}"


@dataclass
class RouteTable:
    routes: list[Route] = field(default_factory=list)

    def add(self, method: str, prefix: str, tail: str, kind: str, handler: Handler, leveled: bool = False) -> None:
        pattern = re.compile("^" + prefix + "/" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", tail) + "/?$")
        self.routes.append(Route(method, pattern, kind, handler, leveled))

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            if route.method == method:
                m = route.pattern.match(path)
                if m:
                    return route, m.groupdict()
        return None

    def path_exists(self, path: str) -> bool:
        return any(r.pattern.match(path) for r in self.routes)


# --- lookups and parameter parsing ---------------------------------------------------------


def site_of(ctx: Ctx) -> SiteState:
    state = ctx.cloud.sites.get(ctx.params.get("sid", ""))
    if state is None:
        raise ApiFailure(ctx.options.unknown_id_code, "unknown sid")
    return state


def ecu_of(ctx: Ctx, state: SiteState) -> EcuSpec:
    ecu = state.find_ecu(ctx.params["eid"])
    if ecu is None:
        raise ApiFailure(ctx.options.unknown_id_code, "unknown eid")
    return ecu


def today_of(ctx: Ctx, state: SiteState) -> date:
    return state.production.local_date(ctx.now_epoch)


DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MONTH_RE = re.compile(r"^\d{4}-\d{2}$")
YEAR_RE = re.compile(r"^\d{4}$")
DAY_LEVELS = ("minutely", "hourly", "power", "energy")


def level_of(ctx: Ctx, allowed: tuple[str, ...]) -> str:
    level = str(ctx.args.get("energy_level") or "")
    if level not in allowed:
        raise ApiFailure(ctx.options.invalid_level_code, f"energy_level {level!r} not in {allowed}")
    return level


@dataclass(frozen=True)
class Period:
    """A parsed ``date_range``: a day, a month or a year (yearly needs none)."""

    day: date | None = None
    year: int | None = None
    month: int | None = None


def period_of(ctx: Ctx, state: SiteState, level: str, *, required: bool = False) -> Period:
    """Parse and check ``date_range`` for ``level``: bad format 4001, future or pre-install 1001."""
    if level == "yearly":
        return Period()
    raw = ctx.args.get("date_range")
    today = today_of(ctx, state)
    if raw in (None, ""):
        if required:
            raise ApiFailure(BAD_PARAM, "date_range is required")
        raw = {"daily": today.strftime("%Y-%m"), "monthly": str(today.year)}.get(level, today.isoformat())
    text = str(raw)
    try:
        if level in DAY_LEVELS:
            return _day_period(ctx, state, today, text)
        if level == "daily":
            return _month_period(state, today, text)
        return _year_period(state, today, text)
    except ValueError:
        raise ApiFailure(BAD_PARAM, f"bad date_range {text!r} for {level}") from None


def _day_period(ctx: Ctx, state: SiteState, today: date, text: str) -> Period:
    if not DAY_RE.match(text):
        raise ValueError(text)
    day = date.fromisoformat(text)
    if day > today or day < state.spec.create_date:
        raise ApiFailure(NO_DATA, "date outside the system's data")
    keep = ctx.options.detail_retention_days
    if keep is not None and (today - day).days > keep:
        raise ApiFailure(NO_DATA, "detail data no longer kept")
    return Period(day=day)


def _month_period(state: SiteState, today: date, text: str) -> Period:
    if not MONTH_RE.match(text):
        raise ValueError(text)
    year, month = int(text[:4]), int(text[5:])
    date(year, month, 1)
    created = state.spec.create_date
    if (year, month) > (today.year, today.month) or (year, month) < (created.year, created.month):
        raise ApiFailure(NO_DATA, "month outside the system's data")
    return Period(year=year, month=month)


def _year_period(state: SiteState, today: date, text: str) -> Period:
    if not YEAR_RE.match(text):
        raise ValueError(text)
    year = int(text)
    if year > today.year or year < state.spec.create_date.year:
        raise ApiFailure(NO_DATA, "year outside the system's data")
    return Period(year=year)


# --- production series for one producer (ECU or channel) -------------------------------------

Producer = tuple[tuple[object, ...], Callable[[date], float]]


def producer_series(
    prod: Production, eid: str, producer: Producer, level: str, period: Period, ctx: Ctx, scale: int = CENTI
) -> list[int]:
    """Non-minutely buckets of one producer, as integer counters."""
    key, rating = producer
    now = ctx.now_epoch
    if level == "hourly":
        assert period.day is not None
        return prod.hourly(eid, rating, period.day, now, scale)
    if level == "daily":
        assert period.year is not None and period.month is not None
        values = prod.daily(key, eid, rating, period.year, period.month, now, scale)
        today = prod.local_date(now)
        if ctx.options.truncate_current_month and (period.year, period.month) == (today.year, today.month):
            values = values[: today.day]
        return values
    if level == "monthly":
        assert period.year is not None
        return prod.monthly(key, eid, rating, period.year, now, scale)
    return prod.yearly(key, eid, rating, now, scale)


def require_data(reported: list[Reported]) -> None:
    if not any(r.indices for r in reported):
        raise ApiFailure(NO_DATA, "no data for the day yet")


def hourly_guard(prod: Production, ecus: list[EcuSpec], day: date, ctx: Ctx) -> None:
    """Hourly for a day with no uploaded point at all (pre-dawn, or an idle ECU) → 1001."""
    require_data([prod.reported(e.eid, prod.ecu_rating(e)[1], day, ctx.now_epoch, CENTI) for e in ecus])


# --- system-level handlers -----------------------------------------------------------------


def details_payload(spec: SiteSpec, *, partner: bool = False) -> dict[str, Any]:
    ecu_ids = [e.listed_id for e in spec.ecus]
    for extra in (spec.meter_eid, spec.storage.eid if spec.storage else None):
        if extra is not None and extra not in ecu_ids and extra not in {e.eid for e in spec.ecus}:
            ecu_ids.append(extra)
    data: dict[str, Any] = {
        "sid": spec.sid,
        "create_date": spec.create_date.isoformat(),
        "capacity": num(spec.capacity_kw(), 2),
        "type": spec.system_type(),
        "timezone": spec.timezone,
        "ecu": ecu_ids,
    }
    if not partner:
        data["light"] = spec.light
        if spec.authorization_code:
            data["authorization_code"] = spec.authorization_code
    return data


def h_details(ctx: Ctx) -> Any:
    return details_payload(site_of(ctx).spec)


def h_inverters(ctx: Ctx) -> Any:
    state = site_of(ctx)
    spec = state.spec
    if state.empty_inverter_list:
        return []
    out: list[dict[str, Any]] = []
    storage = spec.storage
    for ecu in spec.ecus:
        entry: dict[str, Any] = {"eid": ecu.eid, "type": 0, "timezone": spec.timezone}
        if spec.meter_eid == ecu.eid:
            entry["type"] = 1
        if storage is not None and storage.eid == ecu.eid:
            entry.update(type=2, model=storage.model, capacity=num(storage.capacity_kwh, 2))
        entry["inverter"] = [{"uid": inv.uid, "type": inv.model} for inv in ecu.inverters if inv.listed]
        out.append(entry)
    known = {e.eid for e in spec.ecus}
    if spec.meter_eid is not None and spec.meter_eid not in known:
        out.append({"eid": spec.meter_eid, "type": 1, "timezone": spec.timezone, "inverter": []})
        known.add(spec.meter_eid)
    if storage is not None and storage.eid not in known:
        out.append(
            {
                "eid": storage.eid,
                "type": 2,
                "timezone": spec.timezone,
                "model": storage.model,
                "capacity": num(storage.capacity_kwh, 2),
                "inverter": [],
            }
        )
    return out


def h_meters(ctx: Ctx) -> Any:
    spec = site_of(ctx).spec
    return [spec.meter_eid] if spec.meter_eid else []


def h_storages(ctx: Ctx) -> Any:
    spec = site_of(ctx).spec
    return [spec.storage.eid] if spec.storage else []


def summary_payload(values: tuple[int | None, int, int, int]) -> dict[str, Any]:
    today, month, year, lifetime = values
    return {
        "today": None if today is None else kwh2(today),
        "month": kwh2(month),
        "year": kwh2(year),
        "lifetime": kwh2(lifetime),
    }


def ecu_summary_units(prod: Production, ecu: EcuSpec, now: float) -> tuple[int | None, int, int, int]:
    key, rating = prod.ecu_rating(ecu)
    return prod.summary(key, ecu.eid, rating, now, CENTI)


def h_system_summary(ctx: Ctx) -> Any:
    state = site_of(ctx)
    parts = [ecu_summary_units(state.production, e, ctx.now_epoch) for e in state.spec.ecus]
    todays = [p[0] for p in parts if p[0] is not None]
    total: tuple[int | None, int, int, int] = (
        sum(todays) if todays else None,
        sum(p[1] for p in parts),
        sum(p[2] for p in parts),
        sum(p[3] for p in parts),
    )
    return summary_payload(total)


def h_system_energy(ctx: Ctx) -> Any:
    state = site_of(ctx)
    level = level_of(ctx, ("hourly", "daily", "monthly", "yearly"))
    period = period_of(ctx, state, level)
    prod = state.production
    ecus = state.spec.ecus
    if level == "hourly":
        assert period.day is not None
        hourly_guard(prod, ecus, period.day, ctx)
    series = add_lists(producer_series(prod, e.eid, prod.ecu_rating(e), level, period, ctx) for e in ecus)
    return [kwh2(v) for v in series]


# --- ECU -------------------------------------------------------------------------------------


def inverter_ac_at(prod: Production, inv: InverterSpec, g: float) -> int:
    return round(prod.inverter_ac_w(inv) * g)


def h_ecu_summary(ctx: Ctx) -> Any:
    state = site_of(ctx)
    return summary_payload(ecu_summary_units(state.production, ecu_of(ctx, state), ctx.now_epoch))


def h_ecu_energy(ctx: Ctx) -> Any:
    state = site_of(ctx)
    ecu = ecu_of(ctx, state)
    level = level_of(ctx, ("minutely", "hourly", "daily", "monthly", "yearly"))
    period = period_of(ctx, state, level)
    prod = state.production
    producer = prod.ecu_rating(ecu)
    if level == "minutely":
        assert period.day is not None
        rep = prod.reported(ecu.eid, producer[1], period.day, ctx.now_epoch, CENTI)
        require_data([rep])
        prof = prod.profile(period.day)
        active = [inv for inv in ecu.inverters if inv.active_on(period.day)]
        return {
            "time": [prof.labels[i] for i in rep.indices],
            "energy": [kwh2(d) for d in rep.deltas()],
            "power": [str(sum(inverter_ac_at(prod, inv, prof.g[i]) for inv in active)) for i in rep.indices],
            "today": kwh2(rep.counters[-1]),
        }
    if level == "hourly":
        assert period.day is not None
        hourly_guard(prod, [ecu], period.day, ctx)
    return [kwh2(v) for v in producer_series(prod, ecu.eid, producer, level, period, ctx)]


# --- inverters -------------------------------------------------------------------------------


def inverter_of(ctx: Ctx, state: SiteState) -> tuple[EcuSpec, InverterSpec]:
    found = state.find_inverter(ctx.params["uid"])
    if found is None:
        raise ApiFailure(ctx.options.unknown_id_code, "unknown uid")
    return found


def h_inverter_summary(ctx: Ctx) -> Any:
    state = site_of(ctx)
    ecu, inv = inverter_of(ctx, state)
    prod = state.production
    out: dict[str, Any] = {}
    for ch in range(len(inv.panels_w)):
        key, rating = prod.channel_rating(inv, ch)
        today, month, year, lifetime = prod.summary(key, ecu.eid, rating, ctx.now_epoch, CENTI)
        n = ch + 1
        out[f"d{n}"] = None if today is None else kwh2(today)
        out[f"m{n}"] = kwh2(month)
        out[f"y{n}"] = kwh2(year)
        out[f"t{n}"] = kwh2(lifetime)
    return out


def vmp_stc(panel_w: float) -> float:
    """Maximum-power voltage of a typical panel of this rating at STC (30 V at 300 W … 39 V at 450 W)."""
    return 30.0 + (panel_w - 300.0) / 150.0 * 9.0


def dc_voltage(panel_w: float, g: float, t_cell: float, offset: float) -> float:
    """MPPT voltage: lower when hot, a little lower in weak light."""
    v = vmp_stc(panel_w) * (1.0 - 0.0035 * (t_cell - 25.0)) * (1.0 + 0.04 * math.log(max(g / 0.8, 0.05)))
    return min(48.0, max(22.0, v + offset))


def inverter_minutely(ctx: Ctx, state: SiteState, ecu: EcuSpec, inv: InverterSpec, day: date) -> dict[str, Any]:
    prod = state.production
    spec = state.spec
    rep = prod.reported(ecu.eid, prod.ecu_rating(ecu)[1], day, ctx.now_epoch, CENTI)
    if not inv.active_on(day):
        rep = Reported([], [])
    require_data([rep])
    prof = prod.profile(day)
    m = model(inv.model)
    channels = range(len(inv.panels_w))
    rng = random.Random(f"grid:{spec.seed}:{inv.uid}:{day.isoformat()}")
    v_offset = rng.uniform(-3.0, 3.0)
    ch_offsets = [rng.uniform(-0.6, 0.6) for _ in channels]
    noise: dict[int, tuple[float, float, float]] = {}
    wanted = set(rep.indices)
    for i in range(rep.indices[-1] + 1):
        draw = (rng.gauss(0.0, 1.2), rng.gauss(0.0, 0.015), rng.uniform(-0.5, 0.5))
        if i in wanted:
            noise[i] = draw
    data: dict[str, list[str]] = {"t": [prof.labels[i] for i in rep.indices]}
    ch_ratings = [prod.channel_r_kwh(inv, ch, day) for ch in channels]
    for ch in channels:
        n = ch + 1
        dc_w = prod.channel_dc_w(inv, ch)
        p_list: list[str] = []
        v_list: list[str] = []
        i_list: list[str] = []
        e_list: list[str] = []
        prev = 0
        for i in rep.indices:
            g = prof.g[i]
            power = dc_w * g
            volts = dc_voltage(inv.panels_w[ch], g, prof.t_cell[i], ch_offsets[ch])
            counter = round(MILLI * ch_ratings[ch] * prof.cum_g[i])
            p_list.append(whole(power))
            v_list.append(num(volts, 1))
            i_list.append(num(power / volts, 2))
            e_list.append(kwh3(counter - prev))
            prev = counter
        data[f"dc_p{n}"] = p_list
        data[f"dc_i{n}"] = i_list
        data[f"dc_v{n}"] = v_list
        data[f"dc_e{n}"] = e_list
    ac_w = prod.inverter_ac_w(inv)
    phases = [f"ac_v{p}" for p in range(1, m.phases + 1)]
    for p, name in enumerate(phases):
        data[name] = [
            num(spec.grid_voltage + v_offset + noise[i][0] + 0.7 * p + 2.0 * prof.g[i], 1) for i in rep.indices
        ]
    data["ac_f"] = [num(spec.grid_frequency + noise[i][1], 2) for i in rep.indices]
    data["ac_t"] = [
        whole(prof.t_air[i] + 5.0 + 25.0 * (ac_w * prof.g[i]) / m.max_ac_w + noise[i][2]) for i in rep.indices
    ]
    data["ac_p1"] = [str(inverter_ac_at(prod, inv, prof.g[i])) for i in rep.indices]
    if ctx.options.emit_ac_p:
        data["ac_p"] = list(data["ac_p1"])
    return data


def h_inverter_energy(ctx: Ctx) -> Any:
    state = site_of(ctx)
    ecu, inv = inverter_of(ctx, state)
    level = level_of(ctx, ("minutely", "hourly", "daily", "monthly", "yearly"))
    period = period_of(ctx, state, level)
    if level == "minutely":
        assert period.day is not None
        return inverter_minutely(ctx, state, ecu, inv, period.day)
    prod = state.production
    if level == "hourly":
        assert period.day is not None
        hourly_guard(prod, [ecu], period.day, ctx)
    return {
        f"e{ch + 1}": [
            kwh2(v) for v in producer_series(prod, ecu.eid, prod.channel_rating(inv, ch), level, period, ctx)
        ]
        for ch in range(len(inv.panels_w))
    }


def h_batch(ctx: Ctx) -> Any:
    state = site_of(ctx)
    ecu = ecu_of(ctx, state)
    level = level_of(ctx, ("power", "energy"))
    period = period_of(ctx, state, level, required=True)
    assert period.day is not None
    day = period.day
    prod = state.production
    rep = prod.reported(ecu.eid, prod.ecu_rating(ecu)[1], day, ctx.now_epoch, CENTI)
    require_data([rep])
    inverters = [inv for inv in ecu.inverters if inv.listed and inv.active_on(day)]
    if level == "energy":
        entries: list[str] = []
        for inv in inverters:
            for ch in range(len(inv.panels_w)):
                key, rating = prod.channel_rating(inv, ch)
                value = prod.so_far(key, ecu.eid, rating, day, ctx.now_epoch, CENTI) or 0
                entries.append(f"{inv.uid}-{ch + 1}-{kwh2(value)}")
        return {"energy": entries}
    prof = prod.profile(day)
    power: dict[str, list[int]] = {}
    for inv in inverters:
        for ch in range(len(inv.panels_w)):
            dc_w = prod.channel_dc_w(inv, ch)
            power[f"{inv.uid}-{ch + 1}"] = [round(dc_w * prof.g[i]) for i in rep.indices]
    return {"time": [prof.labels[i] for i in rep.indices], "power": power}


# --- meter and storage (household flows) -------------------------------------------------------

METER_KEYS = ("consumed", "exported", "imported", "produced")
STORAGE_KEYS = ("discharge", "charge", "produced", "consumed", "exported", "imported")


class Flows:
    """Household flow totals for one site as of now, in kWh floats."""

    def __init__(self, state: SiteState, now_epoch: float) -> None:
        self.state = state
        self.prod = state.production
        self.now = now_epoch
        self.today = self.prod.local_date(now_epoch)

    def detail(self, day: date) -> tuple[DayFlows, int]:
        """The day's flows and how many points of it are available."""
        flows = day_flows(self.prod.geo, day, self.prod.site_ac_w(day), self.state.spec.storage)
        limit = self.prod.cutoff(self.prod.profile(day), self.now) if day == self.today else len(flows.soc)
        return flows, limit

    def day(self, day: date) -> dict[str, float]:
        zero = dict.fromkeys(FLOWS, 0.0)
        if day > self.today or day < self.state.spec.create_date:
            return zero
        if day < self.today:
            return day_totals(self.prod.geo, day, self.prod.site_ac_w(day), self.state.spec.storage)
        flows, limit = self.detail(day)
        return {f: flows.energy(f, limit) for f in FLOWS}

    def span(self, first: date, last: date) -> dict[str, float]:
        out = dict.fromkeys(FLOWS, 0.0)
        start = max(first, self.state.spec.create_date)
        end = min(last, self.today)
        for ordinal in range(start.toordinal(), end.toordinal() + 1):
            for f, v in self.day(date.fromordinal(ordinal)).items():
                out[f] += v
        return out

    def month(self, year: int, month: int) -> dict[str, float]:
        if (year, month) >= (self.today.year, self.today.month):
            return self.span(date(year, month, 1), date(year, month, month_days(year, month)))
        cache = self.prod.flow_months
        hit = cache.get((year, month))
        if hit is None:
            hit = cache[(year, month)] = self.span(date(year, month, 1), date(year, month, month_days(year, month)))
        return hit

    def year(self, year: int) -> dict[str, float]:
        out = dict.fromkeys(FLOWS, 0.0)
        for month in range(1, 13):
            for f, v in self.month(year, month).items():
                out[f] += v
        return out

    def lifetime(self) -> dict[str, float]:
        out = dict.fromkeys(FLOWS, 0.0)
        for year in self.prod.years(self.now):
            for f, v in self.year(year).items():
                out[f] += v
        return out

    def summary(self) -> dict[str, dict[str, float]]:
        t = self.today
        return {
            "today": self.day(t),
            "month": self.month(t.year, t.month),
            "year": self.year(t.year),
            "lifetime": self.lifetime(),
        }

    def hourly(self, day: date) -> list[dict[str, float]]:
        flows, limit = self.detail(day)
        prof = self.prod.profile(day)
        closed = self.prod.local_hour(self.now) if day == self.today else 24
        out = [dict.fromkeys(FLOWS, 0.0) for _ in range(24)]
        for i in range(limit):
            h = prof.hours[i]
            if h < closed:
                for f in FLOWS:
                    out[h][f] += flows.power[f][i] * 5.0 / 60.0 / 1000.0
        return out

    def buckets(self, level: str, period: Period, truncate: bool) -> tuple[list[str], list[dict[str, float]]]:
        if level == "hourly":
            assert period.day is not None
            return [f"{h:02d}" for h in range(24)], self.hourly(period.day)
        if level == "daily":
            assert period.year is not None and period.month is not None
            last = month_days(period.year, period.month)
            if truncate and (period.year, period.month) == (self.today.year, self.today.month):
                last = self.today.day
            days = range(1, last + 1)
            return [f"{d:02d}" for d in days], [self.day(date(period.year, period.month, d)) for d in days]
        if level == "monthly":
            assert period.year is not None
            return [f"{m:02d}" for m in range(1, 13)], [self.month(period.year, m) for m in range(1, 13)]
        years = self.prod.years(self.now)
        return [str(y) for y in years], [self.year(y) for y in years]


def meter_of(ctx: Ctx) -> SiteState:
    state = site_of(ctx)
    if state.spec.meter_eid is None or ctx.params["eid"] != state.spec.meter_eid:
        raise ApiFailure(ctx.options.unknown_id_code, "not a meter ECU")
    return state


def storage_of(ctx: Ctx) -> SiteState:
    state = site_of(ctx)
    if state.spec.storage is None or ctx.params["eid"] != state.spec.storage.eid:
        raise ApiFailure(ctx.options.unknown_id_code, "not a storage ECU")
    return state


def flow_map(values: Mapping[str, float], keys: tuple[str, ...], decimals: int) -> dict[str, str]:
    return {k: num(values[k], decimals) for k in keys}


def h_meter_summary(ctx: Ctx) -> Any:
    summary = Flows(meter_of(ctx), ctx.now_epoch).summary()
    return {span: flow_map(values, METER_KEYS, 6) for span, values in summary.items()}


def period_payload(
    ctx: Ctx, state: SiteState, keys: tuple[str, ...], decimals: int, minutely: Callable[[DayFlows, int, date], Any]
) -> Any:
    level = level_of(ctx, ("minutely", "hourly", "daily", "monthly", "yearly"))
    period = period_of(ctx, state, level)
    flows = Flows(state, ctx.now_epoch)
    if level == "minutely":
        assert period.day is not None
        detail, limit = flows.detail(period.day)
        if limit == 0:
            raise ApiFailure(NO_DATA, "no data for the day yet")
        return minutely(detail, limit, period.day)
    labels, values = flows.buckets(level, period, ctx.options.truncate_current_month)
    out: dict[str, Any] = {"time": labels}
    for k in keys:
        out[k] = [num(v[k], decimals) for v in values]
    return out


def h_meter_period(ctx: Ctx) -> Any:
    state = meter_of(ctx)
    prof_of = state.production.profile

    def minutely(detail: DayFlows, limit: int, day: date) -> Any:
        labels = prof_of(day).labels[:limit]
        p = detail.power
        return {
            "today": flow_map({f: detail.energy(f, limit) for f in FLOWS}, METER_KEYS, 6),
            "time": list(labels),
            "power": {
                "consumed": [num(v, 2) for v in p["consumed"][:limit]],
                "imported_exported": [num(p["imported"][i] - p["exported"][i], 2) for i in range(limit)],
                "produced": [num(v, 2) for v in p["produced"][:limit]],
            },
            "energy": {k: [num(v * 5.0 / 60.0 / 1000.0, 6) for v in p[k][:limit]] for k in METER_KEYS},
        }

    return period_payload(ctx, state, ("produced", "consumed", "imported", "exported"), 3, minutely)


def h_storage_latest(ctx: Ctx) -> Any:
    state = storage_of(ctx)
    assert state.spec.storage is not None
    flows = Flows(state, ctx.now_epoch)
    detail, limit = flows.detail(flows.today)
    if limit == 0:
        raise ApiFailure(NO_DATA, "no data yet")
    i = limit - 1
    out: dict[str, Any] = {
        "mode": state.spec.storage.mode,
        "soc": str(round(detail.soc[i])),
        "time": state.production.profile(flows.today).labels[i],
    }
    out.update({k: num(detail.power[k][i], 3) for k in STORAGE_KEYS})
    return out


def h_storage_summary(ctx: Ctx) -> Any:
    summary = Flows(storage_of(ctx), ctx.now_epoch).summary()
    return {span: flow_map(values, STORAGE_KEYS, 3) for span, values in summary.items()}


def h_storage_period(ctx: Ctx) -> Any:
    state = storage_of(ctx)
    prof_of = state.production.profile

    def minutely(detail: DayFlows, limit: int, day: date) -> Any:
        p = detail.power
        return {
            "today": flow_map({f: detail.energy(f, limit) for f in FLOWS}, STORAGE_KEYS, 3),
            "time": list(prof_of(day).labels[:limit]),
            "power": {k: [num(v, 3) for v in p[k][:limit]] for k in STORAGE_KEYS},
            "energy": {k: [num(v * 5.0 / 60.0 / 1000.0, 3) for v in p[k][:limit]] for k in STORAGE_KEYS},
        }

    return period_payload(ctx, state, STORAGE_KEYS, 3, minutely)


# --- installer ------------------------------------------------------------------------------

SORT_KEYS = ("sid", "username", "create_date")


def _int_arg(ctx: Ctx, name: str, default: int) -> int:
    raw = ctx.args.get(name, default)
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise ApiFailure(BAD_PARAM, f"{name} must be an integer") from None


def list_systems(ctx: Ctx, *, partner: bool) -> Any:
    page = _int_arg(ctx, "page", 1)
    size = min(50, max(10, _int_arg(ctx, "size", 10)))
    if page < 1:
        raise ApiFailure(BAD_PARAM, "page must be at least 1")
    sort = str(ctx.args.get("sort") or "sid")
    descending = sort.startswith("-")
    sort_key = sort.lstrip("-")
    if sort_key not in SORT_KEYS:
        raise ApiFailure(BAD_PARAM, f"sort must be one of {SORT_KEYS}")
    query = ctx.args.get("query") or {}
    if isinstance(query, str):
        try:
            query = json.loads(query)
        except ValueError:
            raise ApiFailure(BAD_PARAM, "query must be a JSON object") from None
    if not isinstance(query, dict):
        raise ApiFailure(BAD_PARAM, "query must be an object")
    specs = [s.spec for s in ctx.cloud.sites.values()]
    specs.sort(key=lambda s: str(getattr(s, sort_key)), reverse=descending)
    items = [details_payload(s, partner=partner) for s in specs]
    items = [
        item
        for item, spec in zip(items, specs, strict=True)
        if all(str(item.get(k, getattr(spec, k, None))) == str(v) for k, v in query.items())
    ]
    chunk = items[(page - 1) * size : page * size]
    return {"total": len(items), "page": page, "size": size, "systems": chunk}


def h_systems(ctx: Ctx) -> Any:
    return list_systems(ctx, partner=False)


def h_partner_systems(ctx: Ctx) -> Any:
    return list_systems(ctx, partner=True)


def h_systems_by_token(ctx: Ctx) -> Any:
    token = str(ctx.args.get("token") or "")
    found = ctx.cloud.tokens.get(token)
    if found is None or found[2] < ctx.now_epoch:
        raise ApiFailure(BAD_PARAM, "unknown or expired token")
    sid, username, _ = found
    state = ctx.cloud.sites.get(sid)
    if state is None:
        raise ApiFailure(BAD_PARAM, "token's system is gone")
    item = details_payload(state.spec, partner=True)
    item["username"] = username
    return {"systems": [item]}


def build_routes() -> RouteTable:
    t = RouteTable()
    both = USER_OR_INSTALLER
    dev = "systems/{sid}/devices"
    t.add("GET", both, "systems/details/{sid}", "system_details", h_details)
    t.add("GET", both, "systems/inverters/{sid}", "inverters", h_inverters)
    t.add("GET", both, "systems/meters/{sid}", "meters", h_meters)
    t.add("GET", INSTALLER, "systems/storages/{sid}", "storages", h_storages)
    t.add("GET", both, "systems/summary/{sid}", "system_summary", h_system_summary)
    t.add("GET", both, "systems/energy/{sid}", "system_energy", h_system_energy, leveled=True)
    t.add("GET", both, dev + "/ecu/summary/{eid}", "ecu_summary", h_ecu_summary)
    t.add("GET", both, dev + "/ecu/energy/{eid}", "ecu_energy", h_ecu_energy, leveled=True)
    t.add("GET", both, dev + "/meter/summary/{eid}", "meter_summary", h_meter_summary)
    t.add("GET", both, dev + "/meter/period/{eid}", "meter_period", h_meter_period, leveled=True)
    t.add("GET", both, dev + "/inverter/summary/{uid}", "inverter_summary", h_inverter_summary)
    t.add("GET", both, dev + "/inverter/energy/{uid}", "inverter_energy", h_inverter_energy, leveled=True)
    t.add("GET", both, dev + "/inverter/batch/energy/{eid}", "batch", h_batch, leveled=True)
    t.add("GET", both, dev + "/storage/latest/{eid}", "storage_latest", h_storage_latest)
    t.add("GET", both, dev + "/storage/summary/{eid}", "storage_summary", h_storage_summary)
    t.add("GET", both, dev + "/storage/period/{eid}", "storage_period", h_storage_period, leveled=True)
    t.add("POST", INSTALLER, "systems", "systems", h_systems)
    t.add("POST", INSTALLER, "partnerSystems", "partner_systems", h_partner_systems)
    t.add("POST", INSTALLER, "getSystemsByToken", "systems_by_token", h_systems_by_token)
    return t
