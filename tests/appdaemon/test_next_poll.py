"""In a real AppDaemon: the budget's ``next_poll`` is when the cloud sees production's next poll.

The budget's location is placed so that its polling window opens about 40 s after start-up;
production discovers the site at once and then waits for the window, so its next poll is the
first poll request the fake cloud receives after discovery.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from apsystems.budget.solar_window import Site, SolarCalendar
from fakes.apsystems_cloud import DEFAULT_APP_ID, DEFAULT_APP_SECRET, FakeCloud
from fakes.apsystems_cloud.presets import daylight
from tests.appdaemon.conftest import HarnessFactory
from tests.support.appdaemon_harness import AppDaemonStartError

pytestmark = pytest.mark.appdaemon

BUDGET = "apsystems_budget"
PRODUCTION = "apsystems_production"
POLL_ROUTES = ("ecu_energy", "system_energy")
SECONDS_PER_DEGREE = 240.0  # the sun crosses one degree of longitude in four minutes


@pytest.fixture
def cloud() -> Iterator[FakeCloud]:
    with FakeCloud(site=daylight()) as fake:
        yield fake


def longitude_opening_at(target: datetime, time_zone: str) -> float:
    """A longitude on the equator where the window (sunrise, no offset) opens at ``target``."""
    utc_hours = target.astimezone(timezone.utc).hour + target.minute / 60
    longitude = ((6.0 - utc_hours) * 15 + 180) % 360 - 180
    for _ in range(8):
        calendar = SolarCalendar(Site(0.0, longitude, time_zone), 0, 0)
        opening = calendar.next_open(target - timedelta(minutes=30))
        assert opening is not None
        error_s = (opening - target).total_seconds()
        if abs(error_s) < 1:
            break
        longitude = ((longitude + error_s / SECONDS_PER_DEGREE) + 180) % 360 - 180
    return longitude


def apps_for(cloud: FakeCloud, longitude: float, production_app_id: str = DEFAULT_APP_ID) -> dict[str, Any]:
    return {
        BUDGET: {
            "module": "apsystems.budget_app",
            "class": "BudgetApp",
            "app_id": DEFAULT_APP_ID,
            "sid": cloud.sid,
            "latitude": 0.0,
            "longitude": round(longitude, 4),
            "time_zone": cloud.site.timezone,
            "sunrise_offset": 0,
            "sunset_offset": 0,
        },
        PRODUCTION: {
            "module": "apsystems.production_app",
            "class": "ProductionApp",
            "dependencies": [BUDGET],
            "app_id": production_app_id,
            "app_secret": DEFAULT_APP_SECRET,
            "sid": cloud.sid,
            "base_url": cloud.url,
        },
    }


def poll_requests(cloud: FakeCloud) -> list[datetime]:
    return [
        datetime.fromisoformat(entry.time) for entry in cloud.calls.entries() if entry.route.startswith(POLL_ROUTES)
    ]


async def test_next_poll_attribute_is_when_the_cloud_sees_the_poll(
    appdaemon_factory: HarnessFactory, cloud: FakeCloud
) -> None:
    target = datetime.now(timezone.utc) + timedelta(seconds=40)
    ad = await appdaemon_factory(apps_for(cloud, longitude_opening_at(target, cloud.site.timezone)))
    sensor = f"sensor.apsystems_{cloud.sid.lower()}_api_calls"
    await ad.wait_for(lambda: (ad.state(sensor) or 0) >= 2, timeout=20, message="discovery")
    await ad.wait_idle()
    assert poll_requests(cloud) == []  # the window is still closed
    advertised = datetime.fromisoformat(ad.attributes(sensor)["next_poll"])
    assert advertised > datetime.now(timezone.utc)
    for _ in range(120):
        if poll_requests(cloud):
            break
        await asyncio.sleep(1)
    polls = poll_requests(cloud)
    assert polls, f"no poll request by {datetime.now(timezone.utc)}; next_poll said {advertised}"
    assert abs((polls[0] - advertised).total_seconds()) <= 5


async def test_production_with_another_app_id_is_refused(appdaemon_factory: HarnessFactory, cloud: FakeCloud) -> None:
    with pytest.raises(AppDaemonStartError) as failure:
        await appdaemon_factory(apps_for(cloud, 0.0, production_app_id="ANOTHER-APP-ID-0000000000000000"))
    message = str(failure.value)
    assert f"app {PRODUCTION!r}" in message and f"budget app {BUDGET!r}" in message
    assert "ANOTHER-APP-ID" not in message  # an App ID is a credential: named apps, not values
