"""Month arithmetic in a chosen time zone (the quota's month boundary)."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from apsystems.common.months import days_in_month, month_bounds, month_key, next_month_key, zone

UTC = timezone.utc


def test_month_key_depends_on_the_zone() -> None:
    moment = datetime(2027, 3, 31, 17, tzinfo=UTC)
    assert month_key(moment, ZoneInfo("Europe/London")) == "2027-03"
    assert month_key(moment, ZoneInfo("Asia/Shanghai")) == "2027-04"


@pytest.mark.parametrize(("key", "following"), [("2027-03", "2027-04"), ("2027-12", "2028-01"), ("2027-01", "2027-02")])
def test_next_month_key(key: str, following: str) -> None:
    assert next_month_key(key) == following


def test_month_bounds_across_dst() -> None:
    london = ZoneInfo("Europe/London")
    start, end = month_bounds(datetime(2027, 3, 15, tzinfo=london), london)
    assert start == datetime(2027, 3, 1, tzinfo=UTC)
    assert end == datetime(2027, 3, 31, 23, tzinfo=UTC)  # BST began on the 28th
    assert end - start == timedelta(days=31) - timedelta(hours=1)


def test_days_in_month() -> None:
    assert [days_in_month(2028, m) for m in (1, 2, 4, 12)] == [31, 29, 30, 31]
    assert days_in_month(2027, 2) == 28


def test_zone_names_a_bad_zone() -> None:
    assert zone("UTC") == ZoneInfo("UTC")
    assert zone(UTC) is UTC
    with pytest.raises(ValueError, match="'Nowhere/Land' is not a known IANA time zone"):
        zone("Nowhere/Land")


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        month_key(datetime(2027, 3, 1), UTC)
