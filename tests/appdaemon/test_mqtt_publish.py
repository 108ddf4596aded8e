"""``publish: mqtt`` in a real AppDaemon with its MQTT plugin connected to a real Mosquitto.

No Home Assistant: what HA would read is what the broker retains, read back by a test client.
Sites of the fake cloud: ``large`` (3 ECUs, DS3/YC600 with 2 channels, QS1/QT2 with 4) and a
1-ECU site with a DS3 and a QS1.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from fakes.apsystems_cloud import FakeCloud
from fakes.apsystems_cloud.fmt import num
from fakes.apsystems_cloud.presets import daylight
from fakes.apsystems_cloud.site import InverterSpec
from tests.appdaemon.conftest import HarnessFactory
from tests.appdaemon.test_addon_defaults import check_notices
from tests.appdaemon.test_inverters_app import BERLIN, MUNICH, UNITS, discover, expected_ids, fire, listed
from tests.appdaemon.test_inverters_app import apps_for as inverter_apps
from tests.support.appdaemon_harness import AppDaemonHarness, Location
from tests.support.mosquitto import Mosquitto

pytestmark = pytest.mark.appdaemon

BUDGET = "apsystems_budget"
INVERTERS = "apsystems_inverters"
PRODUCTION = "apsystems_production"
AVAILABILITY = "appdaemon_mqtt_client/status"  # the plugin's default will/birth topic (plugin name MQTT)
CONFIG_PREFIX = "homeassistant/sensor/apsystems/"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    with Mosquitto(tmp_path / "mosquitto") as running:
        yield running


def at_midday(fake: FakeCloud, zone: ZoneInfo = BERLIN) -> FakeCloud:
    today = datetime.now(zone).date()
    fake.clock.set_fixed(datetime.combine(today, time(13, 0), tzinfo=zone))
    return fake


@pytest.fixture
def large() -> Iterator[FakeCloud]:
    with FakeCloud(site="large") as fake:
        yield at_midday(fake)


def apps_for(cloud: FakeCloud, *, production: bool = False, publish: str = "mqtt") -> dict[str, dict[str, Any]]:
    """The budget and inverter apps of tests/appdaemon/test_inverters_app.py, publishing with ``publish``."""
    apps = inverter_apps(cloud, budget={"publish": publish}, publish=publish)
    if production:
        apps[PRODUCTION] = {
            "module": "apsystems.production_app",
            "class": "ProductionApp",
            "dependencies": [BUDGET],
            **{k: apps[INVERTERS][k] for k in ("app_id", "app_secret", "sid", "base_url", "budget", "publish")},
        }
    return apps


async def start(
    factory: HarnessFactory,
    cloud: FakeCloud,
    broker: Mosquitto,
    location: Location = MUNICH,
    client_topics: str = "ALL",
    **kwargs: Any,
) -> AppDaemonHarness:
    plugins = {
        "MQTT": {
            "type": "mqtt",
            "namespace": "mqtt",
            "client_host": "127.0.0.1",
            "client_port": broker.port,
            "client_topics": client_topics,  # ALL: the plugin's default "#"; NONE: the apps subscribe
        }
    }
    return await factory(
        apps_for(cloud, **kwargs),
        location=location,
        appdaemon_options={"plugins": plugins},
        start_timeout=30.0,
    )


async def press(ad: AppDaemonHarness, broker: Mosquitto, topic: str, cloud: FakeCloud, route: str, calls: int) -> None:
    """Press a button as Home Assistant does (one publish to its command topic); exactly ``calls`` more."""
    before = cloud.calls.count(route)
    await asyncio.to_thread(broker.publish, topic, "PRESS")
    await ad.wait_for(lambda: cloud.calls.count(route) == before + calls or None, timeout=10)
    await ad.wait_idle(timeout=30)
    await asyncio.sleep(1)  # a second call would come now
    assert cloud.calls.count(route) == before + calls


async def retained(broker: Mosquitto, topic: str = "#") -> dict[str, str]:
    return await asyncio.to_thread(broker.retained, topic)


async def retained_again(broker: Mosquitto, topics: set[str], timeout: float = 30.0) -> dict[str, str]:
    """What the broker retains once every one of ``topics`` is back: each app publishes again when
    its own MQTT connection event reaches it, so they arrive one app after another."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = await retained(broker)
        missing = topics - set(found)
        if not missing or asyncio.get_running_loop().time() > deadline:
            assert not missing, f"not published again within {timeout} s: {sorted(missing)}"
            return found
        await asyncio.sleep(0.5)


def ecu_of(cloud: FakeCloud) -> dict[str, str]:
    """uid -> ECU of every listed inverter."""
    return {inv.uid: ecu.eid for ecu in cloud.site.ecus for inv in ecu.inverters if inv.listed}


def object_ids(inv: InverterSpec) -> set[str]:
    return {entity_id.removeprefix("sensor.") for entity_id in expected_ids(inv)}


def configs(messages: dict[str, str]) -> dict[str, dict[str, Any]]:
    """object id -> config of every retained sensor config."""
    return {
        topic.removeprefix(CONFIG_PREFIX).removesuffix("/config"): json.loads(payload)
        for topic, payload in messages.items()
        if topic.startswith(CONFIG_PREFIX) and topic.endswith("/config") and payload
    }


def check_inverter_configs(cloud: FakeCloud, found: dict[str, dict[str, Any]]) -> None:
    """Every entity of every listed inverter, with its device chain inverter -> ECU -> system."""
    ecus = ecu_of(cloud)
    sid = cloud.sid.lower()
    inverter_configs = {k: v for k, v in found.items() if k.startswith("apsystems_inverter_")}
    assert set(inverter_configs) == set().union(*(object_ids(i) for i in listed(cloud)))
    by_uid = {inv.uid: inv for inv in listed(cloud)}
    for object_id, config in inverter_configs.items():
        uid, key = object_id.removeprefix("apsystems_inverter_").split("_", 1)
        inv = by_uid[uid]
        assert config["unique_id"] == config["default_entity_id"] == f"sensor.{object_id}"
        assert config["object_id"] == object_id
        assert config["state_topic"] == f"apsystems/{object_id}/state"
        assert config["json_attributes_topic"] == f"apsystems/{object_id}/attributes"
        assert config["availability_topic"] == AVAILABILITY
        kind = key.split("_ch")[0]
        assert (config["unit_of_measurement"], config["device_class"]) == UNITS[kind]
        assert config["state_class"] == "measurement"
        device = config["device"]
        assert device["identifiers"] == [f"apsystems_inverter_{uid}"]
        assert device["model"] == inv.model and device["serial_number"] == uid
        assert device["via_device"] == f"apsystems_ecu_{ecus[uid]}"
    assert found[f"apsystems_{sid}_api_calls"]["device"]["identifiers"] == [f"apsystems_{sid}"]
    for eid in set(ecus.values()):  # each ECU's device comes with its sensor, linked to the system
        ecu = found[f"apsystems_ecu_{eid}_inverters"]
        assert ecu["device"]["identifiers"] == [f"apsystems_ecu_{eid}"]
        assert ecu["device"]["via_device"] == f"apsystems_{sid}"


async def test_large_site_configs_states_button_and_removal(
    appdaemon_factory: HarnessFactory, large: FakeCloud, broker: Mosquitto
) -> None:
    ad = await start(appdaemon_factory, large, broker)
    await discover(ad)
    inverters = listed(large)
    assert len(inverters) == 30 and {len(i.panels_w) for i in inverters} == {2, 4}
    assert not ad.entity_ids(prefix="sensor.apsystems_inverter_")  # nothing through set_state

    messages = await retained(broker)
    found = configs(messages)
    check_inverter_configs(large, found)
    assert len([k for k in found if k.startswith("apsystems_inverter_")]) == 21 * 10 + 9 * 16
    assert messages[AVAILABILITY] == "online"
    sid = large.sid.lower()
    for name in ("scan_inverters", "refresh_inverters"):
        button = json.loads(messages[f"homeassistant/button/apsystems/apsystems_{sid}_{name}/config"])
        assert button["default_entity_id"] == f"button.apsystems_{sid}_{name}"
        assert button["device"]["identifiers"] == [f"apsystems_{sid}"]

    await fire(ad, "_daily_job", job="detail")
    messages = await retained(broker)
    due = await ad.call_app(BUDGET, "detail_due", [i.uid for i in inverters])
    assert due
    for uid in due:
        base = f"apsystems/apsystems_inverter_{uid}_power"
        assert float(messages[f"{base}/state"]) >= 0
        attributes = json.loads(messages[f"{base}/attributes"])
        assert attributes["uid"] == uid and "friendly_name" not in attributes
        assert len(messages[f"{base}/attributes"].encode()) < 16384
    assert int(messages[f"apsystems/apsystems_{sid}_api_calls/state"]) == large.calls.total

    # a button press is one publish to its command topic: exactly one inverter-list call
    gone = inverters[0]
    large.remove_inverter(gone.uid)
    await press(ad, broker, f"apsystems/apsystems_{sid}_scan_inverters/press", large, "inverters", 1)
    messages = await retained(broker)
    assert not set(configs(messages)) & object_ids(gone)  # empty retained configs: HA removes them
    assert not [t for t in messages if t.startswith(f"apsystems/apsystems_inverter_{gone.uid}_")]
    check_inverter_configs(large, configs(messages))

    # an ECU whose inverters all leave the list loses its sensor, and HA with it the ECU's device
    empty = large.site.ecus[2]
    for inv in [i for i in empty.inverters if i.listed]:
        large.remove_inverter(inv.uid)
    await press(ad, broker, f"apsystems/apsystems_{sid}_scan_inverters/press", large, "inverters", 1)
    messages = await retained(broker)
    assert f"apsystems_ecu_{empty.eid.lower()}_inverters" not in configs(messages)
    assert not [t for t in messages if t.startswith(f"apsystems/apsystems_ecu_{empty.eid.lower()}_")]
    assert len(set(ecu_of(large).values())) == 2
    check_inverter_configs(large, configs(messages))
    assert any(f"Removed the sensor of ECU {empty.eid}" in line for line in ad.app_log(INVERTERS))


async def test_one_ecu_site_and_a_broker_restart_loses_nothing(
    appdaemon_factory: HarnessFactory, broker: Mosquitto
) -> None:
    sunny = daylight(ecu_models=(("DS3", "QS1"),))
    with FakeCloud(site=sunny) as cloud:
        zone = ZoneInfo(sunny.timezone)
        at_midday(cloud, zone)
        location = Location(latitude=sunny.latitude, longitude=sunny.longitude, elevation=10, time_zone=sunny.timezone)
        ad = await start(appdaemon_factory, cloud, broker, location, client_topics="NONE", production=True)
        await fire(ad, "_tick", PRODUCTION)  # discovery's first call (details)
        await fire(ad, "_tick", PRODUCTION)  # the inverter list and the first poll of the production app
        await discover(ad)
        inverters = listed(cloud)
        assert len(cloud.site.ecus) == 1 and sorted(len(i.panels_w) for i in inverters) == [2, 4]
        before = await retained(broker)
        found = configs(before)
        check_inverter_configs(cloud, found)
        sid = cloud.sid.lower()
        total = found[f"apsystems_{sid}_total_energy"]
        assert (total["device_class"], total["state_class"], total["unit_of_measurement"]) == (
            "energy",
            "total_increasing",
            "kWh",
        )

        # the system device's model comes from the system details: kind and capacity
        capacity = float(num(cloud.site.capacity_kw(), 2))  # as the fake's system details give it
        assert total["device"]["model"] == f"PV system {capacity:g} kW"
        assert total["device"]["identifiers"] == [f"apsystems_{sid}"]

        # the check button does what the apsystems_check event does: the check, reported as a notification
        check = json.loads(before[f"homeassistant/button/apsystems/apsystems_{sid}_check/config"])
        assert check["default_entity_id"] == f"button.apsystems_{sid}_check"
        assert check["device"]["identifiers"] == [f"apsystems_{sid}"]
        details_before = cloud.calls.count("system_details")
        await asyncio.to_thread(broker.publish, f"apsystems/apsystems_{sid}_check/press", "PRESS")
        await ad.wait_for(lambda: check_notices(ad) or None, timeout=30, message="the check's notification")
        [notice] = check_notices(ad)
        assert "credentials work" in notice.data["title"]
        assert f"Inverters: {len(inverters)} on" in notice.data["message"]
        assert cloud.calls.count("system_details") == details_before + 1

        # the refresh button does what the apsystems_refresh_inverters event does: detail for every inverter
        refresh = f"apsystems/apsystems_{sid}_refresh_inverters/press"
        await press(ad, broker, refresh, cloud, "inverter_energy:minutely", 2)

        calls = cloud.calls.total
        await asyncio.to_thread(broker.stop)
        await ad.wait_for(lambda: any("Disconnected Abruptly" in line for line in ad.log_lines) or None, timeout=15)
        await ad.fire_event("apsystems_refresh_inverters", sid=sid)  # values read while the broker is away
        await ad.wait_idle(timeout=60)
        assert cloud.calls.total > calls
        outage_lines = [line for line in ad.log_lines if "is not reachable; keeping every value" in line]
        await asyncio.to_thread(broker.start)  # a broker that lost every retained message
        await ad.wait_for(lambda: any("MQTT broker is back" in line for line in ad.log_lines) or None, timeout=30)
        await ad.wait_idle(timeout=30)
        after = await retained_again(broker, set(before))
        assert set(found) <= set(configs(after))  # (the production app may have published its power meanwhile)
        check_inverter_configs(cloud, configs(after))
        assert after[AVAILABILITY] == "online"
        for inv in inverters:
            state = after[f"apsystems/apsystems_inverter_{inv.uid}_power/state"]
            assert state != "None"  # the refresh made during the outage arrived
        assert 1 <= len(outage_lines) <= 3  # one line per app, not one per message

        # Home Assistant announcing itself gets everything again (here: a config someone deleted)
        power = f"{CONFIG_PREFIX}apsystems_inverter_{inverters[0].uid}_power/config"
        await asyncio.to_thread(broker.publish, power, "", True)
        assert power not in await retained(broker)
        await asyncio.to_thread(broker.publish, "homeassistant/status", "online")
        await ad.wait_idle(timeout=30)
        await asyncio.sleep(0.5)
        assert power in await retained(broker)


async def test_switching_from_set_state_frees_the_entity_ids(
    appdaemon_factory: HarnessFactory, large: FakeCloud, broker: Mosquitto
) -> None:
    """Home Assistant would name the MQTT entity ``<id>_2`` while the set_state one holds the id."""
    ad = await start(appdaemon_factory, large, broker, publish="set_state")
    await discover(ad)
    held = set(ad.entity_ids(prefix="sensor.apsystems_inverter_"))
    assert len(held) == 21 * 10 + 9 * 16
    calls = large.calls.total

    ad.write_apps_yaml(apps_for(large))  # publish: mqtt, AppDaemon reloads the apps
    await ad.wait_for(lambda: not ad.entity_ids(prefix="sensor.apsystems_inverter_") or None, timeout=30)
    await ad.wait_idle(timeout=30)
    found = configs(await retained(broker))
    assert {f"sensor.{k}" for k in found if k.startswith("apsystems_inverter_")} == held
    assert large.calls.total == calls  # the switch spends no API call
    assert [line for line in ad.app_log(INVERTERS) if "Replaced the set_state entity" in line]
