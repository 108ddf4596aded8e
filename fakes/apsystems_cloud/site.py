"""The site description: ECUs, micro-inverters with their panels, location and options.

Plain dataclasses that round-trip through JSON, so a site can live in a file, be sent to
the control endpoint, or be built in Python by ``build_site``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

SID_RE = re.compile(r"^[A-Za-z0-9]{12}$")
EID_RE = re.compile(r"^\d{12}$")


@dataclass(frozen=True)
class InverterModel:
    """What a micro-inverter model brings: DC channels, AC phases, limits, efficiency."""

    name: str
    channels: int
    phases: int
    max_ac_w: float
    efficiency: float
    uid_prefix: str


MODELS: dict[str, InverterModel] = {
    m.name: m
    for m in (
        InverterModel("DS3", 2, 1, 880.0, 0.965, "703"),
        InverterModel("DS3-L", 2, 1, 730.0, 0.965, "704"),
        InverterModel("DS3-S", 2, 1, 640.0, 0.965, "705"),
        InverterModel("EZ1-M", 2, 1, 800.0, 0.96, "507"),
        InverterModel("YC600", 2, 1, 548.0, 0.95, "806"),
        InverterModel("QS1", 4, 1, 1200.0, 0.955, "801"),
        InverterModel("QT2", 4, 3, 2000.0, 0.96, "902"),
        InverterModel("QT2D", 4, 3, 2000.0, 0.96, "902"),
        InverterModel("YC1000", 4, 3, 900.0, 0.95, "408"),
    )
}


def model(name: str) -> InverterModel:
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"unknown inverter model {name!r}; known: {', '.join(MODELS)}") from None


@dataclass
class InverterSpec:
    """One micro-inverter; ``installed``/``removed`` bound the days it produces."""

    uid: str
    model: str
    panels_w: tuple[float, ...]
    installed: date | None = None
    removed: date | None = None
    listed: bool = True

    def __post_init__(self) -> None:
        if not EID_RE.match(self.uid):
            raise ValueError(f"inverter uid must be 12 digits: {self.uid!r}")
        channels = model(self.model).channels
        if len(self.panels_w) != channels:
            raise ValueError(f"{self.model} has {channels} channels, got {len(self.panels_w)} panel ratings")

    def active_on(self, day: date) -> bool:
        return (self.installed is None or self.installed <= day) and (self.removed is None or day < self.removed)


@dataclass
class EcuSpec:
    """An ECU and its inverters. ``main_eid`` makes it a shared sub-user ECU ('main-virtual')."""

    eid: str
    inverters: list[InverterSpec] = field(default_factory=list)
    main_eid: str | None = None

    def __post_init__(self) -> None:
        if not EID_RE.match(self.eid):
            raise ValueError(f"eid must be 12 digits: {self.eid!r}")
        if self.main_eid is not None and not EID_RE.match(self.main_eid):
            raise ValueError(f"main_eid must be 12 digits: {self.main_eid!r}")

    @property
    def listed_id(self) -> str:
        """How system details lists it: ``main-virtual`` for a shared ECU."""
        return f"{self.main_eid}-{self.eid}" if self.main_eid else self.eid


@dataclass(frozen=True)
class StorageSpec:
    """A battery behind a storage ECU (type 2 in the inverter list)."""

    eid: str
    model: str = "ELS-5K"
    capacity_kwh: float = 5.0
    max_power_w: float = 2500.0
    efficiency: float = 0.95
    min_soc: float = 10.0
    mode: str = "1"


@dataclass
class SiteSpec:
    """Everything that defines one synthetic system."""

    sid: str
    latitude: float
    longitude: float
    timezone: str
    create_date: date
    ecus: list[EcuSpec]
    seed: int = 1
    tilt_deg: float | None = None
    azimuth_deg: float | None = None
    gap_rate: float = 0.02
    upload_interval_min: int = 0
    meter_eid: str | None = None
    storage: StorageSpec | None = None
    light: int = 1
    authorization_code: str | None = "ff8080815501b29d0155088b2ebb06ad"
    username: str = "demo"
    grid_voltage: float = 230.0
    grid_frequency: float = 50.0
    # EMA's after-the-fact corrections: a factor on one past day's whole production.
    corrections: dict[date, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not SID_RE.match(self.sid):
            raise ValueError(f"sid must be 12 letters or digits: {self.sid!r}")
        ZoneInfo(self.timezone)  # raises for an unknown zone
        if not -90.0 < self.latitude < 90.0 or not -180.0 <= self.longitude <= 180.0:
            raise ValueError("latitude/longitude out of range")
        if not 0.0 <= self.gap_rate < 0.5:
            raise ValueError("gap_rate must be in [0, 0.5)")
        if self.upload_interval_min < 0 or (self.upload_interval_min and 60 % self.upload_interval_min):
            raise ValueError("upload_interval_min must divide 60 (0 = no lag)")
        if self.meter_eid is not None and not EID_RE.match(self.meter_eid):
            raise ValueError(f"meter_eid must be 12 digits: {self.meter_eid!r}")
        for day, factor in self.corrections.items():
            check_correction(day, factor)
        seen: set[str] = set()
        for ecu in self.ecus:
            for inv in ecu.inverters:
                if inv.uid in seen:
                    raise ValueError(f"duplicate inverter uid {inv.uid}")
                seen.add(inv.uid)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def tilt(self) -> float:
        """Panel tilt: the given one, else a typical roof pitch for the latitude."""
        return self.tilt_deg if self.tilt_deg is not None else min(35.0, max(10.0, abs(self.latitude) - 10.0))

    @property
    def azimuth(self) -> float:
        """Panel azimuth (clockwise from north): the given one, else facing the equator."""
        if self.azimuth_deg is not None:
            return self.azimuth_deg
        return 180.0 if self.latitude >= 0 else 0.0

    def day_factor(self, day: date) -> float:
        """The correction factor of ``day`` (1.0 when EMA never corrected it)."""
        return self.corrections.get(day, 1.0)

    def all_inverters(self) -> list[tuple[EcuSpec, InverterSpec]]:
        return [(ecu, inv) for ecu in self.ecus for inv in ecu.inverters]

    def capacity_kw(self) -> float:
        return sum(sum(inv.panels_w) for _, inv in self.all_inverters() if inv.listed) / 1000.0

    def system_type(self) -> int:
        """1 PV, 2 storage, 3 PV & storage (system details ``type``)."""
        has_pv = any(ecu.inverters for ecu in self.ecus)
        if self.storage is None:
            return 1
        return 3 if has_pv else 2

    # --- JSON ------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "sid": self.sid,
            "latitude": self.latitude,
            "longitude": self.longitude,
            "timezone": self.timezone,
            "create_date": self.create_date.isoformat(),
            "seed": self.seed,
            "tilt_deg": self.tilt_deg,
            "azimuth_deg": self.azimuth_deg,
            "gap_rate": self.gap_rate,
            "upload_interval_min": self.upload_interval_min,
            "meter_eid": self.meter_eid,
            "light": self.light,
            "authorization_code": self.authorization_code,
            "username": self.username,
            "grid_voltage": self.grid_voltage,
            "grid_frequency": self.grid_frequency,
            "storage": None if self.storage is None else dict(vars(self.storage)),
            "corrections": {d.isoformat(): f for d, f in sorted(self.corrections.items())},
            "ecus": [
                {
                    "eid": ecu.eid,
                    "main_eid": ecu.main_eid,
                    "inverters": [
                        {
                            "uid": inv.uid,
                            "model": inv.model,
                            "panels_w": list(inv.panels_w),
                            "installed": inv.installed.isoformat() if inv.installed else None,
                            "removed": inv.removed.isoformat() if inv.removed else None,
                            "listed": inv.listed,
                        }
                        for inv in ecu.inverters
                    ],
                }
                for ecu in self.ecus
            ],
        }


def check_correction(day: date, factor: float) -> None:
    """A correction scales a day's production; it cannot make it negative or absurd."""
    if not 0.0 <= factor <= 2.0:
        raise ValueError(f"correction factor for {day} must be in [0, 2], got {factor}")


def _opt_date(value: object) -> date | None:
    return None if value in (None, "") else date.fromisoformat(str(value))


def _inverter_from(raw: Mapping[str, Any]) -> InverterSpec:
    m = model(str(raw["model"]))
    panels = raw.get("panels_w", 400)
    ratings = tuple(float(p) for p in panels) if isinstance(panels, list) else (float(panels),) * m.channels
    return InverterSpec(
        uid=str(raw["uid"]),
        model=m.name,
        panels_w=ratings,
        installed=_opt_date(raw.get("installed")),
        removed=_opt_date(raw.get("removed")),
        listed=bool(raw.get("listed", True)),
    )


def site_from_dict(raw: Mapping[str, Any]) -> SiteSpec:
    """Build a site from JSON-like data.

    ``ecus`` is either a list of ``{"eid", "main_eid"?, "inverters": [{"uid", "model", "panels_w"}]}``
    or a list of model lists (``[["DS3", "DS3"], ["QS1"]]``), in which case ids are generated.
    """
    ecus_raw = raw.get("ecus", [["DS3"] * 4])
    common: dict[str, Any] = {
        k: raw[k]
        for k in (
            "seed",
            "tilt_deg",
            "azimuth_deg",
            "gap_rate",
            "upload_interval_min",
            "meter_eid",
            "light",
            "authorization_code",
            "username",
            "grid_voltage",
            "grid_frequency",
        )
        if k in raw
    }
    corrections = raw.get("corrections")
    if corrections:
        common["corrections"] = {date.fromisoformat(str(d)): float(f) for d, f in dict(corrections).items()}
    storage = raw.get("storage")
    if storage is not None:
        common["storage"] = StorageSpec(**storage)
    create = date.fromisoformat(str(raw.get("create_date", "2023-04-01")))
    if ecus_raw and all(isinstance(e, list) for e in ecus_raw):
        return build_site(
            sid=str(raw.get("sid", "AZ12649A3DFF")),
            latitude=float(raw.get("latitude", 51.5)),
            longitude=float(raw.get("longitude", -0.13)),
            timezone=str(raw.get("timezone", "Europe/London")),
            create_date=create,
            ecu_models=[[str(m) for m in e] for e in ecus_raw],
            panel_w=raw.get("panel_w", 400),
            **common,
        )
    ecus = [
        EcuSpec(
            eid=str(e["eid"]),
            main_eid=e.get("main_eid"),
            inverters=[_inverter_from(i) for i in e.get("inverters", [])],
        )
        for e in ecus_raw
    ]
    return SiteSpec(
        sid=str(raw["sid"]),
        latitude=float(raw["latitude"]),
        longitude=float(raw["longitude"]),
        timezone=str(raw["timezone"]),
        create_date=create,
        ecus=ecus,
        **common,
    )


def load_site(path: str | Path) -> SiteSpec:
    """Read a site from a JSON file (see ``site_from_dict`` for the format)."""
    return site_from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def dump_site(site: SiteSpec, path: str | Path) -> None:
    Path(path).write_text(json.dumps(site.to_dict(), indent=2) + "\n", encoding="utf-8")


def next_uid(site: SiteSpec, model_name: str) -> str:
    """A fresh 12-digit uid with the model's prefix, not used anywhere in the site."""
    prefix = model(model_name).uid_prefix
    used = {inv.uid for _, inv in site.all_inverters()}
    n = 1001
    while f"{prefix}{n:09d}" in used:
        n += 1
    return f"{prefix}{n:09d}"


def build_site(
    *,
    sid: str,
    latitude: float,
    longitude: float,
    timezone: str,
    create_date: date,
    ecu_models: Sequence[Sequence[str]],
    panel_w: float | Sequence[float] | Mapping[str, float] = 400,
    first_eid: int = 203000001234,
    **options: Any,
) -> SiteSpec:
    """Generate ids for ECUs (from ``first_eid``) and inverters (model prefix + counter).

    ``panel_w``: one rating for every panel, a list to cycle through per inverter, or a
    mapping model → rating.
    """
    site = SiteSpec(
        sid=sid,
        latitude=latitude,
        longitude=longitude,
        timezone=timezone,
        create_date=create_date,
        ecus=[],
        **options,
    )
    counter = 0
    for e, models in enumerate(ecu_models):
        ecu = EcuSpec(eid=f"{first_eid + e:012d}")
        site.ecus.append(ecu)
        for name in models:
            m = model(name)
            if isinstance(panel_w, Mapping):
                rating = float(panel_w.get(m.name, 400))
            elif isinstance(panel_w, (int, float)):
                rating = float(panel_w)
            else:
                rating = float(list(panel_w)[counter % len(panel_w)])
            counter += 1
            uid = next_uid(site, m.name)
            ecu.inverters.append(InverterSpec(uid=uid, model=m.name, panels_w=(rating,) * m.channels))
    return site
