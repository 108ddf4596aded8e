"""Plausibility: what one site can really produce; nothing impossible reaches the energy book."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from apsystems.api.client import ApsystemsClient
from apsystems.api.records import EcuMinutely, EnergySeries, EnergySummary
from apsystems.api.values import to_float
from apsystems.budget.pacing import PollSource
from apsystems.production.energy_book import EnergyBook
from apsystems.production.plausibility import PHYSICAL_MAX_KW, Limits, PlausibilityGuard, point_spans
from apsystems.production.tracker import ProductionTracker

TZ = ZoneInfo("Europe/London")
NOON = datetime(2026, 6, 15, 12, 0, tzinfo=TZ)
DAY = NOON.date()


class ScriptedClient(ApsystemsClient):
    """Answers from a script instead of the network: the narrowest stand-in for the tracker's logic."""

    def __init__(self) -> None:
        super().__init__("a" * 32, "b" * 12)
        self.summaries: Iterator[EnergySummary] = iter(())
        self.curves: Iterator[EcuMinutely] = iter(())
        self.hourly: Iterator[EnergySeries] = iter(())

    def system_summary(self, sid: str) -> EnergySummary:
        return next(self.summaries)

    def ecu_energy_minutely(self, sid: str, eid: str, day: date | str) -> EcuMinutely:
        return next(self.curves)

    def system_energy(self, sid: str, level: str, date_range: date | str | None = None) -> EnergySeries:
        return next(self.hourly)


@pytest.fixture
def client() -> ScriptedClient:
    return ScriptedClient()


def tracker_for(client: ScriptedClient, path: Path, source: PollSource = PollSource.ECU) -> ProductionTracker:
    tracker = ProductionTracker(client, "AZ1", TZ, ("203000001234",), source, path)
    tracker.set_capacity(5.0)  # a 5 kW system: at most 6.5 kW
    return tracker


def test_limits_from_the_capacity_or_physics() -> None:
    assert Limits.for_capacity(5.0).max_power_kw == pytest.approx(6.5)
    for unknown in (None, 0.0, -3.0, float("nan"), float("inf")):
        assert Limits.for_capacity(unknown).max_power_kw == PHYSICAL_MAX_KW
    assert Limits.for_capacity(5.0).max_energy_kwh(timedelta(hours=2)) == pytest.approx(13.05)


def test_a_hostile_summary_changes_nothing_and_is_logged_with_its_raw_values(
    client: ScriptedClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tracker = tracker_for(client, tmp_path / "p.json")
    client.summaries = iter([EnergySummary(4.0, 100.0, 900.0, 12_000.0), EnergySummary(-5.0, 100.0, 900.0, 1e308)])
    assert tracker.refresh_summary(NOON).succeeded
    before = tracker.readings(NOON, True)
    assert before.total_kwh == 12_000.0
    with caplog.at_level(logging.WARNING):
        tracker.refresh_summary(NOON + timedelta(minutes=30))
    after = tracker.readings(NOON + timedelta(minutes=30), True)
    assert (after.total_kwh, after.month_kwh, after.today_kwh) == (12_000.0, before.month_kwh, before.today_kwh)
    assert "-5.0 rejected (negative)" in caplog.text and "1e+308 rejected" in caplog.text
    saved = (tmp_path / "p.json").read_text()
    assert "Infinity" not in saved and "1e+308" not in saved
    json.loads(saved)


def test_a_lifetime_jump_is_held_back_until_a_second_reading_confirms_it(
    client: ScriptedClient, tmp_path: Path
) -> None:
    tracker = tracker_for(client, tmp_path / "p.json")
    client.summaries = iter(
        [
            EnergySummary(4.0, 100.0, 900.0, 12_000.0),
            EnergySummary(4.5, 100.5, 900.5, 13_000.5),  # +1000 kWh in an hour on a 5 kW system
            EnergySummary(5.0, 101.0, 901.0, 12_001.0),  # the glitch does not repeat: forgotten
            EnergySummary(5.0, 101.0, 901.0, 13_001.0),
            EnergySummary(5.2, 101.2, 901.2, 13_001.2),  # repeated: a real correction, accepted
        ]
    )
    totals = []
    for hour in range(5):
        tracker.refresh_summary(NOON + timedelta(hours=hour))
        totals.append(tracker.readings(NOON + timedelta(hours=hour), True).total_kwh)
    assert totals == [12_000.0, 12_000.5, 12_001.0, 12_001.0, 13_001.2]  # today still moves on


def test_impossible_power_and_energy_in_a_curve_are_dropped(client: ScriptedClient, tmp_path: Path) -> None:
    tracker = tracker_for(client, tmp_path / "p.json")
    client.curves = iter(
        [
            EcuMinutely(("11:55", "12:00"), (0.3, 0.3), (3600.0, 3500.0), 4.0),
            EcuMinutely(("12:05", "12:10"), (0.3, 500.0), (3400.0, -1_000_000.0), 4.2),
        ]
    )
    tracker.poll(NOON)
    assert tracker.power is not None and tracker.power.watts == 3500.0
    tracker.poll(NOON + timedelta(minutes=10))
    assert tracker.power is not None and tracker.power.watts == 3400.0  # the 12:10 point was dropped
    assert tracker.book.today_kwh == pytest.approx(4.2)
    assert max(tracker.book.hourly_kwh) < 7


def test_an_impossible_hour_reads_zero_and_today_stays_bounded(client: ScriptedClient, tmp_path: Path) -> None:
    tracker = tracker_for(client, tmp_path / "p.json", PollSource.SYSTEM)
    values: list[float | None] = [0.0] * 24
    values[10] = 3.0
    values[11] = 1e6
    client.hourly = iter([EnergySeries("hourly", tuple(values))])
    tracker.poll(NOON)
    assert tracker.book.hourly_kwh[11] == 0.0 and tracker.book.today_kwh == 3.0


def test_a_state_file_with_infinity_or_negatives_reads_as_unknown() -> None:
    book = EnergyBook.from_dict({"total_kwh": float("inf"), "start_of_day_kwh": -4.0, "month_start_kwh": 12.5})
    assert (book.total_kwh, book.start_of_day_kwh, book.month_start_kwh) == (None, None, 12.5)


def test_guard_power_rules() -> None:
    guard = PlausibilityGuard("AZ1", Limits.for_capacity(5.0))
    assert guard.power_w("power", -0.4) == 0.0
    rejected: list[Any] = [guard.power_w("power", w) for w in (-5.0, float("nan"), 7000.0)]
    assert rejected == [None, None, None] and guard.rejected == 3


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "-inf", "1e999"])
def test_non_finite_api_numbers_are_unknown_and_logged_raw(raw: str, caplog: pytest.LogCaptureFixture) -> None:
    assert to_float(raw) is None
    assert repr(raw) in caplog.text


def test_a_point_after_an_upload_gap_stands_for_the_whole_gap() -> None:
    """The cloud puts the energy of missing points into the next one: 0.52 kWh at 10:50 after a
    20-minute gap is 1.56 kW, not 6.2 kW, and must stay (the hourly bars and today add up)."""
    guard = PlausibilityGuard("AZ1", Limits.for_capacity(3.2))  # 4.16 kW at the most
    curve = EcuMinutely(("10:25", "10:30", "10:50", "10:55"), (0.13, 0.13, 0.52, 0.9), (1560.0,) * 4, 5.0)
    checked = guard.curve(curve)
    assert checked.energy_kwh == (0.13, 0.13, 0.52, None)  # 0.9 kWh in 5 minutes is 10.8 kW: dropped
    assert guard.rejected == 1


def test_point_spans() -> None:
    assert point_spans(("06:45", "06:50", "07:10", "junk", "07:15", "07:15")) == [
        timedelta(hours=6, minutes=45),  # the day's first point: since midnight
        timedelta(minutes=5),
        timedelta(minutes=20),
        timedelta(minutes=5),
        timedelta(minutes=5),
        timedelta(minutes=5),  # a repeated label: one step, never zero
    ]
