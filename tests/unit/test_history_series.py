"""Placing the cloud's hourly and daily energy on hours, the day states and the backfill plan."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from apsystems.history.book import StatisticBook
from apsystems.history.hours import DAILY_ROW_HOUR, day_hours, day_row, day_span
from apsystems.history.metadata import solar_metadata, solar_statistic_id
from apsystems.history.series import DailyMonth, HourlyDay, SolarHistory

LONDON = ZoneInfo("Europe/London")
SID = "AZ12649A3DFF"
SUNNY = [0.0] * 5 + [0.1, 0.3, 0.5, 0.8, 1.0, 1.2, 1.3, 1.3, 1.2, 1.0, 0.8, 0.5, 0.3, 0.1] + [0.0] * 5


def history() -> SolarHistory:
    return SolarHistory(StatisticBook(solar_statistic_id(SID)), LONDON)


def test_statistic_id_and_metadata_follow_home_assistant_2026_11() -> None:
    assert solar_statistic_id(SID) == "apsystems:az12649a3dff_solar_energy"
    assert solar_metadata(SID) == {
        "statistic_id": "apsystems:az12649a3dff_solar_energy",
        "source": "apsystems",
        "name": "APsystems AZ12649A3DFF solar production",
        "unit_of_measurement": "kWh",
        "unit_class": "energy",
        "mean_type": 0,
        "has_sum": True,
    }
    with pytest.raises(ValueError, match="letters and digits"):
        solar_statistic_id("AZ:1")


def test_a_summer_day_has_24_utc_hours_shifted_by_bst() -> None:
    placed = day_hours(date(2026, 6, 14), SUNNY, LONDON)
    assert len(placed) == 24
    assert min(placed) == datetime(2026, 6, 13, 23, tzinfo=timezone.utc)
    assert placed[datetime(2026, 6, 14, 10, tzinfo=timezone.utc)] == 1300  # local 11:00
    assert sum(placed.values()) == round(sum(SUNNY) * 1000)


def test_spring_forward_moves_the_skipped_hour_into_the_next_and_keeps_the_total() -> None:
    values = [0.0] * 24
    values[1] = 0.05  # local 01:00 does not exist on 2026-03-29 in London
    placed = day_hours(date(2026, 3, 29), values, LONDON)
    assert len(placed) == 23
    assert placed[datetime(2026, 3, 29, 1, tzinfo=timezone.utc)] == 50  # local 02:00 BST
    start, end = day_span(date(2026, 3, 29), LONDON)
    assert end - start == timedelta(hours=23)


def test_autumn_day_spans_25_hours_and_keeps_the_total() -> None:
    placed = day_hours(date(2026, 10, 25), SUNNY, LONDON)
    assert sum(placed.values()) == round(sum(SUNNY) * 1000)
    start, end = day_span(date(2026, 10, 25), LONDON)
    assert end - start == timedelta(hours=25) and all(start <= h < end for h in placed)


def test_an_older_day_is_one_row_at_local_noon() -> None:
    assert DAILY_ROW_HOUR == 12
    assert day_row(date(2026, 1, 10), 4.56, LONDON) == {datetime(2026, 1, 10, 12, tzinfo=timezone.utc): 4560}
    assert day_row(date(2026, 7, 10), 4.56, LONDON) == {datetime(2026, 7, 10, 11, tzinfo=timezone.utc): 4560}
    with pytest.raises(ValueError, match="24"):
        day_hours(date(2026, 7, 10), [1.0] * 23, LONDON)
    with pytest.raises(ValueError, match="negative"):
        day_row(date(2026, 7, 10), -1.0, LONDON)


def test_plan_reads_months_then_days_oldest_first_back_to_installation() -> None:
    today = date(2026, 6, 15)
    installed = today - timedelta(days=420)  # 2025-04-21
    tasks = history().tasks(today, 30, installed)
    months = [t for t in tasks if isinstance(t, DailyMonth)]
    days = [t for t in tasks if isinstance(t, HourlyDay)]
    assert tasks == [*months, *days]
    assert [m.label for m in months] == [f"2025-{m:02d}" for m in range(4, 13)] + [f"2026-{m:02d}" for m in range(1, 6)]
    assert months[0].days[0] == installed and months[-1].days[-1] == date(2026, 5, 15)
    assert sum(len(m.days) for m in months) == 390
    assert [d.day for d in days] == [date(2026, 5, 16) + timedelta(days=i) for i in range(30)]


def test_a_completed_plan_is_empty_and_a_later_day_only_adds_yesterday() -> None:
    series = history()
    today = date(2026, 6, 15)
    for task in series.tasks(today, 30, date(2026, 3, 1)):
        if isinstance(task, DailyMonth):
            series.apply_daily(task, [1.0] * 31)
        else:
            series.apply_hourly(task.day, SUNNY, complete=True)
    assert series.tasks(today, 30, date(2026, 3, 1)) == []
    assert series.tasks(today + timedelta(days=1), 30, date(2026, 3, 1)) == [HourlyDay(today)]
    assert series.imported_days() == (date(2026, 3, 1), date(2026, 6, 14))
    assert series.book.total_wh() == 76 * 1000 + 30 * round(sum(SUNNY) * 1000)


def test_partial_reads_never_replace_a_complete_day() -> None:
    series = history()
    day = date(2026, 6, 14)
    series.apply_hourly(day, SUNNY, complete=True)
    assert series.apply_hourly(day, [0.0] * 24, complete=False) == 0
    assert series.apply_closed_hours(day, [0.0] * 24, 24) == 0
    assert series.day_wh(day) == round(sum(SUNNY) * 1000)


def test_closed_hours_of_today_import_only_closed_hours() -> None:
    series = history()
    today = date(2026, 6, 15)
    assert series.apply_closed_hours(today, SUNNY, 13) > 0
    placed = {r.start for r in series.book.rows()}
    assert max(placed) == datetime(2026, 6, 15, 11, tzinfo=timezone.utc)  # local 12:00, the last closed hour
    assert series.days[today] == "partial"
    assert series.tasks(today + timedelta(days=1), 30, today) == [HourlyDay(today)]
    series.apply_hourly(today, SUNNY, complete=True)  # the evening re-read
    assert series.days[today] == "hourly" and series.day_wh(today) == round(sum(SUNNY) * 1000)


def test_reconcile_finds_corrected_days_rereads_hourly_ones_and_fixes_daily_ones() -> None:
    series = history()
    june = DailyMonth(2026, 6, tuple(date(2026, 6, d) for d in range(1, 6)))
    series.apply_daily(june, [2.0] * 30)
    for d in (6, 7):
        series.apply_hourly(date(2026, 6, d), SUNNY, complete=True)
    cloud = [2.0] * 30
    cloud[2] = 2.5  # a daily day corrected
    cloud[5] = round(sum(SUNNY), 2)
    cloud[6] = round(sum(SUNNY) * 1.1, 2)  # an hourly day corrected
    found = series.reconcile_month(2026, 6, cloud, before=date(2026, 6, 8))
    assert found == [date(2026, 6, 3), date(2026, 6, 7)]
    assert series.day_wh(date(2026, 6, 3)) == 2500
    assert series.days[date(2026, 6, 7)] == "partial"
    assert HourlyDay(date(2026, 6, 7)) in series.tasks(date(2026, 6, 8), 30, date(2026, 6, 1))


def test_history_json_round_trip_and_bad_states() -> None:
    series = history()
    series.apply_hourly(date(2026, 6, 14), SUNNY, complete=True)
    again = SolarHistory.from_json(series.book.statistic_id, LONDON, series.to_json())
    assert again.days == series.days and again.book.rows() == series.book.rows()
    bad = series.to_json() | {"days": {"2026-06-14": "maybe"}}
    with pytest.raises(ValueError, match="maybe"):
        SolarHistory.from_json(series.book.statistic_id, LONDON, bad)
