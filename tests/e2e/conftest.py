"""Session fixtures of the end-to-end suite: the fakes, one Home Assistant, one AppDaemon.

Everything binds 127.0.0.1. The fake APsystems cloud and the Charge HQ receiver run in this
pytest process; Home Assistant 2026.11 (``.venv-ha``, Python 3.14) and AppDaemon (``.venv``) run as
child processes in their own process groups and are stopped by the fixtures' finalizers
(and, should those not run, by an ``atexit`` hook in ``tests/e2e/processes.py``).

``make test`` runs pytest in a private network namespace with only ``lo`` (``scripts/netns.py``).
Run by hand: ``.venv/bin/python -m scripts.netns -- .venv/bin/python -m pytest tests/e2e``.
Without ``.venv-ha`` (``make e2e-env``) the suite is skipped, unless ``APS_E2E_REQUIRED=1``
(set by ``make test``) makes that a failure.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from fakes.apsystems_cloud import DEFAULT_APP_ID, DEFAULT_APP_SECRET, FakeCloud
from fakes.apsystems_cloud.presets import daylight
from fakes.apsystems_cloud.site import model as inverter_model
from fakes.chargehq_receiver import ChargeHQReceiver
from scripts.ad_config import REPO
from scripts.netns import only_loopback
from tests.e2e.appdaemon_instance import AppDaemonInstance, example_apps
from tests.e2e.homeassistant import HomeAssistant
from tests.e2e.processes import wait_for

HA_VENV = REPO / ".venv-ha"
HASS_BIN = HA_VENV / "bin" / "hass"
CHARGEHQ_KEY = "00000000-e2e0-4000-8000-000000000000"
ENTITY_TIMEOUT_S = 90.0

SYSTEM_SUFFIXES = ("total_energy", "today_energy", "month_energy", "year_energy", "power", "api_calls")
INVERTER_CHANNEL_KINDS = ("dc_power", "dc_voltage", "dc_current")
INVERTER_KINDS = ("ac_voltage", "frequency", "temperature")


def free_port() -> int:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Inverter:
    uid: str
    model: str
    channels: int
    ecu_id: str


@dataclass
class Expected:
    """What a user should see in HA for the example's apps and the fake site."""

    sid: str
    app_classes: frozenset[str]
    inverters: list[Inverter] = field(default_factory=list)

    @property
    def prefix(self) -> str:
        return f"sensor.apsystems_{self.sid.lower()}"

    @property
    def system_ids(self) -> list[str]:
        return [f"{self.prefix}_{suffix}" for suffix in SYSTEM_SUFFIXES]

    @property
    def has_inverters_app(self) -> bool:
        return "InvertersApp" in self.app_classes

    @property
    def has_chargehq(self) -> bool:
        return "ChargeHQForwarder" in self.app_classes

    def inverter_ids(self) -> dict[str, Inverter]:
        """``entity_id -> inverter`` for every per-inverter sensor (empty without the inverters app)."""
        if not self.has_inverters_app:
            return {}
        ids: dict[str, Inverter] = {}
        for inverter in self.inverters:
            prefix = f"sensor.apsystems_inverter_{inverter.uid.lower()}"
            ids[f"{prefix}_power"] = inverter
            for kind in INVERTER_CHANNEL_KINDS:
                for channel in range(1, inverter.channels + 1):
                    ids[f"{prefix}_{kind}_ch{channel}"] = inverter
            for kind in INVERTER_KINDS:
                ids[f"{prefix}_{kind}"] = inverter
        return ids

    @property
    def apsystems_ids(self) -> list[str]:
        return self.system_ids + sorted(self.inverter_ids())

    @property
    def all_ids(self) -> list[str]:
        return self.apsystems_ids + (["sensor.chargehq_push_status"] if self.has_chargehq else [])


@dataclass
class Session:
    """The running parts, shared by the tests."""

    cloud: FakeCloud
    receiver: ChargeHQReceiver
    hass: HomeAssistant
    appdaemon: AppDaemonInstance
    expected: Expected
    root: Path
    netns: str
    entities_published_at: datetime
    """When HA last (re)gained the entities: session start, HA restart, entities deleted and re-published.
    HA compiles statistics only for sensors in its state machine at the five-minute mark."""
    make_appdaemon: Callable[..., AppDaemonInstance]

    def wait_for_entities(self, ids: list[str] | None = None, timeout: float = ENTITY_TIMEOUT_S) -> dict[str, Any]:
        """Wait until HA knows every entity (with a state other than unknown); their state objects."""
        wanted = ids if ids is not None else self.expected.all_ids

        def probe() -> dict[str, Any] | None:
            states = self.hass.states()
            missing = [e for e in wanted if e not in states or states[e]["state"] in ("unknown", "unavailable")]
            return None if missing else {e: states[e] for e in wanted}

        return wait_for(
            f"entities {', '.join(wanted)}",
            probe,
            timeout=timeout,
            interval=1.0,
            context=lambda: self._missing_context(wanted),
        )

    def _missing_context(self, wanted: list[str]) -> str:
        try:
            states = self.hass.states()
        except Exception as exc:  # HA itself is down: say so
            return f"HA does not answer: {exc}\n{self.hass.describe()}"
        missing = [e for e in wanted if e not in states]
        unknown = [e for e in wanted if e in states and states[e]["state"] in ("unknown", "unavailable")]
        return f"missing: {missing}\nunknown: {unknown}\n{self.appdaemon.describe()}"


def secrets_for(cloud: FakeCloud, hass: HomeAssistant, **overrides: str) -> dict[str, str]:
    """secrets.yaml for AppDaemon: the fake cloud's credentials and HA's token; ``overrides`` replace values."""
    secrets = {
        "aps_app_id": DEFAULT_APP_ID,
        "aps_app_secret": DEFAULT_APP_SECRET,
        "aps_sid": cloud.sid,
        "chargehq_api_key": CHARGEHQ_KEY,
        "ha_token": hass.token or "",
    }
    secrets.update(overrides)
    return secrets


def _inverters(cloud: FakeCloud) -> list[Inverter]:
    found = []
    for ecu in cloud.site.ecus:
        for inverter in ecu.inverters:
            found.append(Inverter(inverter.uid, inverter.model, inverter_model(inverter.model).channels, ecu.eid))
    return found


def configured_home_assistant(folder: Path, cloud: FakeCloud, *, stub_analytics: bool) -> HomeAssistant:
    """A Home Assistant at the fake site's place, its configuration written (not started)."""
    site = cloud.site
    hass = HomeAssistant(
        HASS_BIN,
        folder,
        free_port(),
        latitude=site.latitude,
        longitude=site.longitude,
        time_zone=site.timezone,
        stub_analytics=stub_analytics,
    )
    hass.write_config()
    return hass


@pytest.fixture(scope="session")
def e2e_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    if not HASS_BIN.is_file():
        message = f"{HASS_BIN} is missing: run `make e2e-env` (python3 -m scripts.ha_env) first"
        if os.environ.get("APS_E2E_REQUIRED") == "1":
            pytest.fail(message)
        pytest.skip(message)
    root = tmp_path_factory.mktemp("e2e")
    netns = "private" if only_loopback() else "none"
    started: list[Callable[[], object]] = []
    try:
        cloud = FakeCloud(site=daylight()).start()
        started.append(cloud.stop)
        receiver = ChargeHQReceiver(CHARGEHQ_KEY).start()
        started.append(receiver.stop)
        site = cloud.site
        hass = configured_home_assistant(root / "homeassistant", cloud, stub_analytics=netns != "private")
        started.append(hass.stop)
        hass.start()
        hass.onboard()

        def make_appdaemon(
            name: str, apps: dict[str, dict[str, Any]] | None = None, **secrets: str
        ) -> AppDaemonInstance:
            instance = AppDaemonInstance(
                root / name,
                apps=apps if apps is not None else example_apps(cloud, receiver),
                secrets=secrets_for(cloud, hass, **secrets),
                latitude=site.latitude,
                longitude=site.longitude,
                time_zone=site.timezone,
                ha_url=hass.url,
                http_port=free_port(),
            )
            started.append(instance.stop)
            return instance

        apps = example_apps(cloud, receiver)
        expected = Expected(
            sid=cloud.sid,
            app_classes=frozenset(str(args.get("class")) for args in apps.values()),
            inverters=_inverters(cloud),
        )
        main = make_appdaemon("appdaemon", apps)
        session = Session(
            cloud=cloud,
            receiver=receiver,
            hass=hass,
            appdaemon=main,
            expected=expected,
            root=root,
            netns=netns,
            entities_published_at=datetime.now().astimezone(),
            make_appdaemon=make_appdaemon,
        )
        main.start()
        session.wait_for_entities(expected.apsystems_ids)
        session.entities_published_at = datetime.now().astimezone()
        yield session
    finally:
        failures: list[BaseException] = []
        for stop in reversed(started):  # AppDaemon instances, HA, the receiver, the cloud
            try:
                stop()
            except Exception as exc:  # stop the others anyway, then report it
                failures.append(exc)
        if failures:
            raise failures[0]


@pytest.fixture
def session(e2e_session: Session) -> Session:
    return e2e_session
