"""Installed the way users install: the release zip in a fresh AppDaemon add-on folder.

The AppDaemon add-on writes its own ``appdaemon.yaml`` on its first start (Amsterdam's
location and time zone, the Supervisor's token, no ``ha_url``); ``appdaemon.yaml.example`` is
that file. The test unpacks ``make dist``'s zip into a folder laid out like that, adds only
the HASS plugin's connection (this test's Home Assistant stands in for the Supervisor),
builds ``apps.yaml`` from the zip's own example plus secrets, and runs it against a Home
Assistant located in Sydney: every app starts, the solar window is Sydney's, the location
warning appears once, no edit of ``appdaemon.yaml`` was needed, and ``apsystems_check``
answers with a notification.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from scripts.ad_config import dump_apps, load_example_apps
from scripts.dist import build
from tests.e2e.appdaemon_instance import APPDAEMON_BIN
from tests.e2e.conftest import HASS_BIN, Session, free_port, secrets_for
from tests.e2e.homeassistant import HomeAssistant
from tests.e2e.processes import ManagedProcess, wait_for

pytestmark = pytest.mark.e2e

SYDNEY_LATITUDE, SYDNEY_LONGITUDE = -33.8688, 151.2093
TOKEN_LINE = "      token: !env_var SUPERVISOR_TOKEN\n"


def addon_folder(root: Path, session: Session, ha_url: str, ha_token: str) -> Path:
    """The add-on's /config after its first start, with the release unpacked into apps/."""
    archive, _, _ = build(root / "dist")
    config = root / "addon_config"
    with zipfile.ZipFile(archive) as bundle:
        bundle.extractall(root / "release")
    (config / "apps").mkdir(parents=True)
    for package in ("apsystems", "chargehq"):
        (root / "release" / "apps" / package).rename(config / "apps" / package)
    default = (Path(__file__).resolve().parents[2] / "appdaemon.yaml.example").read_text(encoding="utf-8")
    assert TOKEN_LINE in default
    # The only change: where the Supervisor would connect AppDaemon, this test's HA is.
    (config / "appdaemon.yaml").write_text(
        default.replace(TOKEN_LINE, f"      ha_url: {ha_url}\n{TOKEN_LINE}"), encoding="utf-8"
    )
    apps = load_example_apps(root / "release" / "apps" / "apps.yaml.example")
    for args in apps.values():  # the fakes stand in for APsystems and Charge HQ
        if "base_url" in args:
            args["base_url"] = session.cloud.url
        if "endpoint" in args:
            args["endpoint"] = session.receiver.endpoint
    (config / "apps" / "apps.yaml").write_text(dump_apps(apps), encoding="utf-8")
    secrets = secrets_for(session.cloud, session.hass)
    secrets.pop("ha_token")
    (config / "secrets.yaml").write_text(yaml.safe_dump(secrets), encoding="utf-8")
    return config


def test_release_zip_on_the_addon_defaults_uses_home_assistants_location(session: Session) -> None:
    root = session.root / "addon_install"
    hass = HomeAssistant(
        HASS_BIN,
        root / "homeassistant",
        free_port(),
        latitude=SYDNEY_LATITUDE,
        longitude=SYDNEY_LONGITUDE,
        time_zone="Australia/Sydney",
    )
    hass.write_config()
    hass.start()
    appdaemon: ManagedProcess | None = None
    try:
        token = hass.onboard()
        config = addon_folder(root, session, hass.url, token)
        before = (config / "appdaemon.yaml").read_bytes()
        env = {**os.environ, "SUPERVISOR_TOKEN": token}
        appdaemon = ManagedProcess("appdaemon:addon", [str(APPDAEMON_BIN), "-c", str(config)], root / "ad.log", env=env)
        appdaemon.start()
        sid = session.cloud.sid.lower()
        log = root / "ad.log"

        def log_text() -> str:
            return log.read_text(encoding="utf-8", errors="replace")

        apps = load_example_apps(config / "apps" / "apps.yaml")
        wait_for(
            "every app initialised and the budget's sensor in Home Assistant",
            # api_calls, not the energy sensors: those wait for Sydney's daylight, whatever time CI runs.
            lambda: (
                all(f"Calling initialize() for {name}" in log_text() for name in apps)
                and hass.state(f"sensor.apsystems_{sid}_api_calls") is not None
            ),
            timeout=120,
            context=lambda: log_text()[-4000:],
        )
        text = log_text()
        assert "Solar window at -33.8688, 151.209 (Australia/Sydney), from Home Assistant" in text
        assert text.count("the APsystems apps use Home Assistant's values") == 1
        assert "Europe/Amsterdam (Home Assistant: Australia/Sydney)" in text
        for name in apps:
            assert f"Calling initialize() for {name}" in text
        assert "Configuration error" not in text and "Traceback" not in text, text[-4000:]
        assert "Created the persistent user namespace 'apsystems'" in text
        assert (config / "appdaemon.yaml").read_bytes() == before  # nothing edited
        calls = hass.state(f"sensor.apsystems_{sid}_api_calls")
        assert calls is not None and calls["attributes"]["version"]

        # The credential check, as a user would fire it from Developer tools > Events.
        requests.post(
            f"{hass.url}/api/events/apsystems_check",
            headers={"Authorization": f"Bearer {token}"},
            json={"sid": session.cloud.sid},
            timeout=10,
        ).raise_for_status()
        notice: dict[str, Any] = hass.wait_for_notification("apsystems_check", timeout=60)
        assert "credentials work" in notice["title"]
        assert "Energy: lifetime" in notice["message"] and "Inverters:" in notice["message"]
    finally:
        if appdaemon is not None:
            appdaemon.stop(timeout=20)
        hass.stop()
