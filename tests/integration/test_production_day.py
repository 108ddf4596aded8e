"""A whole clear June day of production polling against the fake cloud (injected clock)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.hourly_attribution import Attribution, clear_june_day, simulate


@pytest.fixture(scope="module")
def day_result(tmp_path_factory: pytest.TempPathFactory) -> Attribution:
    return simulate(clear_june_day(), Path(tmp_path_factory.mktemp("production_day")))


def test_day_total_and_lifetime_match_the_cloud(day_result: Attribution) -> None:
    assert day_result.day_total_sensor == pytest.approx(day_result.day_total_cloud, abs=0.01)
    assert day_result.lifetime_sensor == pytest.approx(day_result.lifetime_cloud, abs=0.01)
    assert sum(day_result.sensor_hourly) == pytest.approx(day_result.day_total_cloud, abs=0.01)


def test_hourly_attribution_within_15_percent(day_result: Attribution) -> None:
    ours, ours_weighted = Attribution.error(day_result.sensor_hourly, day_result.true_hourly)
    once, _ = Attribution.error(day_result.once_a_day_hourly, day_result.true_hourly)
    print(f"hourly attribution error: ours {ours:.1%} (energy-weighted {ours_weighted:.1%}), once a day {once:.1%}")
    assert ours <= 0.15
    assert once >= 0.9


def test_sensor_never_decreases(day_result: Attribution) -> None:
    assert all(increase >= 0 for increase in day_result.sensor_hourly)
