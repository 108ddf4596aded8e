"""AppDaemon 4.5.13 as a process, configured from the repository's example files.

The configuration comes from ``scripts.ad_config.write_config``: ``appdaemon.yaml`` with the
HASS plugin pointed at the suite's Home Assistant (token via ``!secret ha_token``), the
site's location and time zone, a ``secrets.yaml`` with the fake cloud's credentials, and
``apps/apps.yaml`` from ``apps/apps.yaml.example`` with only the URLs changed. The apps keep
their state where a user's would: ``apsystems_state/`` under the configuration folder.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from fakes.apsystems_cloud import FakeCloud
from fakes.chargehq_receiver import ChargeHQReceiver
from scripts.ad_config import load_example_apps, write_config
from tests.e2e.processes import ManagedProcess

APPDAEMON_BIN = Path(sys.executable).with_name("appdaemon")
STATE_FOLDER = "apsystems_state"


def example_apps(
    cloud: FakeCloud, receiver: ChargeHQReceiver, *, classes: frozenset[str] | None = None
) -> dict[str, dict[str, Any]]:
    """``apps/apps.yaml.example`` pointed at the fakes; ``classes`` keeps only the apps of those classes."""
    apps = load_example_apps()
    for args in apps.values():
        if "base_url" in args:
            args["base_url"] = cloud.url
        if "endpoint" in args:
            args["endpoint"] = receiver.endpoint
    if classes is not None:
        apps = {name: args for name, args in apps.items() if args.get("class") in classes}
    return apps


class AppDaemonInstance:
    """One AppDaemon with its own configuration folder (and so its own app state)."""

    def __init__(
        self,
        config_dir: Path,
        *,
        apps: dict[str, dict[str, Any]],
        secrets: dict[str, str],
        latitude: float,
        longitude: float,
        time_zone: str,
        ha_url: str,
        http_port: int,
        mqtt_port: int | None = None,
    ) -> None:
        self.config_dir = config_dir
        self.apps = apps
        self.secrets = secrets
        self.http_port = http_port
        self._config: dict[str, Any] = {
            "latitude": latitude,
            "longitude": longitude,
            "time_zone": time_zone,
            "ha_url": ha_url,
            "mqtt_port": mqtt_port,
        }
        write_config(
            config_dir,
            apps=apps,
            secrets=secrets,
            latitude=latitude,
            longitude=longitude,
            time_zone=time_zone,
            http_port=http_port,
            ha_url=ha_url,
            mqtt_port=mqtt_port,
        )
        self.process = ManagedProcess(
            f"appdaemon:{config_dir.name}",
            [str(APPDAEMON_BIN), "-c", str(config_dir)],
            config_dir / "appdaemon-output.log",
        )

    def reconfigure(self, apps: dict[str, dict[str, Any]]) -> None:
        """Write ``apps`` as apps.yaml (the rest unchanged); takes effect at the next start."""
        self.apps = apps
        write_config(self.config_dir, apps=apps, secrets=self.secrets, http_port=self.http_port, **self._config)

    @property
    def state_dir(self) -> Path:
        return self.config_dir / STATE_FOLDER

    def start(self) -> None:
        self.process.start()

    def stop(self) -> int | None:
        return self.process.stop(timeout=20)

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_text(self) -> str:
        parts = []
        for name in ("appdaemon.log", "error.log"):
            path = self.config_dir / name
            if path.is_file():
                parts.append(path.read_text(encoding="utf-8", errors="replace"))
        return "\n".join(parts)

    def describe(self, lines: int = 60) -> str:
        running = "running" if self.process.running else f"exited with {self.process.returncode}"
        text = self.log_text().splitlines()[-lines:]
        return (
            f"AppDaemon {self.config_dir.name} ({running}); output:\n{self.process.log_tail(20)}\n"
            f"log:\n" + "\n".join(text)
        )
