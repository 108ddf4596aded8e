"""Generate a runnable AppDaemon configuration from the repository's example files.

The demo and the end-to-end suite run the very ``apps/apps.yaml.example`` users copy, with
only URLs and locations changed, so the example cannot drift from what is tested.
``!secret`` references stay references; the values go into a generated secrets.yaml.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
APPS_EXAMPLE = REPO / "apps" / "apps.yaml.example"
APP_PACKAGES = ("apsystems", "chargehq")


@dataclass(frozen=True)
class Secret:
    """A ``!secret name`` reference, kept as such when the YAML is written back."""

    name: str


class _Loader(yaml.SafeLoader):
    pass


class _Dumper(yaml.SafeDumper):
    pass


def _secret(loader: yaml.SafeLoader, node: yaml.Node) -> Secret:
    return Secret(str(loader.construct_scalar(node)))  # type: ignore[arg-type]


def _represent_secret(dumper: yaml.SafeDumper, secret: Secret) -> yaml.Node:
    return dumper.represent_scalar("!secret", secret.name)


_Loader.add_constructor("!secret", _secret)
_Dumper.add_representer(Secret, _represent_secret)


def load_example_apps(path: Path = APPS_EXAMPLE) -> dict[str, dict[str, Any]]:
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    return dict(data or {})


def dump_apps(apps: dict[str, dict[str, Any]]) -> str:
    return yaml.dump(apps, Dumper=_Dumper, sort_keys=False, default_flow_style=False)


def appdaemon_yaml(
    *,
    latitude: float,
    longitude: float,
    time_zone: str,
    http_port: int | None,
    log_dir: Path,
    ha_url: str | None = None,
    mqtt_port: int | None = None,
) -> str:
    """A plugin-less (or HA-connected) appdaemon.yaml with the persistent user namespace;
    with ``mqtt_port`` also the MQTT plugin of ``appdaemon.yaml.example`` on a broker at 127.0.0.1."""
    config: dict[str, Any] = {
        "appdaemon": {
            "latitude": latitude,
            "longitude": longitude,
            "elevation": 0,
            "time_zone": time_zone,
            "namespaces": {"apsystems": {"writeback": "safe", "persistent": True}},
        },
        "logs": {
            "main_log": {"filename": str(log_dir / "appdaemon.log")},
            "error_log": {"filename": str(log_dir / "error.log")},
        },
    }
    if ha_url is not None:
        config["appdaemon"]["plugins"] = {"HASS": {"type": "hass", "ha_url": ha_url, "token": Secret("ha_token")}}
    if mqtt_port is not None:
        config["appdaemon"].setdefault("plugins", {})["MQTT"] = {
            "type": "mqtt",
            "namespace": "mqtt",
            "client_host": "127.0.0.1",
            "client_port": mqtt_port,
            "client_topics": "NONE",
        }
    if http_port is not None:
        config["http"] = {"url": f"http://127.0.0.1:{http_port}"}
        config["api"] = {}
    return yaml.dump(config, Dumper=_Dumper, sort_keys=False)


def write_config(
    target: Path,
    *,
    apps: dict[str, dict[str, Any]],
    secrets: dict[str, str],
    latitude: float,
    longitude: float,
    time_zone: str,
    http_port: int | None = None,
    ha_url: str | None = None,
    mqtt_port: int | None = None,
) -> Path:
    """Write appdaemon.yaml, secrets.yaml and apps/ (packages copied) into ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    (target / "appdaemon.yaml").write_text(
        appdaemon_yaml(
            latitude=latitude,
            longitude=longitude,
            time_zone=time_zone,
            http_port=http_port,
            log_dir=target,
            ha_url=ha_url,
            mqtt_port=mqtt_port,
        ),
        encoding="utf-8",
    )
    (target / "secrets.yaml").write_text(yaml.safe_dump(secrets), encoding="utf-8")
    app_dir = target / "apps"
    app_dir.mkdir(exist_ok=True)
    for package in APP_PACKAGES:
        shutil.rmtree(app_dir / package, ignore_errors=True)
        shutil.copytree(
            REPO / "apps" / package, app_dir / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    (app_dir / "apps.yaml").write_text(dump_apps(apps), encoding="utf-8")
    return target
