"""Pure pieces of production tracking: poll source, power from curves or hourly data, outcomes."""

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from apsystems.api.client import ApsystemsClient
from apsystems.api.errors import error_for_code
from apsystems.api.records import EcuMinutely, EnergySummary
from apsystems.budget.pacing import PollSource
from apsystems.production.tracker import (
    ProductionTracker,
    latest_power,
    outcome_of,
    power_from_hourly,
    resolve_poll_source,
)

TZ = ZoneInfo("Europe/London")
DAY = date(2026, 6, 15)


def test_auto_source_is_ecu_for_one_ecu_only() -> None:
    assert resolve_poll_source("auto", 1) is PollSource.ECU
    assert resolve_poll_source("auto", 3) is PollSource.SYSTEM
    assert resolve_poll_source("system", 1) is PollSource.SYSTEM
    with pytest.raises(ValueError, match="'hourly'"):
        resolve_poll_source("hourly", 1)


def test_latest_power_sums_ecus_at_the_oldest_time() -> None:
    a = EcuMinutely(("12:00", "12:05"), (0.1, 0.1), (1000.0, 1200.0), 1.0)
    b = EcuMinutely(("11:55", "12:00", "12:05"), (0.1, 0.1, None), (400.0, 500.0, None), 1.0)
    reading = latest_power(DAY, [a, b], TZ)
    assert reading is not None
    assert reading.watts == 1700.0
    assert reading.measured_at == datetime(2026, 6, 15, 12, 0, tzinfo=TZ)
    assert latest_power(DAY, [EcuMinutely((), (), (), None)], TZ) is None


def test_power_from_hourly_uses_the_last_complete_hour() -> None:
    hourly = [0.0] * 24
    hourly[10] = 1.5
    hourly[11] = 2.0
    now = datetime(2026, 6, 15, 12, 30, tzinfo=TZ)
    reading = power_from_hourly(DAY, hourly, now, TZ)
    assert reading is not None and reading.watts == 2000.0
    assert reading.measured_at == datetime(2026, 6, 15, 12, 0, tzinfo=TZ)
    assert power_from_hourly(DAY, [0.0] * 24, now, TZ) is None


@pytest.mark.parametrize(
    ("code", "kind"),
    [(1001, "no_data"), (4000, "auth"), (2005, "quota"), (7002, "rate_limited"), (5000, "transient"), (4001, "error")],
)
def test_outcomes(code: int, kind: str) -> None:
    outcome = outcome_of(error_for_code(code))
    assert outcome.kind == kind and outcome.code == code
    assert outcome.succeeded is (kind == "no_data")


def test_summary_is_never_read_at_night_once_a_baseline_exists(tmp_path: Path) -> None:
    client = ApsystemsClient("a" * 32, "b" * 12)  # never called here
    tracker = ProductionTracker(client, "AZ1", TZ, ("203000001234",), PollSource.ECU, tmp_path / "p.json")
    night = datetime(2026, 6, 15, 2, 0, tzinfo=TZ)
    noon = datetime(2026, 6, 15, 12, 0, tzinfo=TZ)
    evening = datetime(2026, 6, 15, 22, 0, tzinfo=TZ)
    # No baseline yet: read it whenever, or nothing can be published.
    assert tracker.needs_summary(night, window_open=False, window_closed_today=False, starting=True)
    tracker.book.apply_summary(date(2026, 6, 14), EnergySummary(1.0, 1.0, 1.0, 100.0))
    assert not tracker.needs_summary(night, window_open=False, window_closed_today=False, starting=True)
    assert tracker.needs_summary(noon, window_open=True, window_closed_today=False, starting=True)
    assert not tracker.needs_summary(noon, window_open=True, window_closed_today=False, starting=False)
    assert tracker.needs_summary(evening, window_open=False, window_closed_today=True, starting=False)
    tracker.closing_summary_day = date(2026, 6, 15)
    assert not tracker.needs_summary(evening, window_open=False, window_closed_today=True, starting=False)
