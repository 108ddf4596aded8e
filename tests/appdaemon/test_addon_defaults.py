"""Add-on defaults in a real AppDaemon: no namespace in appdaemon.yaml, the version, the check event."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from apsystems import __version__
from apsystems.production.share import NAMESPACE, production_entity
from fakes.apsystems_cloud import DEFAULT_APP_SECRET, FakeCloud
from fakes.apsystems_cloud.presets import daylight
from tests.appdaemon.conftest import HarnessFactory
from tests.appdaemon.test_production_app import BUDGET, PRODUCTION, apps_for, cloud_summary, run_tick
from tests.support.appdaemon_harness import AppDaemonHarness

pytestmark = pytest.mark.appdaemon

CHECK_ID = "apsystems_check"


@pytest.fixture
def cloud() -> Iterator[FakeCloud]:
    with FakeCloud(site=daylight()) as fake:
        yield fake


def check_notices(ad: AppDaemonHarness) -> list[Any]:
    return [c for c in ad.notifications("persistent_notification/create") if c.data["notification_id"] == CHECK_ID]


async def test_the_shared_namespace_needs_no_appdaemon_yaml_entry(
    appdaemon_factory: HarnessFactory, cloud: FakeCloud
) -> None:
    """appdaemon.yaml without any ``namespaces:``: the production app creates it, and it survives a restart."""
    ad = await appdaemon_factory(apps_for(cloud), namespaces={})
    await run_tick(ad)
    share = production_entity(cloud.sid)
    await ad.wait_for(lambda: ad.state(share, namespace=NAMESPACE), timeout=10, message="the shared production")
    shared = ad.state(share, namespace=NAMESPACE)
    assert any("Created the persistent user namespace 'apsystems'" in line for line in ad.log_lines)
    assert not any("Cannot share production" in line for line in ad.log_lines)
    await ad.restart()
    # After the restart the app reopens the namespace's file: the value is there before any new poll.
    assert ad.state(share, namespace=NAMESPACE) == shared


async def test_every_app_logs_its_version_and_the_sensor_shows_it(
    appdaemon_factory: HarnessFactory, cloud: FakeCloud
) -> None:
    ad = await appdaemon_factory(apps_for(cloud))
    sensor = f"sensor.apsystems_{cloud.sid.lower()}_api_calls"
    await ad.wait_for_entity(sensor)
    assert ad.attributes(sensor)["version"] == __version__
    assert sum(f"apsystems-chargehq {__version__}" in line for line in ad.log_lines) >= 2  # budget and production


async def test_check_event_reports_lifetime_and_inverters_in_a_notification(
    appdaemon_factory: HarnessFactory, cloud: FakeCloud
) -> None:
    ad = await appdaemon_factory(apps_for(cloud))
    calls_before = cloud.calls.count()
    await ad.fire_event("apsystems_check", sid=cloud.sid)
    await ad.wait_for(lambda: check_notices(ad) or None, timeout=30, message="the check's notification")
    [notice] = check_notices(ad)
    lifetime = cloud_summary(cloud).lifetime
    inverters = len(cloud.site.all_inverters())
    assert "credentials work" in notice.data["title"]
    assert f"lifetime {lifetime:.2f} kWh" in notice.data["message"]
    assert f"Inverters: {inverters} on" in notice.data["message"]
    assert DEFAULT_APP_SECRET not in notice.data["message"]
    assert cloud.calls.count() - calls_before == 4 + 1  # the check, and cloud_summary() above
    # The budget counted the four calls like any other.
    await ad.wait_idle()
    used = ad.state(f"sensor.apsystems_{cloud.sid.lower()}_api_calls")
    assert used >= 4


async def test_check_event_for_another_system_is_ignored(appdaemon_factory: HarnessFactory, cloud: FakeCloud) -> None:
    ad = await appdaemon_factory(apps_for(cloud))
    calls_before = cloud.calls.count()
    await ad.fire_event("apsystems_check", sid="ZZ0000000000")
    await ad.wait_idle()
    assert not check_notices(ad)
    assert cloud.calls.count() == calls_before


async def test_check_on_start_with_a_wrong_secret_explains_4000(
    appdaemon_factory: HarnessFactory, cloud: FakeCloud
) -> None:
    apps = apps_for(cloud)
    apps[BUDGET]["check_on_start"] = True
    apps[PRODUCTION]["app_secret"] = "wrongsecret1"
    ad = await appdaemon_factory(apps)
    await ad.wait_for(lambda: check_notices(ad) or None, timeout=60, message="the check's notification")
    [notice] = check_notices(ad)
    assert "code 4000" in notice.data["title"]
    assert "What to check:" in notice.data["message"]
    assert "wrongsecret1" not in notice.data["message"]


async def test_check_on_start_must_be_a_boolean(appdaemon_factory: HarnessFactory, cloud: FakeCloud) -> None:
    apps = apps_for(cloud)
    apps[BUDGET]["check_on_start"] = "yes"
    ad = await appdaemon_factory(apps, expect_running=[])
    await ad.wait_for(
        lambda: any("check_on_start 'yes' must be true or false" in line for line in ad.log_lines),
        timeout=10,
        message="the configuration error",
    )
