"""The AppDaemon harness itself, proven with the test-only probe app (fixture_apps/probe)."""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from threading import Thread
from typing import Any

import pytest
from appdaemon.services import Services

import apsystems.api.errors
from tests.appdaemon.conftest import PROBE_PACKAGE, HarnessFactory
from tests.support.appdaemon_harness import AMSTERDAM, AppDaemonHarness, AppDaemonStartError

pytestmark = pytest.mark.appdaemon

PROBE = {"probe": {"module": "probe.probe_app", "class": "ProbeApp"}}


async def start_probe(factory: HarnessFactory, **kwargs: Any) -> AppDaemonHarness:
    return await factory(PROBE, packages=[PROBE_PACKAGE], **kwargs)


async def test_published_entity_is_visible_with_its_attributes(appdaemon_factory: HarnessFactory) -> None:
    ad = await start_probe(appdaemon_factory)

    power = ad.entity("sensor.probe_power")

    assert power is not None
    assert power.state == 123.4
    assert power.attributes == {
        "friendly_name": "Probe power",
        "unit_of_measurement": "W",
        "device_class": "power",
        "state_class": "measurement",
    }
    assert power.last_changed is not None
    assert "sensor.probe_power" in ad.entity_ids(prefix="sensor.probe_")
    assert ad.state("sensor.does_not_exist", default="absent") == "absent"


async def test_app_args_reach_the_app(appdaemon_factory: HarnessFactory) -> None:
    apps = {"probe": {"module": "probe.probe_app", "class": "ProbeApp", "power_w": 42}}

    ad = await appdaemon_factory(apps, packages=[PROBE_PACKAGE])

    assert ad.state("sensor.probe_power") == 42.0


async def test_event_round_trip_and_app_method(appdaemon_factory: HarnessFactory) -> None:
    ad = await start_probe(appdaemon_factory)

    await ad.fire_event("probe_ping", request_id="r1")
    pong = await ad.wait_for_event("probe_pong", request_id="r1")

    assert pong.data["pings"] == 1
    assert await ad.call_app("probe", "ping_count") == 1
    notify = await ad.wait_for_service_call("notify/notify")
    assert notify.data == {"message": "ping r1", "title": "Probe"}


async def test_persistent_notification_is_recorded(appdaemon_factory: HarnessFactory) -> None:
    ad = await start_probe(appdaemon_factory)

    [created] = ad.notifications("persistent_notification/create")

    assert created.namespace == "default"
    assert created.data == {"message": "Probe started", "title": "Probe", "notification_id": "probe_started"}
    assert created.raw_data["timeout"] is None  # AppDaemon 4.5.13 adds it to every sync call_service
    assert created.run == 0


async def test_service_response_can_be_overridden(appdaemon_factory: HarnessFactory) -> None:
    ad = await start_probe(appdaemon_factory)
    ad.set_service_response("notify/notify", {"success": False, "ad_status": "OK", "error": {"code": "x"}})

    result = await ad.call_app("probe", "call_service", "notify/notify", message="m")

    assert result["success"] is False


async def test_state_change_reaches_listen_state(appdaemon_factory: HarnessFactory) -> None:
    ad = await start_probe(appdaemon_factory)

    await ad.set_state("input_button.probe_refresh", "2026-01-01T00:00:00+00:00")

    button = await ad.wait_for_entity("sensor.probe_button")
    assert button.state == "2026-01-01T00:00:00+00:00"


async def test_scheduler_entries_and_firing_a_timer(appdaemon_factory: HarnessFactory) -> None:
    ad = await start_probe(appdaemon_factory)
    await ad.wait_for_entity("sensor.probe_timer", state="fired")  # the short run_in ran by itself

    [hourly] = ad.scheduler_entries("probe")
    assert hourly.callback == "on_hourly"
    assert hourly.kwargs == {"marker": "hourly"}
    assert not hourly.repeat
    in_an_hour = datetime.now(timezone.utc) + timedelta(hours=1)
    assert abs(hourly.timestamp - in_an_hour) < timedelta(seconds=30)

    await ad.fire_timer("probe", hourly.handle)
    await ad.wait_idle()

    assert ad.state("sensor.probe_hourly") == "hourly"
    assert ad.scheduler_entries("probe") == []  # a one-shot timer is gone once it ran


async def test_user_namespace_and_json_file_survive_restart(appdaemon_factory: HarnessFactory) -> None:
    ad = await start_probe(appdaemon_factory)
    assert ad.state("probe.starts", namespace=ad.user_namespace) == 1

    await ad.restart()

    assert ad.run == 1
    assert ad.state("probe.starts", namespace=ad.user_namespace) == 2
    assert ad.attributes("sensor.probe_starts")["file_starts"] == 2
    assert json.loads((ad.config_dir / "probe_state.json").read_text()) == {"starts": 2}
    assert [c.run for c in ad.notifications("persistent_notification/create")] == [0, 1]
    assert (ad.config_dir / "namespaces").is_dir()


async def test_namespace_with_only_writeback_is_not_persisted(appdaemon_factory: HarnessFactory) -> None:
    """Canary for AppDaemon #2533 (4.5.13): ``writeback: safe`` alone does not persist.

    If this fails after an AppDaemon upgrade, the bug is fixed and ``persistent: true`` in
    appdaemon.yaml.example is no longer needed (keeping it does no harm).
    """
    ad = await start_probe(appdaemon_factory, namespaces={"apsystems": {"writeback": "safe"}})

    await ad.restart()

    assert ad.state("probe.starts", namespace="apsystems") == 1  # started afresh: nothing was stored
    assert ad.attributes("sensor.probe_starts")["file_starts"] == 2  # the JSON file is unaffected


async def test_secret_in_apps_yaml_resolves_from_the_config_dirs_secrets(tmp_path: Path) -> None:
    """As in the add-on: secrets.yaml sits next to appdaemon.yaml, none next to apps.yaml."""
    harness = AppDaemonHarness(tmp_path / "ad", {}, packages=[PROBE_PACKAGE], secrets={"probe_key": "s3cret"})
    harness.write_apps_yaml_text("probe:\n  module: probe.probe_app\n  class: ProbeApp\n  api_key: !secret probe_key\n")

    async with harness:
        assert harness.get_app("probe").args["api_key"] == "s3cret"

    assert not (harness.app_dir / "secrets.yaml").exists()


async def test_logs_are_captured_and_reach_caplog(
    appdaemon_factory: HarnessFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    ad = await start_probe(appdaemon_factory)

    assert "probe initialised: namespace starts 1, file starts 1" in ad.app_log("probe")
    assert "INFO AppDaemon._app_management: Calling initialize() for probe" in ad.log_lines
    assert any(r.name == "AppDaemon.probe" and "probe initialising" in r.getMessage() for r in caplog.records)
    assert not any("probe debug marker" in line for line in ad.log_lines)  # INFO by default

    await ad.stop()

    assert "probe terminating" in ad.app_log("probe")


async def test_app_log_level_debug_from_apps_yaml(appdaemon_factory: HarnessFactory) -> None:
    apps = {"probe": {"module": "probe.probe_app", "class": "ProbeApp", "log_level": "DEBUG"}}

    ad = await appdaemon_factory(apps, packages=[PROBE_PACKAGE])

    assert "probe debug marker" in ad.app_log("probe")


async def test_location_and_time_zone_are_the_tests_choice(appdaemon_factory: HarnessFactory) -> None:
    ad = await start_probe(appdaemon_factory, location=AMSTERDAM)

    described = await ad.call_app("probe", "describe")

    assert described["time_zone"] == "Europe/Amsterdam"
    assert datetime.fromisoformat(described["now"]).utcoffset() in {timedelta(hours=1), timedelta(hours=2)}
    assert "latitude: 52.3676" in ad.config_file.read_text()


async def test_app_failing_in_initialize_is_reported_with_the_log(tmp_path: Path) -> None:
    apps = {**PROBE, "broken": {"module": "probe.broken_app", "class": "BrokenApp"}}
    harness = AppDaemonHarness(tmp_path / "ad", apps, packages=[PROBE_PACKAGE])

    with pytest.raises(AppDaemonStartError) as failure:
        await harness.start()

    message = str(failure.value)
    assert "app(s) not initialised: broken" in message
    assert "broken: state 'initialize_error'" in message
    assert "probe broken on purpose" in message
    assert not harness.running  # AppDaemon was stopped before the error was raised
    assert "probe terminating" in harness.app_log("probe")


async def test_invalid_app_entry_is_reported(tmp_path: Path) -> None:
    apps = {"probe": {"module": "probe.probe_app"}}  # no class: AppDaemon drops the entry silently
    harness = AppDaemonHarness(tmp_path / "ad", apps, packages=[PROBE_PACKAGE])

    with pytest.raises(AppDaemonStartError, match="probe: not in AppDaemon's app config"):
        await harness.start()


async def test_stop_undoes_appdaemons_process_wide_changes(tmp_path: Path) -> None:
    path_before = list(sys.path)
    harness = AppDaemonHarness(tmp_path / "ad", PROBE, packages=[PROBE_PACKAGE])

    async with harness:
        ad = harness.ad
        assert "probe.probe_app" in sys.modules
        assert str(harness.app_dir) in sys.path

    assert sys.path == path_before
    assert not [name for name in sys.modules if name == "probe" or name.startswith("probe.")]
    assert Services.services == {}
    threads = [t.get("thread") for t in ad.threading.threads.values()]
    assert not [t.name for t in threads if isinstance(t, Thread) and t.is_alive()]
    assert not logging.getLogger("AppDaemon").handlers


async def test_modules_imported_elsewhere_in_the_session_are_set_aside_and_restored(tmp_path: Path) -> None:
    # apsystems.api.errors was imported from the repo's apps/ at the top, as the unit tests do.
    harness = AppDaemonHarness(tmp_path / "ad", {})  # default packages: the repo's apps/ packages

    async with harness:
        assert "apsystems.api.errors" not in sys.modules  # so AppDaemon imports its own copy from app_dir

    assert sys.modules["apsystems.api.errors"] is apsystems.api.errors


async def test_only_one_harness_runs_at_a_time(appdaemon_factory: HarnessFactory, tmp_path: Path) -> None:
    await start_probe(appdaemon_factory)
    second = AppDaemonHarness(tmp_path / "second", PROBE, packages=[PROBE_PACKAGE])

    with pytest.raises(RuntimeError, match="another AppDaemonHarness is running"):
        await second.start()
