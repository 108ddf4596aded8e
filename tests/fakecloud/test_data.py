"""The synthetic data is physically plausible and internally consistent, and follows the clock."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from astral import LocationInfo, Observer
from astral.sun import azimuth, elevation, sun

from fakes.apsystems_cloud import FakeCloud, preset
from fakes.apsystems_cloud.production import day_bounds, day_profile
from fakes.apsystems_cloud.solar import sun_position

from .conftest import NOON_ISH, USER, Api, kwh

YESTERDAY = "2026-06-14"


def dsum(values: list[str]) -> Decimal:
    return sum((Decimal(v) for v in values), Decimal(0))


class Site:
    """Paths of the demo site, for brevity."""

    def __init__(self, cloud: FakeCloud) -> None:
        self.cloud = cloud
        self.api = Api(cloud)
        self.sid = cloud.sid
        self.ecu = cloud.site.ecus[0]
        self.eid = self.ecu.eid
        self.dev = f"{USER}/systems/{self.sid}/devices"

    def summary(self) -> dict[str, Any]:
        return dict(self.api.data(f"{USER}/systems/summary/{self.sid}"))

    def system(self, level: str, rng: str | None = None) -> list[str]:
        params = {"energy_level": level} | ({"date_range": rng} if rng else {})
        return list(self.api.data(f"{USER}/systems/energy/{self.sid}", **params))

    def ecu_minutely(self, rng: str | None = None) -> dict[str, Any]:
        params = {"energy_level": "minutely"} | ({"date_range": rng} if rng else {})
        return dict(self.api.data(f"{self.dev}/ecu/energy/{self.eid}", **params))

    def inverter(self, uid: str, level: str, rng: str | None = None) -> dict[str, Any]:
        params = {"energy_level": level} | ({"date_range": rng} if rng else {})
        return dict(self.api.data(f"{self.dev}/inverter/energy/{uid}", **params))


@pytest.fixture
def site(cloud: FakeCloud) -> Site:
    return Site(cloud)


def test_minutely_energy_sums_exactly_to_today(site: Site) -> None:
    data = site.ecu_minutely()
    assert dsum(data["energy"]) == kwh(data["today"])
    assert kwh(site.summary()["today"]) == kwh(data["today"])


def test_minutely_of_a_past_day_sums_to_its_daily_value(site: Site) -> None:
    data = site.ecu_minutely(YESTERDAY)
    daily = site.system("daily", "2026-06")
    assert dsum(data["energy"]) == kwh(data["today"]) == kwh(daily[13])


def test_hourly_sums_to_the_day(site: Site) -> None:
    hourly = site.system("hourly", YESTERDAY)
    assert dsum(hourly) == kwh(site.system("daily", "2026-06")[13])


def test_hourly_today_closed_hours_only(site: Site) -> None:
    hourly = site.system("hourly")
    local_hour = 13  # 12:07 UTC is 13:07 BST
    assert all(v == "0.00" for v in hourly[local_hour:])
    assert kwh(hourly[local_hour - 1]) > 0
    minutely = site.ecu_minutely()
    in_progress = dsum([e for t, e in zip(minutely["time"], minutely["energy"], strict=True) if int(t[:2]) >= 13])
    assert dsum(hourly) + in_progress == kwh(site.summary()["today"])


def test_month_year_lifetime_are_sums(site: Site) -> None:
    s = site.summary()
    assert dsum(site.system("daily", "2026-06")) == kwh(s["month"])
    assert kwh(site.system("daily", "2026-06")[14]) == kwh(s["today"])
    monthly = site.system("monthly", "2026")
    assert dsum(monthly) == kwh(s["year"])
    assert kwh(monthly[5]) == kwh(s["month"])
    assert all(v == "0.00" for v in monthly[6:])
    yearly = site.system("yearly")
    assert dsum(yearly) == kwh(s["lifetime"])
    assert kwh(s["lifetime"]) >= kwh(s["year"]) >= kwh(s["month"]) >= kwh(s["today"]) > 0
    assert kwh(yearly[0]) == dsum(site.system("monthly", "2023"))


def test_daily_future_days_zero_or_truncated(site: Site) -> None:
    daily = site.system("daily", "2026-06")
    assert len(daily) == 30 and all(v == "0.00" for v in daily[15:])
    site.cloud.options.truncate_current_month = True
    assert len(site.system("daily", "2026-06")) == 15
    assert len(site.system("daily", "2026-05")) == 31


def test_days_before_installation_are_zero(site: Site) -> None:
    assert site.system("daily", "2023-04")[0] != "0.00"
    assert site.api.code(f"{USER}/systems/energy/{site.sid}", energy_level="daily", date_range="2023-03") == 1001
    assert site.api.code(f"{USER}/systems/energy/{site.sid}", energy_level="hourly", date_range="2023-03-31") == 1001
    assert site.api.code(f"{USER}/systems/energy/{site.sid}", energy_level="monthly", date_range="2022") == 1001
    monthly_2023 = site.system("monthly", "2023")
    assert monthly_2023[:3] == ["0.00"] * 3 and monthly_2023[3] != "0.00"


def test_system_is_sum_of_ecus(large: FakeCloud) -> None:
    api = Api(large)
    sys_summary = api.data(f"{USER}/systems/summary/{large.sid}")
    ecu_summaries = [api.data(f"{USER}/systems/{large.sid}/devices/ecu/summary/{e.eid}") for e in large.site.ecus]
    for key in ("today", "month", "year", "lifetime"):
        assert kwh(sys_summary[key]) == sum(kwh(s[key]) for s in ecu_summaries)
    hourly = [
        api.data(f"{USER}/systems/{large.sid}/devices/ecu/energy/{e.eid}", energy_level="hourly", date_range=YESTERDAY)
        for e in large.site.ecus
    ]
    system_hourly = api.data(f"{USER}/systems/energy/{large.sid}", energy_level="hourly", date_range=YESTERDAY)
    assert [kwh(v) for v in system_hourly] == [sum(kwh(h[i]) for h in hourly) for i in range(24)]


def test_inverter_channels_add_up_to_the_ecu(site: Site) -> None:
    ecu_summary = site.api.data(f"{site.dev}/ecu/summary/{site.eid}")
    channel_sums = dict.fromkeys("dmyt", Decimal(0))
    n_channels = 0
    for inv in site.ecu.inverters:
        summary = site.api.data(f"{site.dev}/inverter/summary/{inv.uid}")
        for key, value in summary.items():
            channel_sums[key[0]] += kwh(value)
        n_channels += len(inv.panels_w)
    rounding = Decimal("0.005") * (n_channels + 1)
    assert abs(channel_sums["d"] - kwh(ecu_summary["today"])) <= rounding
    assert abs(channel_sums["m"] - kwh(ecu_summary["month"])) <= rounding * 15
    assert abs(channel_sums["t"] - kwh(ecu_summary["lifetime"])) <= kwh(ecu_summary["lifetime"]) * Decimal("0.001")


def test_batch_energy_matches_inverters_and_ecu(site: Site) -> None:
    batch = site.api.data(f"{site.dev}/inverter/batch/energy/{site.eid}", energy_level="energy", date_range=YESTERDAY)
    per_channel = {e.rsplit("-", 1)[0]: kwh(e.rsplit("-", 1)[1]) for e in batch["energy"]}
    day = kwh(site.system("daily", "2026-06")[13])
    assert abs(sum(per_channel.values()) - day) <= Decimal("0.05")
    inv = site.ecu.inverters[0]
    daily = site.inverter(inv.uid, "daily", "2026-06")
    assert kwh(daily["e1"][13]) == per_channel[f"{inv.uid}-1"]
    assert kwh(daily["e2"][13]) == per_channel[f"{inv.uid}-2"]
    assert dsum(site.inverter(inv.uid, "hourly", YESTERDAY)["e1"]) == per_channel[f"{inv.uid}-1"]


def test_batch_power_matches_inverter_minutely(site: Site) -> None:
    batch = site.api.data(f"{site.dev}/inverter/batch/energy/{site.eid}", energy_level="power", date_range=YESTERDAY)
    inv = site.ecu.inverters[1]
    minutely = site.inverter(inv.uid, "minutely", YESTERDAY)
    assert batch["time"] == minutely["t"]
    assert [str(p) for p in batch["power"][f"{inv.uid}-2"]] == minutely["dc_p2"]


def test_ecu_power_is_sum_of_inverter_ac_power(site: Site) -> None:
    ecu = site.ecu_minutely(YESTERDAY)
    inverters = [site.inverter(inv.uid, "minutely", YESTERDAY) for inv in site.ecu.inverters]
    for inv in inverters:
        assert inv["t"] == ecu["time"]
    for i in range(len(ecu["time"])):
        assert int(ecu["power"][i]) == sum(int(inv["ac_p1"][i]) for inv in inverters)


def test_dc_ac_physics(site: Site) -> None:
    data = site.inverter(site.ecu.inverters[0].uid, "minutely", YESTERDAY)
    for i in range(len(data["t"])):
        dc_total = 0.0
        for ch in (1, 2):
            p, v, a = float(data[f"dc_p{ch}"][i]), float(data[f"dc_v{ch}"][i]), float(data[f"dc_i{ch}"][i])
            assert 22.0 <= v <= 48.0
            assert abs(p - v * a) <= 0.5 + 0.005 * v + 0.05 * a
            assert 0 <= p <= 480
            dc_total += p
        ac = float(data["ac_p1"][i])
        assert abs(ac - dc_total * 0.965) <= 2 + 0.02 * dc_total
        assert 220 <= float(data["ac_v1"][i]) <= 240
        assert 49.8 <= float(data["ac_f"][i]) <= 50.2
        assert -5 <= int(data["ac_t"][i]) <= 75
    dc_e = dsum(data["dc_e1"])
    e1 = kwh(site.inverter(site.ecu.inverters[0].uid, "daily", "2026-06")["e1"][13])
    assert abs(dc_e - e1) <= Decimal("0.006")


def test_peak_power_of_a_sunny_day(site: Site) -> None:
    uid = site.ecu.inverters[0].uid
    peaks = [max(int(p) for p in site.inverter(uid, "minutely", f"2026-06-{d:02d}")["ac_p1"]) for d in range(1, 15)]
    assert 550 < max(peaks) < 880  # a DS3 (880 VA) with two 400 Wp panels
    assert min(peaks) < max(peaks) * 0.6  # and cloudy days are visibly weaker


def test_curve_follows_the_sun(site: Site) -> None:
    daily = site.system("daily", "2026-06")[:14]
    sunniest = max(range(14), key=lambda d: kwh(daily[d])) + 1
    data = site.ecu_minutely(f"2026-06-{sunniest:02d}")
    first, last = data["time"][0], data["time"][-1]
    assert "04:30" < first < "06:30" and "20:00" < last < "21:45"
    powers = [int(p) for p in data["power"]]
    noon = data["time"].index(next(t for t in data["time"] if t >= "13:00"))
    assert max(powers[noon - 24 : noon + 24]) > 5 * max(powers[:3])


def test_winter_is_shorter_and_weaker(site: Site) -> None:
    summer = site.system("monthly", "2025")
    assert kwh(summer[5]) > 3 * kwh(summer[11])


def test_southern_hemisphere_seasons(southern: FakeCloud) -> None:
    api = Api(southern)
    monthly = api.data(f"{USER}/systems/energy/{southern.sid}", energy_level="monthly", date_range="2025")
    assert kwh(monthly[0]) > Decimal("1.5") * kwh(monthly[5])  # January (summer) vs June (winter)


def test_summer_day_plausible_yield(site: Site) -> None:
    """A June day in London: 0.5–7.5 kWh per kWp."""
    for day in range(1, 15):
        value = kwh(site.system("daily", "2026-06")[day - 1])
        assert Decimal("1.6") <= value <= Decimal("24")


def test_pre_dawn_no_data(cloud: FakeCloud, site: Site) -> None:
    cloud.clock.set_fixed(datetime(2026, 6, 15, 2, 30, tzinfo=timezone.utc))  # 03:30 BST
    summary = site.summary()
    assert summary["today"] is None
    assert kwh(summary["month"]) > 0
    assert site.api.code(f"{USER}/systems/energy/{site.sid}", energy_level="hourly") == 1001
    assert site.api.code(f"{site.dev}/ecu/energy/{site.eid}", energy_level="minutely") == 1001
    uid = site.ecu.inverters[0].uid
    assert site.api.code(f"{site.dev}/inverter/energy/{uid}", energy_level="minutely") == 1001
    inv_summary = site.api.data(f"{site.dev}/inverter/summary/{uid}")
    assert inv_summary["d1"] is None and inv_summary["t1"] is not None
    batch = f"{site.dev}/inverter/batch/energy/{site.eid}"
    assert site.api.code(batch, energy_level="power", date_range="2026-06-15") == 1001
    assert site.api.code(f"{USER}/systems/energy/{site.sid}", energy_level="daily") == 0


def test_future_dates_are_1001(site: Site) -> None:
    base = f"{USER}/systems/energy/{site.sid}"
    assert site.api.code(base, energy_level="hourly", date_range="2026-06-16") == 1001
    assert site.api.code(base, energy_level="daily", date_range="2026-07") == 1001
    assert site.api.code(base, energy_level="monthly", date_range="2027") == 1001
    assert site.api.code(f"{site.dev}/ecu/energy/{site.eid}", energy_level="minutely", date_range="2026-06-16") == 1001


def test_data_follows_the_clock(cloud: FakeCloud, site: Site) -> None:
    before = site.ecu_minutely()
    cloud.clock.advance(timedelta(minutes=30))
    after = site.ecu_minutely()
    assert after["time"][: len(before["time"])] == before["time"]
    assert len(after["time"]) == len(before["time"]) + 6
    assert after["time"][-1] == "13:35"
    assert kwh(after["today"]) > kwh(before["today"])
    assert after["energy"][: len(before["energy"]) - 1] == before["energy"][:-1]


def test_upload_interval_lags_the_data(cloud: FakeCloud) -> None:
    spec = dataclasses.replace(preset("demo"), upload_interval_min=15)
    cloud.put_site(spec)
    site = Site(cloud)
    assert site.ecu_minutely()["time"][-1] == "13:00"
    cloud.clock.advance(timedelta(minutes=7, seconds=59))  # 13:14:59
    assert site.ecu_minutely()["time"][-1] == "13:00"
    cloud.clock.advance(timedelta(seconds=1))
    assert site.ecu_minutely()["time"][-1] == "13:15"


def test_gaps_are_deterministic_and_keep_totals(cloud: FakeCloud) -> None:
    no_gaps = Site(cloud)
    cloud.put_site(dataclasses.replace(preset("demo"), gap_rate=0.0))
    full = no_gaps.ecu_minutely(YESTERDAY)
    cloud.put_site(dataclasses.replace(preset("demo"), gap_rate=0.2))
    gappy = no_gaps.ecu_minutely(YESTERDAY)
    assert len(gappy["time"]) < len(full["time"]) * 0.9
    assert set(gappy["time"]) < set(full["time"])
    assert gappy["today"] == full["today"]
    assert dsum(gappy["energy"]) == kwh(full["today"])
    assert gappy == no_gaps.ecu_minutely(YESTERDAY)
    times = full["time"]
    assert all(
        (datetime.strptime(b, "%H:%M") - datetime.strptime(a, "%H:%M")).seconds == 300
        for a, b in itertools.pairwise(times)
    )


def test_same_seed_same_data_other_seed_other_data() -> None:
    def fetch(seed: int) -> tuple[Any, Any]:
        with FakeCloud(site=dataclasses.replace(preset("demo"), seed=seed)) as cloud:
            cloud.clock.set_fixed(NOON_ISH)
            site = Site(cloud)
            return site.system("daily", "2026-05"), site.inverter(site.ecu.inverters[0].uid, "minutely", YESTERDAY)

    first, again, other = fetch(5), fetch(5), fetch(6)
    assert first == again
    assert first[0] != other[0]


def test_removed_inverter_keeps_history(cloud: FakeCloud, site: Site) -> None:
    lifetime_before = kwh(site.summary()["lifetime"])
    uid = site.ecu.inverters[0].uid
    cloud.remove_inverter(uid)
    listed = site.api.data(f"{USER}/systems/inverters/{site.sid}")[0]["inverter"]
    assert uid not in [i["uid"] for i in listed] and len(listed) == 3
    assert site.api.code(f"{site.dev}/inverter/summary/{uid}") == 4001
    assert kwh(site.summary()["lifetime"]) == lifetime_before
    cloud.clock.advance(timedelta(days=1))
    tomorrow_power = site.ecu_minutely()["power"]
    cloud.restore_inverter(uid)
    assert [int(p) for p in tomorrow_power] < [int(p) for p in site.ecu_minutely()["power"]]


def test_added_inverter_produces_from_today(cloud: FakeCloud, site: Site) -> None:
    before = site.summary()
    inv = cloud.add_inverter(site.eid, "QS1", panels_w=350)
    assert len(inv.uid) == 12 and inv.uid.startswith("801")
    after = site.summary()
    assert kwh(after["today"]) > kwh(before["today"])
    assert kwh(after["lifetime"]) - kwh(before["lifetime"]) == kwh(after["today"]) - kwh(before["today"])
    summary = site.api.data(f"{site.dev}/inverter/summary/{inv.uid}")
    assert summary["d4"] == summary["t4"]


def test_empty_inverter_list(cloud: FakeCloud, site: Site) -> None:
    cloud.set_empty_inverter_list(True)
    assert site.api.data(f"{USER}/systems/inverters/{site.sid}") == []
    cloud.set_empty_inverter_list(False)
    assert len(site.api.data(f"{USER}/systems/inverters/{site.sid}")) == 1


def test_detail_retention_option(cloud: FakeCloud, site: Site) -> None:
    cloud.options.detail_retention_days = 30
    base = f"{USER}/systems/energy/{site.sid}"
    assert site.api.code(base, energy_level="hourly", date_range="2026-05-01") == 1001
    assert site.api.code(base, energy_level="hourly", date_range="2026-05-20") == 0
    assert site.api.code(base, energy_level="daily", date_range="2025-05") == 0


def test_dst_days_keep_24_hourly_entries() -> None:
    tz = preset("demo").tz
    assert day_bounds(date(2026, 3, 29), tz)[1] == 276
    assert day_bounds(date(2026, 10, 25), tz)[1] == 300
    with FakeCloud(site=preset("demo")) as cloud:
        cloud.clock.set_fixed(NOON_ISH)
        site = Site(cloud)
        for day in ("2026-03-29", "2025-10-26"):
            hourly = site.system("hourly", day)
            assert len(hourly) == 24
            assert dsum(hourly) == dsum(site.ecu_minutely(day)["energy"])


def test_sun_position_matches_astral() -> None:
    observer = Observer(latitude=51.5, longitude=-0.13)
    for hours in (6, 9, 12, 15, 18):
        when = datetime(2026, 6, 15, hours, 0, tzinfo=timezone.utc)
        el, az = sun_position(51.5, -0.13, when)
        assert abs(el - elevation(observer, when, with_refraction=False)) < 0.5
        assert abs(az - azimuth(observer, when)) < 1.0


def test_profile_daylight_window_matches_sunrise() -> None:
    spec = preset("demo")
    prof = day_profile(FakeCloud(site=spec).site_state.production.geo, date(2026, 6, 21))
    times = sun(LocationInfo(latitude=51.5, longitude=-0.13).observer, date(2026, 6, 21), tzinfo=spec.tz)
    first = datetime.fromtimestamp(prof.start_epoch + prof.first * 300, spec.tz)
    last = datetime.fromtimestamp(prof.start_epoch + prof.last * 300, spec.tz)
    assert timedelta(0) <= first - times["sunrise"] <= timedelta(hours=1, minutes=30)
    assert timedelta(0) <= times["sunset"] - last <= timedelta(hours=1, minutes=30)


def test_household_balance(southern: FakeCloud) -> None:
    api = Api(southern)
    eid = southern.site.storage.eid if southern.site.storage else ""
    period = api.data(
        f"{USER}/systems/{southern.sid}/devices/storage/period/{eid}", energy_level="minutely", date_range=YESTERDAY
    )
    t = {k: float(v) for k, v in period["today"].items()}
    assert abs(t["produced"] + t["imported"] + t["discharge"] - t["consumed"] - t["exported"] - t["charge"]) < 0.01
    p = period["power"]
    for i in range(len(period["time"])):
        lhs = float(p["produced"][i]) + float(p["imported"][i]) + float(p["discharge"][i])
        rhs = float(p["consumed"][i]) + float(p["exported"][i]) + float(p["charge"][i])
        assert abs(lhs - rhs) < 0.01
    meter = api.data(
        f"{USER}/systems/{southern.sid}/devices/meter/period/{southern.site.meter_eid}",
        energy_level="minutely",
        date_range=YESTERDAY,
    )
    assert abs(float(meter["today"]["produced"]) - t["produced"]) < 0.001
    ecu_day = api.data(
        f"{USER}/systems/{southern.sid}/devices/ecu/energy/{southern.site.ecus[0].eid}",
        energy_level="minutely",
        date_range=YESTERDAY,
    )
    assert abs(float(meter["today"]["produced"]) - float(ecu_day["today"])) < 0.01
    power = meter["power"]
    energy = meter["energy"]
    for i in range(len(meter["time"])):
        net = (
            float(power["consumed"][i]) - float(power["produced"][i]) + float(p["charge"][i]) - float(p["discharge"][i])
        )
        assert abs(float(power["imported_exported"][i]) - net) < 0.02  # positive = import
        assert float(energy["imported"][i]) == 0.0 or float(energy["exported"][i]) == 0.0
    summary = api.data(f"{USER}/systems/{southern.sid}/devices/meter/summary/{southern.site.meter_eid}")
    spans = [{k: float(v) for k, v in summary[span].items()} for span in ("today", "month", "year", "lifetime")]
    for key in ("consumed", "exported", "imported", "produced"):
        assert spans[0][key] <= spans[1][key] <= spans[2][key] <= spans[3][key]
