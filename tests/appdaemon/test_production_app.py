"""The production app in a real AppDaemon against the fake cloud (real time, daylight site)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from apsystems.api.client import ApsystemsClient
from apsystems.production.share import NAMESPACE, production_entity
from fakes.apsystems_cloud import DEFAULT_APP_ID, DEFAULT_APP_SECRET, FakeCloud
from fakes.apsystems_cloud.presets import daylight
from tests.appdaemon.conftest import HarnessFactory
from tests.support.appdaemon_harness import AppDaemonHarness

pytestmark = pytest.mark.appdaemon

PRODUCTION = "apsystems_production"
BUDGET = "apsystems_budget"
SUFFIXES = ("total_energy", "today_energy", "month_energy", "year_energy", "power")


@pytest.fixture
def cloud() -> Iterator[FakeCloud]:
    with FakeCloud(site=daylight()) as fake:
        yield fake


def apps_for(cloud: FakeCloud, **production: Any) -> dict[str, dict[str, Any]]:
    site = cloud.site
    return {
        BUDGET: {
            "module": "apsystems.budget_app",
            "class": "BudgetApp",
            "app_id": DEFAULT_APP_ID,
            "sid": cloud.sid,
            "latitude": site.latitude,
            "longitude": site.longitude,
            "time_zone": site.timezone,
        },
        PRODUCTION: {
            "module": "apsystems.production_app",
            "class": "ProductionApp",
            "dependencies": [BUDGET],
            "app_id": DEFAULT_APP_ID,
            "app_secret": DEFAULT_APP_SECRET,
            "sid": cloud.sid,
            "base_url": cloud.url,
            **production,
        },
    }


def entity_id(cloud: FakeCloud, suffix: str) -> str:
    return f"sensor.apsystems_{cloud.sid.lower()}_{suffix}"


async def run_tick(ad: AppDaemonHarness) -> None:
    """Fire the production app's pending timer now instead of waiting for it.

    Discovery's second call (the inverter list) has a callback of its own; it is fired too.
    """
    await _fire_tick(ad)
    if ad.get_app(PRODUCTION).discovery.pending:
        await _fire_tick(ad)


async def _fire_tick(ad: AppDaemonHarness) -> None:
    (entry,) = [e for e in ad.scheduler_entries(PRODUCTION) if e.callback == "_tick"]
    await ad.fire_timer(PRODUCTION, entry.handle)
    await ad.wait_idle(timeout=30)  # a slow-response fault takes the client's 8 s read timeout


def cloud_summary(cloud: FakeCloud) -> Any:
    return ApsystemsClient(DEFAULT_APP_ID, DEFAULT_APP_SECRET, base_url=cloud.url).system_summary(cloud.sid)


def snapshot(ad: AppDaemonHarness, cloud: FakeCloud) -> dict[str, Any]:
    return {s: ad.state(entity_id(cloud, s)) for s in SUFFIXES}


async def test_entities_match_the_cloud(appdaemon_factory: HarnessFactory, cloud: FakeCloud) -> None:
    ad = await appdaemon_factory(apps_for(cloud))
    await run_tick(ad)
    for suffix in SUFFIXES:
        await ad.wait_for_entity(entity_id(cloud, suffix))
    expected_meta = {
        "total_energy": ("kWh", "energy", "total_increasing"),
        "today_energy": ("kWh", "energy", "total_increasing"),
        "month_energy": ("kWh", "energy", "total_increasing"),
        "year_energy": ("kWh", "energy", "total_increasing"),
        "power": ("W", "power", "measurement"),
    }
    for suffix, (unit, device_class, state_class) in expected_meta.items():
        attrs = ad.attributes(entity_id(cloud, suffix))
        assert (attrs["unit_of_measurement"], attrs["device_class"], attrs["state_class"]) == (
            unit,
            device_class,
            state_class,
        ), suffix
        assert attrs["friendly_name"].startswith(f"APsystems {cloud.sid}")
    today_attrs = ad.attributes(entity_id(cloud, "today_energy"))
    assert len(today_attrs["hourly_kwh"]) == 24 and today_attrs["date"] == cloud.today().isoformat()
    assert ad.attributes(entity_id(cloud, "power"))["data_time"]

    spent_by_apps = cloud.calls.total
    summary = cloud_summary(cloud)
    assert ad.state(entity_id(cloud, "total_energy")) == pytest.approx(summary.lifetime, abs=0.02)
    assert ad.state(entity_id(cloud, "today_energy")) == pytest.approx(summary.today, abs=0.02)
    assert ad.state(entity_id(cloud, "month_energy")) == pytest.approx(summary.month, abs=0.02)
    assert ad.state(entity_id(cloud, "year_energy")) == pytest.approx(summary.year, abs=0.02)
    assert ad.state(entity_id(cloud, "power")) > 0
    assert sum(today_attrs["hourly_kwh"]) == pytest.approx(summary.today, abs=0.02)

    share = ad.entity(production_entity(cloud.sid), NAMESPACE)
    assert share is not None and share.attributes["power_kw"] == pytest.approx(
        ad.state(entity_id(cloud, "power")) / 1000
    )
    assert share.attributes["window_open"] is True
    # one ECU: auto polls ECU minutely; discovery 2 + summary 1 + poll 1
    assert cloud.calls.by_route.get("ecu_energy:minutely") == 1
    assert ad.state(f"sensor.apsystems_{cloud.sid.lower()}_api_calls") == spent_by_apps == 4


async def test_restart_republishes_before_any_call(appdaemon_factory: HarnessFactory, cloud: FakeCloud) -> None:
    ad = await appdaemon_factory(apps_for(cloud))
    await run_tick(ad)
    before = snapshot(ad, cloud)
    calls = cloud.calls.total
    await ad.restart()
    assert snapshot(ad, cloud) == before  # published in initialize(), from the state files
    assert cloud.calls.total == calls
    await run_tick(ad)  # the first tick after a restart: no discovery, no second summary today
    assert cloud.calls.by_route.get("system_details") == 1
    assert cloud.calls.by_route.get("system_summary") == 1


FAULTS: list[dict[str, Any]] = [
    {"kind": "octet_stream"},
    {"kind": "malformed_json"},
    {"kind": "http_status", "status": 500},
    {"kind": "drop"},
    {"kind": "delay", "delay_s": 9.0},
    *({"kind": "code", "code": c} for c in (1000, 1001, 2001, 2005, 4000, 4001, 5000, 6000, 7001, 7002, 7003)),
]


def fault_id(fault: dict[str, Any]) -> str:
    return f"{fault['kind']}-{fault.get('code', fault.get('status', ''))}"


def no_exception_escaped(ad: AppDaemonHarness) -> bool:
    bad = ("Traceback", "Unexpected error", "Excessive time spent in callback")
    return not [line for line in ad.log_lines if any(marker in line for marker in bad)]


@pytest.mark.parametrize("fault", FAULTS, ids=fault_id)
async def test_fault_at_start_up(appdaemon_factory: HarnessFactory, cloud: FakeCloud, fault: dict[str, Any]) -> None:
    cloud.faults.inject(rate=1.0, **fault)
    ad = await appdaemon_factory(apps_for(cloud))
    await run_tick(ad)
    if fault["kind"] != "octet_stream":
        assert ad.state(entity_id(cloud, "total_energy")) is None  # unknown, never a 0 at start-up
    cloud.faults.clear()
    calls = cloud.calls.total
    await run_tick(ad)
    if fault.get("code") == 2005:
        assert cloud.calls.total == calls  # quota reported exhausted: no call until the month rolls over
    else:
        assert ad.state(entity_id(cloud, "total_energy")) == pytest.approx(cloud_summary(cloud).lifetime, abs=0.02)
    assert no_exception_escaped(ad)


@pytest.mark.parametrize("fault", FAULTS, ids=fault_id)
async def test_fault_mid_day_keeps_values(
    appdaemon_factory: HarnessFactory, cloud: FakeCloud, fault: dict[str, Any]
) -> None:
    ad = await appdaemon_factory(apps_for(cloud))
    await run_tick(ad)
    good = snapshot(ad, cloud)
    assert good["total_energy"] is not None and good["power"] is not None

    cloud.faults.inject(rate=1.0, **fault)
    for _ in range(2):
        ad.get_app(PRODUCTION).tracker.last_poll_at = None  # make the tick poll at once
        await run_tick(ad)
        after = snapshot(ad, cloud)
        assert after["total_energy"] >= good["total_energy"]
        assert after["today_energy"] >= good["today_energy"]
        assert after["month_energy"] >= good["month_energy"]
        assert after["power"] is not None
    assert no_exception_escaped(ad)


async def test_slow_answers_one_slow_request_per_callback(appdaemon_factory: HarnessFactory, cloud: FakeCloud) -> None:
    """Discovery's two calls and the start-up summary each get a callback of their own when answers are slow."""
    cloud.faults.inject(kind="delay", delay_s=1.5, rate=1.0)
    ad = await appdaemon_factory(apps_for(cloud))
    await _fire_tick(ad)
    assert cloud.calls.count("system_details") == 1 and cloud.calls.count("inverters") == 0
    await _fire_tick(ad)
    assert cloud.calls.count("inverters") == 1
    assert cloud.calls.count("system_summary") == 0  # left for the next callback
    await _fire_tick(ad)
    assert cloud.calls.count("system_summary") == 1


async def test_debug_log_level_shows_the_client_requests_in_the_apps_log(
    appdaemon_factory: HarnessFactory, cloud: FakeCloud
) -> None:
    ad = await appdaemon_factory(apps_for(cloud, log_level="DEBUG"))
    await run_tick(ad)
    requests = [line for line in ad.logs if "APsystems GET" in line.message]
    assert any(line.logger.endswith(PRODUCTION) for line in requests), [str(line) for line in ad.logs[-20:]]
    assert not any(line.logger.endswith(BUDGET) and line.level == "DEBUG" for line in requests)  # budget stays INFO
