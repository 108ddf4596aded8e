"""A real Home Assistant 2026.11 for the end-to-end suite: configuration, start/stop, onboarding, APIs.

Facts this relies on are in ``shared/reference/ha-e2e-notes.md``:

* A minimal ``configuration.yaml`` (no ``default_config``: it would pull in cloud, zeroconf,
  bluetooth and more), the recorder committing every second.
* HTTP on 127.0.0.1 only, written to ``.storage/http`` (2026.11 no longer trusts ``http:`` in
  the YAML: it would make it a pending trial that reverts to 0.0.0.0:8123 unless confirmed in
  the UI within 5 minutes). The stored entry is built by the installed release's own schema.
* Started as ``.venv-ha/bin/hass -c <dir> --skip-pip``; ``scripts/ha_env.py`` installed the
  packages it would otherwise install at its first start.
* Headless onboarding: ``POST /api/onboarding/users`` -> auth code -> ``POST /auth/token``,
  then the ``analytics`` and ``integration`` steps, then websocket ``auth/long_lived_access_token``.
  ``/api/onboarding/core_config`` is never posted (it adds integrations that reach the
  internet): ``.storage/onboarding`` has that step done before the first start.
* Persistent notifications are read over the websocket (``persistent_notification/get``).

mDNS: Home Assistant's analytics integration creates the shared HTTP client, whose mDNS
resolver opens UDP 5353 on every real interface. The suite normally runs in a network
namespace with only ``lo`` (``scripts/netns.py``), where that fails harmlessly ("No such
device"). Where no namespace could be made, ``stub_analytics=True`` shadows the built-in
analytics integration with an empty custom integration of the same name, so that nothing
creates the resolver; the suite's loopback check holds either way.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import subprocess
from pathlib import Path
from typing import Any

import aiohttp
import requests
import yaml

from tests.e2e.processes import ManagedProcess, wait_for

USERNAME = "e2e"
PASSWORD = "e2e-password-not-secret"  # a throwaway account of a throwaway instance
HTTP_TIMEOUT = 10


class HomeAssistantError(AssertionError):
    """Home Assistant answered a websocket command with an error."""


class HomeAssistant:
    """One Home Assistant instance on 127.0.0.1:``port`` with its configuration in ``config_dir``."""

    def __init__(
        self,
        hass_bin: Path,
        config_dir: Path,
        port: int,
        *,
        latitude: float,
        longitude: float,
        time_zone: str,
        stub_analytics: bool = False,
    ) -> None:
        self.hass_bin = hass_bin
        self.config_dir = config_dir
        self.port = port
        self.latitude = latitude
        self.longitude = longitude
        self.time_zone = time_zone
        self.stub_analytics = stub_analytics
        self.process = ManagedProcess(
            "homeassistant",
            [str(hass_bin), "-c", str(config_dir), "--skip-pip", "--log-no-color"],
            config_dir / "hass-output.log",
        )
        self.token: str | None = None

    # ---- configuration and lifecycle ------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api/websocket"

    def write_config(self) -> None:
        self.config_dir.mkdir(parents=True, exist_ok=True)
        config: dict[str, Any] = {
            "homeassistant": {
                "name": "APsystems end-to-end",
                "latitude": self.latitude,
                "longitude": self.longitude,
                "elevation": 0,
                "unit_system": "metric",
                "time_zone": self.time_zone,
                "currency": "EUR",
                "country": "DE",
            },
            "api": None,
            "websocket_api": None,
            "recorder": {"commit_interval": 1},
            "history": None,
            "energy": None,
            "sensor": None,
            "logger": {"default": "info"},
        }
        (self.config_dir / "configuration.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        storage = self.config_dir / ".storage"
        storage.mkdir(exist_ok=True)
        (storage / "http").write_text(json.dumps(self.http_storage()), encoding="utf-8")
        # Onboarding's core_config step, posted, would add integrations that reach the internet
        # (met, radio_browser, google_translate, shopping_list): it is stored as done instead.
        onboarding = {"version": 4, "minor_version": 1, "key": "onboarding", "data": {"done": ["core_config"]}}
        (storage / "onboarding").write_text(json.dumps(onboarding), encoding="utf-8")
        if self.stub_analytics:
            stub = self.config_dir / "custom_components" / "analytics"
            stub.mkdir(parents=True, exist_ok=True)
            manifest = {
                "domain": "analytics",
                "name": "Analytics (disabled by the end-to-end suite)",
                "version": "0.0.0",
                "codeowners": [],
                "dependencies": [],
                "documentation": "https://www.home-assistant.io/integrations/analytics/",
                "integration_type": "system",
                "iot_class": "local_push",
            }
            (stub / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
            (stub / "__init__.py").write_text(
                '"""Shadows the built-in analytics so that no mDNS resolver opens UDP 5353 on real interfaces."""\n\n\n'
                "async def async_setup(hass, config):\n    return True\n",
                encoding="utf-8",
            )

    def http_storage(self) -> dict[str, Any]:
        """``.storage/http``: a confirmed (``stable``) config on 127.0.0.1:port, no pending trial.

        The entry is filled in by the release's own ``HTTP_STORAGE_SCHEMA`` (run with its
        interpreter), so every default it stores (SSL profile, CORS, ...) is what it expects.
        """
        script = (
            "import json, sys\n"
            "from homeassistant.components.http import config as c\n"
            "from homeassistant.util import dt\n"
            "stable = dict(c.HTTP_STORAGE_SCHEMA({'server_host': ['127.0.0.1'], 'server_port': int(sys.argv[1])}))\n"
            "stable['ssl_profile'] = str(getattr(stable['ssl_profile'], 'value', stable['ssl_profile']))\n"
            "stable.update(created_at=dt.utcnow().isoformat(), error=None, error_message=None)\n"
            "print(json.dumps({'version': c.STORAGE_VERSION, 'minor_version': c.STORAGE_MINOR_VERSION,"
            " 'key': c.STORAGE_KEY, 'data': {'stable': stable, 'pending': None, 'yaml_migration_done': True}}))\n"
        )
        python = self.hass_bin.with_name("python")
        result = subprocess.run(  # our HA venv's interpreter, fixed script
            [str(python), "-c", script, str(self.port)], capture_output=True, text=True, timeout=120, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"cannot build .storage/http with {python}: {result.stderr.strip()[-2000:]}")
        document: dict[str, Any] = json.loads(result.stdout)
        return document

    def start(self, timeout: float = 120.0) -> None:
        self.process.start()
        wait_for(
            "Home Assistant to answer HTTP",
            self._answers,
            timeout=timeout,
            interval=0.25,
            context=self.describe,
        )

    def stop(self) -> int | None:
        return self.process.stop(timeout=30)

    def restart(self) -> None:
        self.stop()
        self.start()

    def describe(self) -> str:
        running = "running" if self.process.running else f"exited with {self.process.returncode}"
        return f"Home Assistant ({running}), last output:\n{self.process.log_tail()}"

    def _answers(self) -> bool:
        if not self.process.running:
            raise AssertionError(f"Home Assistant exited.\n{self.describe()}")
        # /auth/providers needs no token, so polling it logs no authentication warnings. Before
        # onboarding it answers 400 "onboarding_required", after it 200: either means HA is up.
        return requests.get(f"{self.url}/auth/providers", timeout=2).status_code in (200, 400)

    # ---- onboarding and the token ---------------------------------------------------------

    def onboard(self) -> str:
        """Create the owner account headlessly and return a long-lived access token."""
        client_id = f"{self.url}/"
        response = requests.post(
            f"{self.url}/api/onboarding/users",
            json={
                "client_id": client_id,
                "name": "End-to-end",
                "username": USERNAME,
                "password": PASSWORD,
                "language": "en",
            },
            timeout=HTTP_TIMEOUT,
        )
        response.raise_for_status()
        auth_code = response.json()["auth_code"]
        response = requests.post(
            f"{self.url}/auth/token",
            data={"grant_type": "authorization_code", "code": auth_code, "client_id": client_id},
            timeout=HTTP_TIMEOUT,
        )
        response.raise_for_status()
        access_token = str(response.json()["access_token"])
        # The remaining steps, as the onboarding pages would post them, so that a browser that
        # logs in lands on the dashboards and not on the onboarding wizard.
        bearer = {"Authorization": f"Bearer {access_token}"}
        requests.post(f"{self.url}/api/onboarding/analytics", headers=bearer, timeout=HTTP_TIMEOUT).raise_for_status()
        requests.post(
            f"{self.url}/api/onboarding/integration",
            headers=bearer,
            json={"client_id": client_id, "redirect_uri": f"{client_id}?auth_callback=1"},
            timeout=HTTP_TIMEOUT,
        ).raise_for_status()
        token = self.ws(
            {"type": "auth/long_lived_access_token", "client_name": "apsystems-e2e", "lifespan": 30},
            token=access_token,
        )[0]
        self.token = str(token)
        return self.token

    # ---- REST --------------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        if self.token is None:
            raise RuntimeError("Home Assistant is not onboarded yet")
        return {"Authorization": f"Bearer {self.token}"}

    def state(self, entity_id: str) -> dict[str, Any] | None:
        """``GET /api/states/<entity_id>``: the state object, or None when HA does not know it."""
        response = requests.get(f"{self.url}/api/states/{entity_id}", headers=self._headers(), timeout=HTTP_TIMEOUT)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def states(self) -> dict[str, dict[str, Any]]:
        response = requests.get(f"{self.url}/api/states", headers=self._headers(), timeout=HTTP_TIMEOUT)
        response.raise_for_status()
        return {item["entity_id"]: item for item in response.json()}

    def delete_state(self, entity_id: str) -> None:
        response = requests.delete(f"{self.url}/api/states/{entity_id}", headers=self._headers(), timeout=HTTP_TIMEOUT)
        if response.status_code not in (200, 404):
            response.raise_for_status()

    # ---- websocket ---------------------------------------------------------------------------

    def ws(self, *commands: dict[str, Any], token: str | None = None, timeout: float = 30.0) -> list[Any]:
        """Send ``commands`` on one authenticated websocket connection; their results, in order.

        Where this thread already runs an event loop (Playwright's sync API does), the exchange
        runs on a loop of its own in a worker thread.
        """
        coroutine = self._ws(list(commands), token or self._headers()["Authorization"][7:], timeout)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(coroutine)
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as worker:
            return worker.submit(asyncio.run, coroutine).result()

    async def _ws(self, commands: list[dict[str, Any]], token: str, timeout: float) -> list[Any]:
        results: list[Any] = []
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(self.ws_url, timeout=aiohttp.ClientWSTimeout(ws_close=timeout)) as socket,
        ):
            hello = await socket.receive_json(timeout=timeout)
            if hello.get("type") != "auth_required":
                raise HomeAssistantError(f"unexpected websocket greeting {hello}")
            await socket.send_json({"type": "auth", "access_token": token})
            answer = await socket.receive_json(timeout=timeout)
            if answer.get("type") != "auth_ok":
                raise HomeAssistantError(f"websocket authentication failed: {answer}")
            for number, command in enumerate(commands, start=1):
                await socket.send_json({"id": number, **command})
                while True:
                    message = await socket.receive_json(timeout=timeout)
                    if message.get("id") == number and message.get("type") == "result":
                        break
                if not message.get("success"):
                    raise HomeAssistantError(f"{command['type']} failed: {message.get('error')}")
                results.append(message.get("result"))
        return results

    def notifications(self) -> dict[str, dict[str, Any]]:
        """The persistent notifications, by ``notification_id``."""
        listed = self.ws({"type": "persistent_notification/get"})[0]
        return {str(item["notification_id"]): item for item in listed}

    def wait_for_notification(self, notification_id: str, timeout: float, *, present: bool = True) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            found = self.notifications().get(notification_id)
            if present:
                return found
            return {"gone": notification_id} if found is None else None

        return wait_for(
            f"notification {notification_id} to {'appear' if present else 'go away'}",
            probe,
            timeout=timeout,
            interval=0.5,
        )

    def dismiss(self, *notification_ids: str) -> None:
        """Dismiss notifications (as the user's "dismiss" button does); unknown ids are fine."""
        for notification_id in notification_ids:
            self.ws(
                {
                    "type": "call_service",
                    "domain": "persistent_notification",
                    "service": "dismiss",
                    "service_data": {"notification_id": notification_id},
                }
            )

    def save_dashboard(self, url_path: str, title: str, config: dict[str, Any]) -> None:
        """Create (once) a storage-mode dashboard at ``/<url_path>`` and save ``config`` as its content."""
        listed = self.ws({"type": "lovelace/dashboards/list"})[0]
        if not any(item.get("url_path") == url_path for item in listed):
            self.ws(
                {
                    "type": "lovelace/dashboards/create",
                    "url_path": url_path,
                    "title": title,
                    "icon": "mdi:solar-power",
                    "show_in_sidebar": True,
                    "require_admin": False,
                    "mode": "storage",
                }
            )
        self.ws({"type": "lovelace/config/save", "url_path": url_path, "config": config})

    def dashboard(self, url_path: str) -> dict[str, Any]:
        """The stored content of a storage-mode dashboard, as the frontend loads it."""
        config: dict[str, Any] = self.ws({"type": "lovelace/config", "url_path": url_path, "force": True})[0]
        return config

    def log_text(self) -> str:
        path = self.config_dir / "home-assistant.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
