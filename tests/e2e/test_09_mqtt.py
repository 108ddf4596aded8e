"""``publish: mqtt`` on a real Home Assistant 2026.11 with its own MQTT integration and Mosquitto.

A Home Assistant of its own (the session's one holds the same entity ids through ``set_state``):
the MQTT integration is set up through its config flow as a user would; AppDaemon runs the
example's apps first with ``set_state``, then switches to ``publish: mqtt``. Checked: the ids stay,
the device registry holds system -> ECU -> inverter, every entity has its unique id, a renamed
entity keeps receiving values, a Home Assistant restart keeps every value with 0 API calls, and
HA's log has no MQTT discovery warning.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from time import monotonic
from typing import Any

import pytest
import requests
import yaml

from fakes.apsystems_cloud import FakeCloud
from fakes.apsystems_cloud.presets import daylight
from fakes.chargehq_receiver import ChargeHQReceiver
from scripts.netns import only_loopback
from tests.e2e.appdaemon_instance import AppDaemonInstance, example_apps
from tests.e2e.conftest import (
    CHARGEHQ_KEY,
    HASS_BIN,
    Expected,
    _inverters,
    configured_home_assistant,
    free_port,
    secrets_for,
)
from tests.e2e.homeassistant import HomeAssistant
from tests.e2e.processes import wait_for
from tests.e2e.test_05_energy import validate_solar_source
from tests.support.mosquitto import Mosquitto

pytestmark = pytest.mark.e2e

TIMEOUT_S = 120.0


@dataclass
class MqttSite:
    cloud: FakeCloud
    hass: HomeAssistant
    appdaemon: AppDaemonInstance
    broker: Mosquitto
    expected: Expected
    receiver: ChargeHQReceiver
    published_at: datetime | None = None  # when HA last gained the MQTT entities (the statistics need them)

    def registry(self) -> dict[str, dict[str, Any]]:
        entries = self.hass.ws({"type": "config/entity_registry/list"})[0]
        return {str(e["entity_id"]): e for e in entries}

    def devices(self) -> dict[str, dict[str, Any]]:
        return {str(d["id"]): d for d in self.hass.ws({"type": "config/device_registry/list"})[0]}

    def values(self, ids: list[str]) -> dict[str, Any]:
        states = self.hass.states()
        return {e: states[e]["state"] if e in states else None for e in ids}


def with_publish(apps: dict[str, dict[str, Any]], publish: str) -> dict[str, dict[str, Any]]:
    return {name: {**args, "publish": publish} for name, args in apps.items()}


def setup_mqtt_integration(hass: HomeAssistant, port: int) -> None:
    """Settings > Devices & services > Add integration > MQTT > broker and port, as the UI posts it."""
    headers = {"Authorization": f"Bearer {hass.token}"}
    flow = requests.post(
        f"{hass.url}/api/config/config_entries/flow",
        json={"handler": "mqtt", "show_advanced_options": False},
        headers=headers,
        timeout=30,
    )
    flow.raise_for_status()
    step = flow.json()
    assert step["type"] == "form" and step["step_id"] == "broker", step
    done = requests.post(
        f"{hass.url}/api/config/config_entries/flow/{step['flow_id']}",
        json={
            "broker": "127.0.0.1",
            "port": port,
            "protocol": "5",
            "other_settings": {"set_client_cert": False, "set_ca_cert": "off", "transport": "tcp"},
        },
        headers=headers,
        timeout=30,
    )
    assert done.status_code == 200, f"{done.status_code} {done.text} (form: {step})"
    assert done.json()["type"] == "create_entry", done.json()


@pytest.fixture(scope="module")
def mqtt_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MqttSite]:
    if not HASS_BIN.is_file():
        message = f"{HASS_BIN} is missing: run `make e2e-env`"
        if os.environ.get("APS_E2E_REQUIRED") == "1":
            pytest.fail(message)
        pytest.skip(message)
    root = tmp_path_factory.mktemp("e2e_mqtt")
    stops: list[Any] = []
    try:
        broker = Mosquitto(root / "mosquitto")
        broker.start()
        stops.append(broker.stop)
        cloud = FakeCloud(site=daylight(ecu_models=(("DS3", "QS1"), ("DS3",)))).start()
        stops.append(cloud.stop)
        receiver = ChargeHQReceiver(CHARGEHQ_KEY).start()
        stops.append(receiver.stop)
        site = cloud.site
        hass = configured_home_assistant(root / "homeassistant", cloud, stub_analytics=not only_loopback())
        configuration = hass.config_dir / "configuration.yaml"
        config = yaml.safe_load(configuration.read_text(encoding="utf-8"))
        config["config"] = None  # the integrations and registries pages (config flows, registries)
        configuration.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        stops.append(hass.stop)
        hass.start()
        hass.onboard()
        setup_mqtt_integration(hass, broker.port)
        apps = example_apps(cloud, receiver)
        appdaemon = AppDaemonInstance(
            root / "appdaemon",
            apps=with_publish(apps, "set_state"),
            secrets=secrets_for(cloud, hass),
            latitude=site.latitude,
            longitude=site.longitude,
            time_zone=site.timezone,
            ha_url=hass.url,
            http_port=free_port(),
            mqtt_port=broker.port,
        )
        stops.append(appdaemon.stop)
        expected = Expected(
            sid=cloud.sid,
            app_classes=frozenset(str(args.get("class")) for args in apps.values()),
            inverters=_inverters(cloud),
        )
        yield MqttSite(cloud, hass, appdaemon, broker, expected, receiver)
    finally:
        for stop in reversed(stops):
            stop()


def wait_for_values(site: MqttSite, ids: list[str]) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        values = site.values(ids)
        missing = [e for e, v in values.items() if v in (None, "unknown", "unavailable")]
        return None if missing else values

    return wait_for("entity values", probe, timeout=TIMEOUT_S, interval=1.0, context=site.appdaemon.describe)


def test_switch_devices_registry_rename_restart_and_log(mqtt_site: MqttSite, tmp_path: Path) -> None:
    site = mqtt_site
    hass, expected = site.hass, site.expected
    ids = expected.apsystems_ids
    site.appdaemon.start()
    wait_for_values(site, ids)  # set_state entities, as an existing install has them
    assert not [e for e in ids if e in site.registry()]  # no unique id, no registry entry

    # switch the install to publish: mqtt
    site.appdaemon.stop()
    site.appdaemon.reconfigure(with_publish(example_apps(site.cloud, site.receiver), "mqtt"))
    site.appdaemon.start()
    sid = expected.sid.lower()
    buttons = [f"button.apsystems_{sid}_{name}" for name in ("scan_inverters", "refresh_inverters", "check")]
    ecus = sorted({f"sensor.apsystems_ecu_{i.ecu_id.lower()}_inverters" for i in expected.inverters})
    history = [f"sensor.apsystems_{sid}_history"] if "HistoryApp" in expected.app_classes else []
    wanted = [*expected.all_ids, *buttons, *ecus, *history]

    def registered() -> dict[str, dict[str, Any]] | None:
        registry = site.registry()
        return registry if all(e in registry for e in wanted) else None

    registry = wait_for(
        "MQTT entities in the entity registry",
        registered,
        timeout=TIMEOUT_S,
        interval=1.0,
        context=lambda: f"{sorted(site.registry())}\n{site.appdaemon.describe()}",
    )
    ours = {e: r for e, r in registry.items() if r["platform"] == "mqtt"}
    assert set(ours) == set(wanted)  # the same ids: no "_2"
    assert all(r["unique_id"] == e for e, r in ours.items())
    values = wait_for_values(site, expected.all_ids)

    # devices: system <- ECU <- inverter, each inverter with its model and serial number
    devices = site.devices()
    by_identifier = {tuple(i) for d in devices.values() for i in d["identifiers"]}
    assert ("mqtt", f"apsystems_{sid}") in by_identifier
    ident = {i[1]: d for d in devices.values() for i in d["identifiers"] if i[0] == "mqtt"}
    system = ident[f"apsystems_{sid}"]
    for inverter in expected.inverters:
        device = ident[f"apsystems_inverter_{inverter.uid.lower()}"]
        assert device["model"] == inverter.model and device["serial_number"] == inverter.uid
        ecu = devices[device["via_device_id"]]
        assert ecu["identifiers"] == [["mqtt", f"apsystems_ecu_{inverter.ecu_id.lower()}"]]
        assert ecu["via_device_id"] == system["id"]
        power = ours[f"sensor.apsystems_inverter_{inverter.uid.lower()}_power"]
        assert power["device_id"] == device["id"]
    assert all(ours[button]["device_id"] == system["id"] for button in buttons)
    if expected.has_chargehq:  # the forwarder is a device of its own
        forwarder = ident["chargehq_chargehq"]
        assert ours["sensor.chargehq_push_status"]["device_id"] == forwarder["id"]
    assert system["manufacturer"] == "APsystems" and system["model"].startswith("PV system ")

    # rename through the entity registry: the new id keeps receiving values
    api_calls = f"sensor.apsystems_{sid}_api_calls"
    hass.ws({"type": "config/entity_registry/update", "entity_id": api_calls, "new_entity_id": "sensor.my_api_calls"})
    before = int(values[api_calls])
    press = {"type": "call_service", "domain": "button", "service": "press", "target": {"entity_id": buttons[0]}}
    hass.ws(press)  # the scan button: one inverter-list call, counted by the renamed sensor
    wait_for(
        "the renamed sensor's next value",
        lambda: ((s := hass.state("sensor.my_api_calls")) is not None and int(s["state"]) > before) or None,
        timeout=TIMEOUT_S,
        interval=1.0,
        context=site.appdaemon.describe,
    )
    assert site.cloud.calls.count("inverters") >= 1

    # a Home Assistant restart: every value is back from the broker before AppDaemon publishes
    # anything new (AppDaemon is frozen while Home Assistant starts: it cannot answer HA's
    # "online" announcement), and no API call is spent
    ids_now = [("sensor.my_api_calls" if e == api_calls else e) for e in expected.all_ids]
    before_restart = wait_for_values(site, ids_now)
    calls = site.cloud.calls.total
    hass.stop()
    frozen_at = monotonic()
    with site.appdaemon.process.frozen():  # its broker connection stays; its will needs 90 s of silence
        hass.start()
        after_restart = wait_for_values(site, ids_now)
        print(f"Home Assistant restarted with AppDaemon frozen for {monotonic() - frozen_at:.1f} s")
    site.published_at = datetime.now().astimezone()
    assert site.cloud.calls.total == calls
    changed = {e: (before_restart[e], after_restart[e]) for e in ids_now if before_restart[e] != after_restart[e]}
    assert not {e for e in changed if "inverter" in e or "energy" in e}, changed

    # no MQTT discovery warning or deprecation for our configs in Home Assistant's log
    log = hass.log_text()
    our_lines = [line for line in log.splitlines() if "apsystems" in line or "chargehq" in line]
    bad = [line for line in our_lines if ("WARNING" in line or "ERROR" in line) and "mqtt" in line.lower()]
    assert not bad, "\n".join(bad[:20])
    assert "deprecated" not in " ".join(line for line in log.splitlines() if "apsystems" in line).lower()


@pytest.mark.timeout(600)
def test_energy_validation_accepts_the_mqtt_total_energy(mqtt_site: MqttSite) -> None:
    """The Energy dashboard's own check, once the recorder has compiled the MQTT sensor's statistics."""
    hass, site = mqtt_site.hass, mqtt_site
    if site.published_at is None:
        pytest.skip("the MQTT entities were not set up (the test before failed)")
    entity_id = f"{site.expected.prefix}_total_energy"
    assert hass.ws({"type": "config/entity_registry/get", "entity_id": entity_id})[0]["platform"] == "mqtt"
    validate_solar_source(hass, entity_id, site.published_at)


def test_appdaemon_down_shows_unavailable_and_back_shows_the_values(mqtt_site: MqttSite) -> None:
    """AppDaemon's MQTT plugin says ``offline`` on its status topic when it stops (its will, when it
    dies): every entity shows unavailable, and the values are back when AppDaemon is."""
    site = mqtt_site
    if site.published_at is None:
        pytest.skip("the MQTT entities were not set up (the test before failed)")
    states = site.hass.states()  # (the API-call sensor goes by the name the test before gave it)
    before = wait_for_values(site, [e for e in [*site.expected.all_ids, "sensor.my_api_calls"] if e in states])
    site.appdaemon.stop()
    wait_for(
        "every MQTT entity unavailable",
        lambda: all(v == "unavailable" for v in site.values(list(before)).values()) or None,
        timeout=TIMEOUT_S,
        interval=1.0,
        context=lambda: str(site.values(list(before))),
    )
    site.appdaemon.start()
    after = wait_for_values(site, list(before))
    assert {e for e in before if "energy" in e and float(after[e]) < float(before[e])} == set()
