"""Ready-made sites and the default test credentials."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from .site import SiteSpec, StorageSpec, build_site, load_site

# Made-up credentials in the real formats: App ID 32 lower-case hex, App Secret 12 characters.
DEFAULT_APP_ID = "5a1f0c7e9b3d4e2f8a6b1c0d9e8f7a6b"
DEFAULT_APP_SECRET = "demo12secret"  # noqa: S105 - made up, for the fake only
DEFAULT_CREDENTIALS: dict[str, str] = {DEFAULT_APP_ID: DEFAULT_APP_SECRET}
# A second account, for per-App-ID tests.
SECOND_APP_ID = "0f9e8d7c6b5a49383726150413f2e1d0"
SECOND_APP_SECRET = "other2secret"  # noqa: S105 - made up, for the fake only


def demo() -> SiteSpec:
    """1 ECU with 4 DS3 (8 × 400 Wp) in London; installed three years before the late-2026 clock."""
    return build_site(
        sid="AZ12649A3DFF",
        latitude=51.5,
        longitude=-0.13,
        timezone="Europe/London",
        create_date=date(2023, 4, 1),
        ecu_models=[["DS3"] * 4],
        panel_w=400,
        seed=1,
    )


def large() -> SiteSpec:
    """3 ECUs × 10 inverters mixing DS3, YC600, QS1 and QT2; the first ECU has the meter."""
    return build_site(
        sid="B0XD123A3BHJ",
        latitude=48.14,
        longitude=11.58,
        timezone="Europe/Berlin",
        create_date=date(2022, 9, 1),
        ecu_models=[
            ["DS3"] * 6 + ["YC600"] * 4,
            ["QS1"] * 5 + ["DS3"] * 5,
            ["QT2"] * 4 + ["DS3-L"] * 6,
        ],
        panel_w={"DS3": 430, "YC600": 300, "QS1": 340, "QT2": 400, "DS3-L": 380},
        first_eid=216000000101,
        seed=7,
        meter_eid="216000000101",
    )


def southern() -> SiteSpec:
    """Canberra: 1 ECU with 6 DS3-L, a meter and a 5 kWh battery on separate ECUs."""
    return build_site(
        sid="AU35S149E001",
        latitude=-35.28,
        longitude=149.13,
        timezone="Australia/Sydney",
        create_date=date(2024, 10, 1),
        ecu_models=[["DS3-L"] * 6],
        panel_w=410,
        first_eid=215000004401,
        seed=35,
        meter_eid="215000004402",
        storage=StorageSpec(eid="215000004403"),
    )


def shared() -> SiteSpec:
    """A sub-user system: its ECU is listed as 'main-virtual' (query it with the virtual id)."""
    site = build_site(
        sid="SUB0USER0001",
        latitude=52.37,
        longitude=4.9,
        timezone="Europe/Amsterdam",
        create_date=date(2024, 3, 1),
        ecu_models=[["DS3"] * 2],
        panel_w=420,
        first_eid=2405253708,
        seed=11,
    )
    site.ecus[0].main_eid = "203000001236"
    return site


def daylight(now: datetime | None = None, ecu_models: Sequence[Sequence[str]] = (("DS3",) * 4,)) -> SiteSpec:
    """A site where it is about 12:30 local solar time at ``now`` (default: the real clock).

    Tests and the demo run AppDaemon in real time, so they need a place where the sun is up
    whatever the hour: the longitude follows the clock, the latitude stays tropical (long days
    all year) and the time zone is the matching whole-hour ``Etc/GMT`` zone.
    """
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    utc_hours = moment.hour + moment.minute / 60
    longitude = ((12.5 - utc_hours) * 15 + 180) % 360 - 180
    offset = round(longitude / 15)
    zone_name = "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"  # Etc/GMT-3 is UTC+3
    return build_site(
        sid="DAY0LIGHT001",
        latitude=15.0,
        longitude=round(longitude, 2),
        timezone=zone_name,
        create_date=date(moment.year - 2, 1, 1),
        ecu_models=[list(models) for models in ecu_models],
        panel_w=400,
        seed=11,
    )


def evening(
    now: datetime | None = None, *, sid: str = "EVEN1NG00001", installed_days_ago: int = 420, seed: int = 23
) -> SiteSpec:
    """A site where it is about 21:00 local time at ``now`` (the solar window has closed), near
    the equator, installed ``installed_days_ago`` days before its local today: for the evening
    jobs (the energy history's re-read and backfill) in real-time tests."""
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    offset = (21 - moment.hour + 12) % 24 - 12  # the UTC offset in [-12, 11] that makes it 21:xx
    zone_name = "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"  # Etc/GMT-3 is UTC+3
    local_today = (moment + timedelta(hours=offset)).date()
    return build_site(
        sid=sid,
        latitude=0.5,
        longitude=float(offset * 15),
        timezone=zone_name,
        create_date=local_today - timedelta(days=installed_days_ago),
        ecu_models=[["DS3"] * 4],
        panel_w=400,
        seed=seed,
    )


PRESETS: dict[str, Callable[[], SiteSpec]] = {
    "demo": demo,
    "large": large,
    "southern": southern,
    "shared": shared,
    "daylight": daylight,
}


def preset(name: str) -> SiteSpec:
    """A fresh copy of a named preset, or a site loaded from a ``.json`` path."""
    factory = PRESETS.get(name)
    if factory is not None:
        return factory()
    if name.endswith(".json") or Path(name).is_file():
        return load_site(name)
    raise ValueError(f"unknown site {name!r}; use one of {', '.join(PRESETS)} or a .json file")
