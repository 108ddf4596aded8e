"""The reference's static interval (apsystems-openapi.md §12.4): its worked numbers, and the sign fix."""

import pytest

from apsystems.budget.static_interval import calls_for_window, longest_day_hours, static_interval

# Latitude, inverters, longest day (h), interval (s), estimated calls a month: the reference's table.
REFERENCE_TABLE = [
    (51.5, 6, 16.40, 3300, 817),
    (45.0, 6, 15.43, 3000, 834),
    (60.0, 6, 18.49, 3600, 837),
    (0.0, 6, 12.00, 2400, 814),
    (51.5, 20, 16.40, 7200, 960),
    (65.0, 20, 21.12, 7200, 1033),
]


@pytest.mark.parametrize(("lat", "inverters", "day_h", "interval", "calls"), REFERENCE_TABLE)
def test_reproduces_the_reference_table(lat: float, inverters: int, day_h: float, interval: int, calls: int) -> None:
    estimate = static_interval(lat, inverters, 1)
    assert estimate.longest_day_h == pytest.approx(day_h, abs=0.005)
    assert estimate.interval_s == interval
    assert estimate.monthly_calls_rounded == calls
    assert estimate.fixed_daily_calls == 2 + inverters + 1
    assert estimate.over_quota is (calls > 1000)


def test_65_degrees_with_20_inverters_overruns_even_at_the_maximum() -> None:
    estimate = static_interval(65.0, 20, 1)
    assert estimate.interval_s == 7200 and estimate.over_quota


@pytest.mark.parametrize("lat", [35.0, 45.0])
def test_southern_latitudes_are_sized_for_the_southern_summer(lat: float) -> None:
    south = static_interval(-lat, 6, 1)
    north = static_interval(lat, 6, 1)
    assert south.longest_day_h == pytest.approx(north.longest_day_h)
    assert (south.interval_s, south.monthly_calls_rounded) == (north.interval_s, north.monthly_calls_rounded)
    assert not south.over_quota


@pytest.mark.parametrize(
    ("lat", "buggy_day_h", "buggy_estimate", "real_summer_calls", "fixed_interval", "fixed_estimate"),
    [(-35.0, 9.64, 846, 1138, 3000, 794), (-45.0, 8.57, 780, 1204, 3000, 834)],
)
def test_the_unfixed_sign_bug_overruns_in_the_southern_summer(
    lat: float,
    buggy_day_h: float,
    buggy_estimate: int,
    real_summer_calls: int,
    fixed_interval: int,
    fixed_estimate: int,
) -> None:
    buggy = static_interval(lat, 6, 1, fix_latitude_sign=False)
    assert buggy.longest_day_h == pytest.approx(buggy_day_h, abs=0.005)  # the *shortest* day
    assert buggy.interval_s == 1800
    assert buggy.monthly_calls_rounded == buggy_estimate  # looks fine in the log...
    real_window = longest_day_hours(lat) - 0.5
    summer = calls_for_window(real_window, buggy.interval_s, buggy.fixed_daily_calls)
    assert round(summer) == real_summer_calls  # ...but the southern summer overruns the quota
    assert summer > 1000

    fixed = static_interval(lat, 6, 1)
    assert (fixed.interval_s, fixed.monthly_calls_rounded) == (fixed_interval, fixed_estimate)
    assert calls_for_window(real_window, fixed.interval_s, fixed.fixed_daily_calls) <= 1000


def test_interval_is_a_multiple_of_300_within_the_clamps() -> None:
    for lat10 in range(-900, 901, 25):
        for inverters in (0, 1, 6, 12, 20, 40):
            estimate = static_interval(lat10 / 10, inverters, 1)
            assert estimate.interval_s % 300 == 0
            assert 1800 <= estimate.interval_s <= 7200


def test_polar_latitudes_do_not_crash() -> None:
    assert longest_day_hours(80.0) == pytest.approx(24.0)
    assert longest_day_hours(80.0, fix_latitude_sign=False) == 24.0
    assert longest_day_hours(-80.0, fix_latitude_sign=False) == 0.0
    assert static_interval(-80.0, 6, 1, fix_latitude_sign=False).interval_s == 7200  # window 0: the maximum


def test_storage_adds_two_daily_calls() -> None:
    assert static_interval(51.5, 6, 1, storage=True).fixed_daily_calls == 11


def test_log_line_reads_like_the_reference() -> None:
    line = static_interval(51.5, 6, 1).log_line()
    assert line.startswith("Auto scan-interval: 3300s (55 min) for 6 inverter(s)/1 ECU(s) at lat 51.5")
    assert line.endswith(" — est. 817 calls/month (quota 1000)")


@pytest.mark.parametrize(
    ("args", "name"),
    [((91.0, 6, 1), "latitude"), ((51.5, -1, 1), "inverters"), ((51.5, 6, -1), "ecus")],
)
def test_validation(args: tuple[float, int, int], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        static_interval(*args)
    with pytest.raises(ValueError, match="quota"):
        static_interval(51.5, 6, 1, quota=0)
