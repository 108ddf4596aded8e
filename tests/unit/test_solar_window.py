"""The solar window: offsets, validation, polar day and night, DST days, sums to the month's end."""

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from astral import Observer
from astral.sun import sunrise, sunset

from apsystems.budget.solar_window import Site, SolarCalendar

LONDON = Site(51.5, -0.12, "Europe/London")
OULU = Site(65.0, 25.47, "Europe/Helsinki")
SVALBARD = Site(78.0, 15.65, "Arctic/Longyearbyen")
ANTARCTIC = Site(-78.0, 166.67, "Antarctica/McMurdo")
SYDNEY = Site(-33.87, 151.21, "Australia/Sydney")
UTC = timezone.utc


def sun_times(site: Site, day: date) -> tuple[datetime, datetime]:
    observer = Observer(site.latitude, site.longitude)
    return sunrise(observer, day, site.tz), sunset(observer, day, site.tz)


def local(site: Site, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=site.tz)


# ---- offsets and validation ----------------------------------------------------------------


@pytest.mark.parametrize(("rise_off", "set_off"), [(0, 0), (30, 30), (10, 120), (120, 0)])
def test_window_is_sunrise_plus_offset_to_sunset_plus_offset(rise_off: int, set_off: int) -> None:
    day = date(2027, 5, 12)
    rise, set_ = sun_times(LONDON, day)
    window = SolarCalendar(LONDON, rise_off, set_off).window(day)
    assert window.kind == "normal"
    assert window.start is not None and window.end is not None
    assert window.start.timestamp() == pytest.approx((rise + timedelta(minutes=rise_off)).timestamp())
    assert window.end.timestamp() == pytest.approx((set_ + timedelta(minutes=set_off)).timestamp())
    assert window.seconds == pytest.approx((set_ - rise).total_seconds() + 60 * (set_off - rise_off))


def test_defaults_are_thirty_minutes() -> None:
    calendar = SolarCalendar(LONDON)
    assert (calendar.sunrise_offset_min, calendar.sunset_offset_min) == (30, 30)


@pytest.mark.parametrize("bad", [-1, 121, 1000, "30", None, True, float("nan")])
@pytest.mark.parametrize("name", ["sunrise_offset", "sunset_offset"])
def test_offsets_outside_0_to_120_are_refused_by_name(name: str, bad: object) -> None:
    kwargs = {f"{name}_min": bad}
    with pytest.raises(ValueError, match=rf"{name} .* from 0 to 120"):
        SolarCalendar(LONDON, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"latitude": 90.5, "longitude": 0.0}, "latitude"),
        ({"latitude": -91.0, "longitude": 0.0}, "latitude"),
        ({"latitude": 0.0, "longitude": 181.0}, "longitude"),
        ({"latitude": "51", "longitude": 0.0}, "latitude"),
        ({"latitude": 0.0, "longitude": 0.0, "time_zone": "Mars/Olympus"}, "time zone"),
    ],
)
def test_site_validation_names_the_bad_value(kwargs: dict[str, object], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        Site(**kwargs)  # type: ignore[arg-type]


def test_naive_times_are_refused() -> None:
    calendar = SolarCalendar(LONDON)
    with pytest.raises(ValueError, match="timezone-aware"):
        calendar.is_open(datetime(2027, 6, 1, 12))


# ---- questions about now ----------------------------------------------------------------------


def test_is_open_and_seconds_remaining() -> None:
    calendar = SolarCalendar(LONDON)
    day = date(2027, 6, 21)
    window = calendar.window(day)
    assert window.start is not None and window.end is not None
    noon = local(LONDON, 2027, 6, 21, 12)
    assert calendar.is_open(noon)
    assert calendar.seconds_remaining_today(noon) == pytest.approx((window.end - noon).total_seconds())
    before = window.start - timedelta(seconds=1)
    assert not calendar.is_open(before)
    assert calendar.seconds_remaining_today(before) == pytest.approx(window.seconds)
    assert not calendar.is_open(window.end)  # half-open: the end is outside
    assert calendar.seconds_remaining_today(window.end) == 0.0


def test_next_open() -> None:
    calendar = SolarCalendar(LONDON)
    noon = local(LONDON, 2027, 6, 21, 12)
    assert calendar.next_open(noon) == noon
    evening = local(LONDON, 2027, 6, 21, 23)
    assert calendar.next_open(evening) == calendar.window(date(2027, 6, 22)).start


def test_windows_are_cached_per_date() -> None:
    calendar = SolarCalendar(LONDON)
    assert calendar.window(date(2027, 1, 5)) is calendar.window(date(2027, 1, 5))


def test_any_timezone_for_now() -> None:
    calendar = SolarCalendar(LONDON)
    noon_utc = datetime(2027, 6, 21, 11, tzinfo=UTC)
    assert calendar.is_open(noon_utc)
    assert calendar.seconds_remaining_today(noon_utc) == calendar.seconds_remaining_today(
        noon_utc.astimezone(LONDON.tz)
    )


# ---- polar day and night ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("site", "day", "kind"),
    [
        (SVALBARD, date(2027, 6, 21), "polar_day"),
        (SVALBARD, date(2027, 12, 21), "polar_night"),
        (ANTARCTIC, date(2027, 12, 21), "polar_day"),
        (ANTARCTIC, date(2027, 6, 21), "polar_night"),
    ],
)
def test_polar_day_is_the_whole_day_and_polar_night_is_empty(site: Site, day: date, kind: str) -> None:
    calendar = SolarCalendar(site)
    window = calendar.window(day)
    assert window.kind == kind
    midday = local(site, day.year, day.month, day.day, 12)
    if kind == "polar_day":
        assert window.seconds == 24 * 3600
        assert window.start == local(site, day.year, day.month, day.day)
        assert calendar.is_open(midday)
        assert calendar.is_open(local(site, day.year, day.month, day.day, 0, 0))
        assert calendar.next_open(midday) == midday
    else:
        assert window.spans == ()
        assert window.seconds == 0
        assert window.start is None and window.end is None
        assert not calendar.is_open(midday)
        assert calendar.seconds_remaining_today(midday) == 0
        following = calendar.next_open(midday)
        assert following is not None and following > midday + timedelta(days=30)  # weeks of night


@pytest.mark.parametrize(
    "site",
    [SVALBARD, ANTARCTIC, OULU, Site(90.0, 0.0), Site(-90.0, 0.0), Site(66.56, 25.0, "Europe/Helsinki")],
    ids=["78N", "78S", "65N", "north-pole", "south-pole", "arctic-circle"],
)
def test_every_day_of_the_year_at_high_latitudes_is_well_formed(site: Site) -> None:
    calendar = SolarCalendar(site)
    day = date(2027, 1, 1)
    kinds = set()
    while day.year == 2027:
        window = calendar.window(day)
        kinds.add(window.kind)
        day_start = local(site, day.year, day.month, day.day).timestamp()
        following = day + timedelta(days=1)
        day_end = local(site, following.year, following.month, following.day).timestamp()
        previous_end = day_start
        for start, end in window.spans:
            assert previous_end <= start < end <= day_end
            previous_end = end
        assert 0 <= window.seconds <= day_end - day_start
        day += timedelta(days=1)
    total = sum(calendar.solar_seconds_in_month(2027, m) for m in range(1, 13))
    assert 0 < total < 365 * 86400
    if abs(site.latitude) >= 78:
        assert {"polar_day", "polar_night"} <= kinds


def test_sunset_after_midnight_gives_two_spans() -> None:
    # At 65°N in midsummer the sun sets around 00:18 local and rises around 02:20.
    calendar = SolarCalendar(OULU)
    window = calendar.window(date(2027, 6, 21))
    assert len(window.spans) == 2
    assert window.start == local(OULU, 2027, 6, 21)  # the previous evening's sunset + 30 min spills over
    assert calendar.is_open(local(OULU, 2027, 6, 21, 0, 20))
    assert not calendar.is_open(local(OULU, 2027, 6, 21, 1, 30))
    assert calendar.is_open(local(OULU, 2027, 6, 21, 23, 59))
    assert 21 * 3600 < window.seconds < 23 * 3600


# ---- DST -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("day", "hours"), [(date(2027, 3, 28), 23), (date(2027, 10, 31), 25)])
def test_dst_days(day: date, hours: int) -> None:
    calendar = SolarCalendar(LONDON)
    rise, set_ = sun_times(LONDON, day)
    window = calendar.window(day)
    assert window.seconds == pytest.approx((set_ - rise).total_seconds())  # real seconds, not wall clock
    start = local(LONDON, day.year, day.month, day.day)
    following = day + timedelta(days=1)
    end = local(LONDON, following.year, following.month, following.day)
    assert (end.timestamp() - start.timestamp()) == hours * 3600
    assert calendar.solar_seconds_between(start, end) == pytest.approx(window.seconds)
    noon = local(LONDON, day.year, day.month, day.day, 12)
    assert window.end is not None
    assert calendar.seconds_remaining_today(noon) == pytest.approx(window.end.timestamp() - noon.timestamp())


def test_ambiguous_hour_on_the_fall_back_night_is_dark() -> None:
    calendar = SolarCalendar(LONDON)
    for fold in (0, 1):
        assert not calendar.is_open(datetime(2027, 10, 31, 1, 30, fold=fold, tzinfo=ZoneInfo("Europe/London")))


# ---- sums ----------------------------------------------------------------------------------


def brute_force_left(calendar: SolarCalendar, now: datetime, end: datetime) -> float:
    total = calendar.seconds_remaining_today(now)
    day = calendar.local_date(now) + timedelta(days=1)
    while local(calendar.site, day.year, day.month, day.day) < end:
        total += calendar.window(day).seconds
        day += timedelta(days=1)
    return total


@pytest.mark.parametrize("site", [LONDON, SYDNEY, OULU, SVALBARD])
@pytest.mark.parametrize("when", [(2027, 1, 1, 0), (2027, 3, 27, 15), (2027, 6, 21, 12), (2027, 12, 31, 23)])
def test_seconds_left_in_month_is_the_sum_of_the_days(site: Site, when: tuple[int, int, int, int]) -> None:
    calendar = SolarCalendar(site)
    now = local(site, *when[:3], when[3])
    month_end = local(site, now.year + now.month // 12, now.month % 12 + 1, 1)
    assert calendar.solar_seconds_left_in_month(now) == pytest.approx(brute_force_left(calendar, now, month_end))


def test_month_boundary_in_another_time_zone() -> None:
    # Sydney panels, counter month in UTC: the month ends at 11:00 Sydney time on the 1st.
    calendar = SolarCalendar(SYDNEY)
    now = local(SYDNEY, 2027, 1, 31, 12)
    utc_end = datetime(2027, 2, 1, tzinfo=UTC)
    in_utc = calendar.solar_seconds_left_in_month(now, UTC)
    assert in_utc == pytest.approx(calendar.solar_seconds_between(now, utc_end))
    first = calendar.window(date(2027, 2, 1))
    assert first.start is not None
    assert in_utc == pytest.approx(calendar.seconds_remaining_today(now) + (utc_end - first.start).total_seconds())
    assert calendar.solar_seconds_left_in_month(now) == pytest.approx(calendar.seconds_remaining_today(now))


def test_solar_seconds_between_spans_months_and_years() -> None:
    calendar = SolarCalendar(LONDON)
    start = local(LONDON, 2026, 12, 20, 12)
    end = local(LONDON, 2027, 2, 3, 12)
    expected = calendar.seconds_remaining_today(start)
    day = date(2026, 12, 21)
    while day < date(2027, 2, 3):
        expected += calendar.window(day).seconds
        day += timedelta(days=1)
    expected += calendar.window(day).overlap(float("-inf"), end.timestamp())
    assert calendar.solar_seconds_between(start, end) == pytest.approx(expected)
    assert calendar.solar_seconds_between(end, start) == 0.0


def test_a_year_of_questions_is_cheap() -> None:
    # One question every 15 minutes for a year: the per-month prefix sums keep it linear.
    calendar = SolarCalendar(LONDON)
    t = local(LONDON, 2027, 1, 1)
    total = 0.0
    for _ in range(365 * 96):
        total += calendar.solar_seconds_left_in_month(t)
        t += timedelta(minutes=15)
    assert total > 0
