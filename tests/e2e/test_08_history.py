"""The energy history app end to end: a fake system installed 420 days ago, a real AppDaemon,
the real Home Assistant 2026.11 recorder.

The site's time zone is chosen so that it is about 21:00 there now (like ``daylight()`` picks
noon): the solar window has closed, so the app's evening re-read runs in this test. A later
evening is simulated by restarting AppDaemon with the history file's ``evening_on`` set back
a day (the only way to see a second evening without waiting for one).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from apsystems.api.client import ApsystemsClient
from apsystems.history.hours import day_span
from fakes.apsystems_cloud import DEFAULT_APP_ID, DEFAULT_APP_SECRET, FakeCloud
from fakes.apsystems_cloud.presets import evening
from scripts.ad_config import Secret
from tests.e2e.appdaemon_instance import AppDaemonInstance
from tests.e2e.conftest import Session
from tests.e2e.homeassistant import HTTP_TIMEOUT, HomeAssistant, HomeAssistantError
from tests.e2e.processes import wait_for

pytestmark = pytest.mark.e2e

SID = "HIST0RY00001"
STAT = f"apsystems:{SID.lower()}_solar_energy"
SENSOR = f"sensor.apsystems_{SID.lower()}_history"
INSTALLED_DAYS_AGO = 420
TOLERANCE = 0.001


@dataclass
class World:
    session: Session
    cloud: FakeCloud
    reader: ApsystemsClient
    appdaemon: AppDaemonInstance

    @property
    def hass(self) -> HomeAssistant:
        return self.session.hass

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.cloud.site.timezone)

    @property
    def today(self) -> date:
        return datetime.now(self.tz).date()

    def hourly(self, day: date) -> list[float]:
        return [v or 0.0 for v in self.reader.system_energy(SID, "hourly", day).values]

    def daily(self, year: int, month: int) -> list[float]:
        return [v or 0.0 for v in self.reader.system_energy(SID, "daily", f"{year}-{month:02d}").values]

    def changes(self) -> dict[datetime, float]:
        """``recorder/statistics_during_period`` (period hour, type change) of the statistic."""
        start = datetime.combine(self.cloud.site.create_date - timedelta(days=2), datetime.min.time(), timezone.utc)
        result = self.hass.ws(
            {
                "type": "recorder/statistics_during_period",
                "start_time": start.isoformat(),
                "end_time": datetime.now(timezone.utc).isoformat(),
                "statistic_ids": [STAT],
                "period": "hour",
                "types": ["change"],
            }
        )[0]
        return {_instant(row["start"]): float(row["change"] or 0.0) for row in result.get(STAT, [])}

    def sensor(self) -> dict[str, Any] | None:
        return self.hass.state(SENSOR)

    def wait_complete(self, timeout: float = 240.0) -> dict[str, Any]:
        def done() -> dict[str, Any] | None:
            state = self.sensor()
            return state if state is not None and state["state"] == "complete" else None

        return wait_for(
            f"{SENSOR} complete",
            done,
            timeout=timeout,
            interval=2.0,
            context=lambda: f"{self.sensor()}\n{self.appdaemon.describe()}",
        )


def _instant(value: Any) -> datetime:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, timezone.utc)
    return datetime.fromisoformat(str(value)).astimezone(timezone.utc)


def history_apps(cloud: FakeCloud, **history: Any) -> dict[str, dict[str, Any]]:
    site = cloud.site
    common = {"app_id": Secret("aps_app_id"), "sid": SID, "base_url": cloud.url}
    return {
        "apsystems_budget": {
            "module": "apsystems.budget_app",
            "class": "BudgetApp",
            "app_id": Secret("aps_app_id"),
            "sid": SID,
            "latitude": site.latitude,
            "longitude": site.longitude,
            "time_zone": site.timezone,
            "monthly_quota": 100000,  # room for the whole backfill in one evening
        },
        "apsystems_production": {
            "module": "apsystems.production_app",
            "class": "ProductionApp",
            "dependencies": ["apsystems_budget"],
            **common,
            "app_secret": Secret("aps_app_secret"),
        },
        "apsystems_history": {
            "module": "apsystems.history_app",
            "class": "HistoryApp",
            "dependencies": ["apsystems_budget", "apsystems_production"],
            **common,
            "app_secret": Secret("aps_app_secret"),
            **history,
        },
    }


@pytest.fixture(scope="module")
def world(e2e_session: Session) -> Iterator[World]:
    cloud = FakeCloud(site=evening(sid=SID, installed_days_ago=INSTALLED_DAYS_AGO)).start()
    reader = ApsystemsClient(DEFAULT_APP_ID, DEFAULT_APP_SECRET, base_url=cloud.url)
    session = e2e_session
    session.appdaemon.stop()  # one AppDaemon at a time on this HA; the suite's own comes back at the end
    appdaemon = session.make_appdaemon("history", history_apps(cloud))
    appdaemon.start()
    try:
        yield World(session, cloud, reader, appdaemon)
    finally:
        appdaemon.stop()
        reader.close()
        cloud.stop()
        session.appdaemon.start()


@pytest.mark.timeout(900)
def test_history_equals_the_cloud_hour_by_hour_and_day_by_day(world: World) -> None:
    state = world.wait_complete()
    attributes = state["attributes"]
    created = world.cloud.site.create_date
    assert attributes["statistic_id"] == STAT and attributes["first_day"] == created.isoformat()
    changes = world.changes()
    assert changes and min(changes.values()) >= -1e-9
    today = world.today
    for back in range(30):
        day = today - timedelta(days=back)
        for hour, value in enumerate(world.hourly(day)):
            start = datetime(day.year, day.month, day.day, hour, tzinfo=world.tz).astimezone(timezone.utc)
            assert changes.get(start, 0.0) == pytest.approx(value, abs=TOLERANCE), (day, hour)
    day = created
    while day <= today:
        start, end = day_span(day, world.tz)
        recorded = sum(v for t, v in changes.items() if start <= t < end)
        assert recorded == pytest.approx(world.daily(day.year, day.month)[day.day - 1], abs=TOLERANCE), day
        day += timedelta(days=1)
    lifetime = world.reader.system_summary(SID).lifetime
    assert lifetime is not None and sum(changes.values()) == pytest.approx(lifetime, abs=0.01)
    print(f"history: {len(changes)} hourly rows, {attributes['calls_spent']} calls, lifetime {lifetime} kWh")


def test_energy_validate_accepts_the_statistic_as_solar_source(world: World) -> None:
    world.wait_complete()
    hass = world.hass
    try:
        before = hass.ws({"type": "energy/get_prefs"})[0]["energy_sources"]
    except HomeAssistantError:  # no prefs saved yet (this module run alone)
        before = []
    source = {"type": "solar", "stat_energy_from": STAT, "config_entry_solar_forecast": None}
    try:
        hass.ws({"type": "energy/save_prefs", "energy_sources": [source]})
        issues = hass.ws({"type": "energy/validate"})[0]
        assert issues["energy_sources"] == [[]], issues
    finally:
        hass.ws({"type": "energy/save_prefs", "energy_sources": before})


@pytest.mark.timeout(600)
def test_restarts_of_appdaemon_and_home_assistant_change_nothing(world: World) -> None:
    world.wait_complete()
    before = world.changes()
    world.appdaemon.restart()
    world.wait_complete()
    world.session.hass.restart()
    world.wait_complete()
    assert world.changes() == before


@pytest.mark.timeout(600)
def test_a_correction_is_reflected_after_the_evening_re_read(world: World) -> None:
    world.wait_complete()
    corrected = world.today - timedelta(days=2)
    world.cloud.correct_day(corrected, 1.1)
    expected = world.daily(corrected.year, corrected.month)[corrected.day - 1]
    world.appdaemon.stop()
    path = world.appdaemon.state_dir / f"history_apsystems_{SID.lower()}_solar_energy.json"
    saved = json.loads(path.read_text(encoding="utf-8"))
    saved["evening_on"] = (world.today - timedelta(days=1)).isoformat()  # tonight's re-read has not run
    path.write_text(json.dumps(saved), encoding="utf-8")
    world.appdaemon.start()
    start, end = day_span(corrected, world.tz)

    def reflected() -> bool:
        changes = world.changes()
        return sum(v for t, v in changes.items() if start <= t < end) == pytest.approx(expected, abs=TOLERANCE)

    wait_for(f"the correction of {corrected} in the statistic", reflected, timeout=240, interval=3)
    world.wait_complete()
    assert min(world.changes().values()) >= -1e-9


@pytest.mark.timeout(300)
def test_a_non_admin_token_raises_the_notification_without_a_crash(world: World) -> None:
    world.wait_complete()
    world.appdaemon.stop()
    token = non_admin_token(world.hass)
    apps = history_apps(world.cloud, ha_token=Secret("viewer_token"))
    viewer = world.session.make_appdaemon("history-viewer", apps, viewer_token=token)
    viewer.start()
    try:
        notice = world.hass.wait_for_notification("apsystems_history", timeout=120)
        assert "admin" in notice["message"]
        assert token not in notice["message"]
        wait_for(f"{SENSOR} error", lambda: (world.sensor() or {}).get("state") == "error", timeout=60, interval=2)
        assert "Traceback" not in viewer.log_text()
        assert token not in viewer.log_text()
    finally:
        viewer.stop()
        world.hass.dismiss("apsystems_history")
        world.appdaemon.start()


def non_admin_token(hass: HomeAssistant) -> str:
    """A user in the ``system-users`` group (not an admin), logged in through the login flow."""
    user = hass.ws({"type": "config/auth/create", "name": "Viewer", "group_ids": ["system-users"]})[0]["user"]
    hass.ws(
        {
            "type": "config/auth_provider/homeassistant/create",
            "user_id": user["id"],
            "username": "viewer",
            "password": "viewer-password-not-secret",
        }
    )
    client_id = f"{hass.url}/"
    flow = requests.post(
        f"{hass.url}/auth/login_flow",
        json={"client_id": client_id, "handler": ["homeassistant", None], "redirect_uri": client_id},
        timeout=HTTP_TIMEOUT,
    ).json()
    result = requests.post(
        f"{hass.url}/auth/login_flow/{flow['flow_id']}",
        json={"client_id": client_id, "username": "viewer", "password": "viewer-password-not-secret"},
        timeout=HTTP_TIMEOUT,
    ).json()
    token = requests.post(
        f"{hass.url}/auth/token",
        data={"grant_type": "authorization_code", "code": result["result"], "client_id": client_id},
        timeout=HTTP_TIMEOUT,
    ).json()
    return str(token["access_token"])
