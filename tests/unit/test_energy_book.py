"""Lifetime/today/month/year bookkeeping: never down, resets at midnight, survives a restart."""

from datetime import date

import pytest

from apsystems.api.records import EcuMinutely, EnergySummary
from apsystems.production.energy_book import EnergyBook, bin_minutely_by_hour

D1 = date(2025, 6, 30)
D2 = date(2025, 7, 1)


def test_binning_label_ends_its_interval() -> None:
    hourly = bin_minutely_by_hour(("09:55", "10:00", "10:05", "23:59", "bad"), (0.1, 0.2, 0.3, 0.4, 9.0))
    assert hourly[9] == pytest.approx(0.3) and hourly[10] == pytest.approx(0.3) and hourly[23] == pytest.approx(0.4)
    assert sum(hourly) == pytest.approx(1.0)
    assert bin_minutely_by_hour(("00:00",), (None,)) == [0.0] * 24


def test_no_total_before_a_baseline_and_never_zero() -> None:
    book = EnergyBook()
    book.apply_today(D1, 3.0)
    assert book.lifetime_kwh() is None


def test_lifetime_follows_today_between_summaries() -> None:
    book = EnergyBook()
    book.apply_summary(D1, EnergySummary(today=2.0, month=50.0, year=500.0, lifetime=1000.0))
    assert book.lifetime_kwh() == 1000.0
    book.apply_today(D1, 5.5)
    assert book.lifetime_kwh() == 1003.5
    assert book.month_kwh() == 53.5 and book.year_kwh() == 503.5


def test_lower_values_are_ignored() -> None:
    book = EnergyBook()
    book.apply_summary(D1, EnergySummary(today=2.0, month=50.0, year=500.0, lifetime=1000.0))
    book.apply_today(D1, 4.0)
    book.apply_today(D1, 1.0)
    assert book.today_kwh == 4.0 and book.lifetime_kwh() == 1002.0
    book.apply_summary(D1, EnergySummary(today=4.0, month=50.0, year=500.0, lifetime=990.0))
    assert book.lifetime_kwh() == 1002.0


def test_midnight_rolls_today_into_the_baseline_and_month_resets() -> None:
    book = EnergyBook()
    book.apply_summary(D1, EnergySummary(today=0.0, month=100.0, year=900.0, lifetime=1000.0))
    book.apply_today(D1, 10.0, [0.0] * 10 + [10.0] + [0.0] * 13)
    assert book.roll_to(D2) is True
    assert book.today_kwh == 0.0 and book.hourly_kwh == [0.0] * 24 and book.day == D2
    assert book.lifetime_kwh() == 1010.0
    assert book.month_kwh() == 0.0 and book.year_kwh() == 910.0
    assert book.roll_to(D2) is False
    assert book.roll_to(D1) is False and book.day == D2


def test_new_year_resets_year() -> None:
    book = EnergyBook()
    book.apply_summary(date(2025, 12, 31), EnergySummary(today=1.0, month=30.0, year=3000.0, lifetime=9000.0))
    book.roll_to(date(2026, 1, 1))
    assert book.month_kwh() == 0.0 and book.year_kwh() == 0.0 and book.lifetime_kwh() == 9000.0


def test_summary_raises_a_stale_baseline() -> None:
    book = EnergyBook()
    book.apply_summary(D1, EnergySummary(today=1.0, month=1.0, year=1.0, lifetime=100.0))
    book.roll_to(D2)  # the app was down: some of D1's production was never seen
    book.apply_summary(D2, EnergySummary(today=0.5, month=0.5, year=20.0, lifetime=108.5))
    assert book.lifetime_kwh() == 108.5 and book.month_kwh() == 0.5


def test_ecu_minutely_sums_ecus_and_bins_hours() -> None:
    book = EnergyBook()
    book.apply_summary(D1, EnergySummary(today=None, month=0.0, year=0.0, lifetime=50.0))
    a = EcuMinutely(("10:05", "11:05"), (0.2, 0.3), (100.0, 200.0), 0.5)
    b = EcuMinutely(("10:05",), (0.1,), (50.0,), None)
    book.apply_ecu_minutely(D1, [a, b])
    assert book.today_kwh == pytest.approx(0.6)
    assert book.hourly_kwh[10] == pytest.approx(0.3) and book.hourly_kwh[11] == pytest.approx(0.3)
    assert book.lifetime_kwh() == pytest.approx(50.6)


def test_hourly_keeps_each_hours_best_value() -> None:
    book = EnergyBook()
    book.apply_today(D1, 1.0, [0.5] * 2 + [0.0] * 22)
    book.apply_today(D1, 1.0, [0.0] * 24)
    assert book.hourly_kwh[:2] == [0.5, 0.5]


def test_round_trip_and_damaged_state() -> None:
    book = EnergyBook()
    book.apply_summary(D1, EnergySummary(today=2.0, month=50.0, year=500.0, lifetime=1000.0))
    book.lifetime_kwh()
    again = EnergyBook.from_dict(book.to_dict())
    assert again == book
    damaged = EnergyBook.from_dict({"day": "garbage", "total_kwh": "x", "hourly_kwh": [1, 2], "today_kwh": True})
    assert damaged.day is None and damaged.total_kwh is None and damaged.hourly_kwh == [0.0] * 24
    assert damaged.today_kwh == 0.0


def test_restored_total_is_a_floor() -> None:
    restored = EnergyBook.from_dict({"total_kwh": 1234.5})
    assert restored.lifetime_kwh() == 1234.5
    restored.apply_summary(D1, EnergySummary(today=0.0, month=0.0, year=0.0, lifetime=1200.0))
    assert restored.lifetime_kwh() == 1234.5


def test_needs_summary() -> None:
    book = EnergyBook()
    assert book.needs_summary(D1)
    book.apply_summary(D1, EnergySummary(today=0.0, month=0.0, year=0.0, lifetime=1.0))
    assert not book.needs_summary(D1) and book.needs_summary(D2)
