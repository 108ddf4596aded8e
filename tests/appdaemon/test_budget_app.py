"""The budget app in a real AppDaemon: sensor, ledger across restarts, notifications once."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from apsystems.api.client import RequestRecord
from apsystems.budget.core import ledger_file_name
from apsystems.budget.pacing import PollSource
from tests.appdaemon.conftest import HarnessFactory
from tests.support.appdaemon_harness import AppDaemonStartError

pytestmark = pytest.mark.appdaemon

SID = "AZ12649A3DFF"
SENSOR = "sensor.apsystems_az12649a3dff_api_calls"


APP_ID = "0123456789abcdef0123456789abcdef"
LEDGER = ledger_file_name(APP_ID)


def budget_apps(**extra: Any) -> dict[str, dict[str, Any]]:
    return {
        "apsystems_budget": {
            "module": "apsystems.budget_app",
            "class": "BudgetApp",
            "app_id": APP_ID,
            "sid": SID,
            "latitude": 51.5,
            "longitude": -0.13,
            "time_zone": "Europe/London",
            **extra,
        }
    }


def record(code: int | None) -> RequestRecord:
    return RequestRecord("GET", f"/user/api/v2/systems/summary/{SID}", {}, time.time(), 0.01, 200, code, None)


async def send(ad: Any, *codes: int | None) -> None:
    hook = await ad.call_app("apsystems_budget", "call_hook")
    for code in codes:
        await _run(ad, hook, record(code))
    await ad.wait_idle()


async def _run(ad: Any, func: Any, *args: Any) -> Any:
    """Run a blocking app method off the event loop, as another app's worker thread would."""
    return await asyncio.get_running_loop().run_in_executor(None, func, *args)


async def test_sensor_counts_and_survives_restart(appdaemon_factory: HarnessFactory) -> None:
    ad = await appdaemon_factory(budget_apps())
    entity = await ad.wait_for_entity(SENSOR)
    assert entity.state == 0
    attrs = entity.attributes
    assert attrs["quota"] == 1000 and attrs["remaining"] == 1000 and attrs["unit_of_measurement"] == "calls"
    for key in ("projected", "interval_s", "next_poll", "last_error_code", "friendly_name"):
        assert key in attrs

    await ad.call_app(
        "apsystems_budget", "set_site", inverters=6, ecus=1, poll_source=PollSource.ECU, time_zone="Europe/London"
    )
    await send(ad, 0, 0, 1001, None)
    assert ad.state(SENSOR) == 4
    assert ad.attributes(SENSOR)["remaining"] == 996
    assert any("API budget: interval" in line and "6 inverter(s)/1 ECU(s) at lat 51.5" in line for line in ad.log_lines)

    await ad.restart()
    entity = await ad.wait_for_entity(SENSOR)
    assert entity.state == 4  # the month's count is kept across an AppDaemon restart
    assert (ad.config_dir / "apsystems_state").is_dir()


async def test_limit_notification_created_once_and_dismissed_after_recovery(
    appdaemon_factory: HarnessFactory,
) -> None:
    ad = await appdaemon_factory(budget_apps())
    await ad.wait_for_entity(SENSOR)
    await send(ad, 7002, 7002, 7003)
    created = [
        c
        for c in ad.notifications("persistent_notification/create")
        if c.data["notification_id"] == "apsystems_api_limit"
    ]
    assert len(created) == 1
    assert "7002" in created[0].data["message"]
    assert ad.attributes(SENSOR)["last_error_code"] == 7003

    await send(ad, 0)
    dismissed = [
        c
        for c in ad.notifications("persistent_notification/dismiss")
        if c.data["notification_id"] == "apsystems_api_limit"
    ]
    assert len(dismissed) == 1
    await send(ad, 0)
    assert len(ad.notifications("persistent_notification/dismiss")) == 1


async def test_quota_exhausted_stops_spending(appdaemon_factory: HarnessFactory) -> None:
    ad = await appdaemon_factory(budget_apps())
    await ad.wait_for_entity(SENSOR)
    await send(ad, 2005)
    app = ad.get_app("apsystems_budget")

    def ask() -> bool:
        with app.spending(1, "summary") as decision:
            return bool(decision.allowed)

    assert await _run(ad, ask) is False
    assert ad.attributes(SENSOR)["quota_exhausted"] is True
    assert "2005" in ad.attributes(SENSOR)["last_refusal"]
    [created] = [
        c
        for c in ad.notifications("persistent_notification/create")
        if c.data["notification_id"] == "apsystems_api_limit"
    ]
    assert "2005" in created.data["message"]


async def test_auth_notification(appdaemon_factory: HarnessFactory) -> None:
    ad = await appdaemon_factory(budget_apps())
    await ad.wait_for_entity(SENSOR)
    await send(ad, 4000, 4000)
    created = [
        c for c in ad.notifications("persistent_notification/create") if c.data["notification_id"] == "apsystems_auth"
    ]
    assert len(created) == 1 and "clock" in created[0].data["message"]


async def test_fixed_interval_overrun_notification(appdaemon_factory: HarnessFactory) -> None:
    # A small quota makes the rest of any month overrun, whatever day the test runs on.
    ad = await appdaemon_factory(budget_apps(auto_interval=False, scan_interval=1800, monthly_quota=60))
    await ad.wait_for_entity(SENSOR)
    await ad.call_app(
        "apsystems_budget", "set_site", inverters=30, ecus=3, poll_source=PollSource.ECU, time_zone="Europe/London"
    )
    await ad.wait_idle()
    created = [
        c for c in ad.notifications("persistent_notification/create") if c.data["notification_id"] == "apsystems_budget"
    ]
    assert len(created) == 1 and "1800 s" in created[0].data["message"]
    assert ad.attributes(SENSOR)["mode"] == "fixed"


async def test_bad_configuration_names_the_value(appdaemon_factory: HarnessFactory) -> None:
    with pytest.raises(AppDaemonStartError) as failure:
        await appdaemon_factory(budget_apps(min_interval=10))
    assert "min_interval 10" in str(failure.value)


def ledger_notices(ad: Any) -> list[Any]:
    return [
        c for c in ad.notifications("persistent_notification/create") if c.data["notification_id"] == "apsystems_ledger"
    ]


async def test_a_damaged_ledger_never_lowers_the_count_and_says_so(
    appdaemon_factory: HarnessFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 10, points 1 and 13: both ledger copies NUL-filled, budget state of the wrong types."""
    ad = await appdaemon_factory(budget_apps())
    await ad.wait_for_entity(SENSOR)
    await send(ad, 0, 0, 0, 0, 0)
    assert ad.state(SENSOR) == 5
    folder = ad.config_dir / "apsystems_state"
    copies = [folder / LEDGER, folder / f"{LEDGER}.journal"]

    def damage() -> None:
        for copy in copies:
            copy.write_bytes(b"\0" * 512)
        (folder / f"budget_{SID.lower()}.json").write_text('{"inverters": "six"}')

    # The app is reloaded (its args changed): the count it published comes back as a floor.
    damage()
    ad.write_apps_yaml(budget_apps(monthly_quota=1000))
    await ad.wait_for(
        lambda: sum("API budget ready" in line for line in ad.log_lines) >= 2, timeout=10, message="the reload"
    )
    await ad.wait_idle()
    assert ad.state(SENSOR) == 5 and ad.attributes(SENSOR)["quota_exhausted"] is False
    [notice] = ledger_notices(ad)
    assert "count unknown" in notice.data["title"] and LEDGER in notice.data["message"]
    # The module loggers reach pytest's capture (their route into AppDaemon's log is issue 10, point 18).
    assert f"budget_{SID.lower()}.json is unusable (inverters is 'six', not int)" in caplog.text
    assert (folder / f"{LEDGER}.corrupt.1").exists()
    assert (folder / f"{LEDGER}.journal.corrupt.1").exists()

    # A full restart has no published count to go by: calls stop until a probe answers.
    damage()
    await ad.restart()
    await ad.wait_for_entity(SENSOR)
    assert ad.attributes(SENSOR)["quota_exhausted"] is True
    assert (folder / f"{LEDGER}.corrupt.2").exists()  # the first copy set aside is kept
    app = ad.get_app("apsystems_budget")

    def ask() -> tuple[bool, str]:
        with app.spending(1, "summary") as decision:
            return bool(decision.allowed), str(decision.reason)

    allowed, reason = await _run(ad, ask)
    assert allowed and "probe" in reason
    await send(ad, 0)  # the probe answered without 2005: calls resume
    assert ad.attributes(SENSOR)["quota_exhausted"] is False
