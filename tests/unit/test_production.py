"""Pure pieces of production tracking: poll source, power from curves or hourly data, outcomes."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from apsystems.errors import error_for_code
from apsystems.pacing import PollSource
from apsystems.production import latest_power, outcome_of, power_from_hourly, resolve_poll_source
from apsystems.records import EcuMinutely

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
