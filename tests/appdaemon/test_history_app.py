"""The history app in a real AppDaemon with the budget and production apps, against the fake cloud.

Without Home Assistant (the harness has no HASS plugin) every import is refused: the sensor
says error, one apsystems_history notification says what to do, and production carries on.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from fakes.apsystems_cloud import DEFAULT_APP_ID, DEFAULT_APP_SECRET, FakeCloud
from fakes.apsystems_cloud.presets import daylight, evening
from tests.appdaemon.conftest import HarnessFactory
from tests.appdaemon.test_production_app import BUDGET, PRODUCTION, apps_for, entity_id, run_tick
from tests.support.appdaemon_harness import AppDaemonHarness

pytestmark = pytest.mark.appdaemon

HISTORY = "apsystems_history"


@pytest.fixture
def cloud() -> Iterator[FakeCloud]:
    with FakeCloud(site=daylight()) as fake:
        yield fake


@pytest.fixture
def evening_cloud() -> Iterator[FakeCloud]:
    with FakeCloud(site=evening()) as fake:
        yield fake


def with_history(cloud: FakeCloud, **history: Any) -> dict[str, dict[str, Any]]:
    apps = apps_for(cloud)
    apps[HISTORY] = {
        "module": "apsystems.history_app",
        "class": "HistoryApp",
        "dependencies": [BUDGET, PRODUCTION],
        "app_id": DEFAULT_APP_ID,
        "app_secret": DEFAULT_APP_SECRET,
        "sid": cloud.sid,
        "base_url": cloud.url,
        **history,
    }
    return apps


async def run_history_tick(ad: AppDaemonHarness) -> None:
    (entry,) = [e for e in ad.scheduler_entries(HISTORY) if e.callback == "_tick"]
    await ad.fire_timer(HISTORY, entry.handle)
    await ad.wait_idle(timeout=30)


async def test_without_home_assistant_the_history_says_error_and_production_carries_on(
    appdaemon_factory: HarnessFactory, cloud: FakeCloud
) -> None:
    ad = await appdaemon_factory(with_history(cloud))
    await run_tick(ad)
    await run_history_tick(ad)
    history_id = entity_id(cloud, "history")
    assert ad.state(history_id) == "error"
    attributes = ad.attributes(history_id)
    assert attributes["statistic_id"] == f"apsystems:{cloud.sid.lower()}_solar_energy"
    assert attributes["calls_spent"] == 0 and attributes["since"] is None  # no history call in daylight
    created = [c for c in ad.notifications("persistent_notification/create") if c.data["notification_id"] == HISTORY]
    assert len(created) == 1 and "token" in created[0].data["message"]
    await run_history_tick(ad)  # still refused: no second notification
    assert (
        len([c for c in ad.notifications("persistent_notification/create") if c.data["notification_id"] == HISTORY])
        == 1
    )
    assert ad.state(entity_id(cloud, "total_energy")) is not None  # production is untouched
    calls = ad.attributes(entity_id(cloud, "api_calls"))["calls_by_purpose"]
    assert "history" not in calls and "history_daily" not in calls
    assert not [line for line in ad.log_lines if "Traceback" in line]


async def test_a_bad_history_option_stops_only_the_history_app(
    appdaemon_factory: HarnessFactory, cloud: FakeCloud
) -> None:
    ad = await appdaemon_factory(with_history(cloud, history_days=400), expect_running=[BUDGET, PRODUCTION])
    await run_tick(ad)
    assert ad.state(entity_id(cloud, "total_energy")) is not None
    assert any("history_days 400 must be a whole number of days from 1 to 90" in line for line in ad.log_lines)


async def test_in_the_evening_the_backfill_and_the_re_read_spend_through_the_budget(
    appdaemon_factory: HarnessFactory, evening_cloud: FakeCloud
) -> None:
    cloud = evening_cloud
    ad = await appdaemon_factory(with_history(cloud))
    await run_tick(ad)
    await run_history_tick(ad)
    await ad.wait_idle(timeout=30)
    attributes = ad.attributes(entity_id(cloud, "history"))
    assert attributes["since"] == cloud.site.create_date.isoformat()
    calls = ad.attributes(entity_id(cloud, "api_calls"))["calls_by_purpose"]
    assert calls.get("history", 0) >= 1
    assert attributes["calls_spent"] == calls.get("history", 0) + calls.get("history_daily", 0)
    assert cloud.calls.count("system_details") == 2  # production's discovery and the history's start date
    assert ad.state(entity_id(cloud, "history")) == "error"  # no Home Assistant here to import into
    assert not [line for line in ad.log_lines if "Traceback" in line]
