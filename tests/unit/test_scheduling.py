"""Poll timing: the planned interval, or the hour's closing mark at hh:48 when that comes first."""

from datetime import datetime
from zoneinfo import ZoneInfo

from apsystems.budget.scheduling import next_poll_at

TZ = ZoneInfo("Europe/London")


def at(hour: int, minute: int) -> datetime:
    return datetime(2026, 6, 15, hour, minute, tzinfo=TZ)


def test_closing_mark_comes_first() -> None:
    assert next_poll_at(at(10, 20), 2400, tz=TZ) == at(10, 48)


def test_interval_comes_first() -> None:
    assert next_poll_at(at(10, 0), 1200, tz=TZ) == at(10, 20)


def test_mark_too_close_is_skipped() -> None:
    assert next_poll_at(at(10, 45), 3000, tz=TZ) == at(11, 35)
    assert next_poll_at(at(10, 40), 3600, tz=TZ) == at(11, 40)  # 10:48 is 8 min away: the next mark is 11:48


def test_long_intervals_are_not_aligned() -> None:
    assert next_poll_at(at(10, 20), 7200, tz=TZ) == at(12, 20)
