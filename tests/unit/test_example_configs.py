"""The example configuration files load and validate with AppDaemon 4.5.13's own loader and models.

``appdaemon.yaml.example`` goes through ``appdaemon.utils.read_config_file`` (``!secret`` from a
test ``secrets.yaml``) and ``MainConfig``, as ``appdaemon.__main__`` does; ``apps/apps.yaml.example``
through the same reader and ``AllAppConfig.model_validate`` (not ``from_config_files``, which
drops invalid entries silently), and every app's module must import and define its class.
"""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from appdaemon import utils as ad_utils
from appdaemon.adapi import ADAPI
from appdaemon.models.config import AllAppConfig, AppConfig, GlobalModule, MainConfig
from appdaemon.models.config.plugin import HASSConfig, MQTTConfig
from pydantic import ValidationError

REPO_ROOT = Path(__file__).resolve().parents[2]
APPDAEMON_EXAMPLE = REPO_ROOT / "appdaemon.yaml.example"
APPS_EXAMPLE = REPO_ROOT / "apps" / "apps.yaml.example"

# Dummy values for every !secret either example uses (test_every_secret_used_has_a_test_value).
TEST_SECRETS: dict[str, str] = {
    "ha_token": "test-long-lived-token",
    "aps_app_id": "test-app-id",
    "aps_app_secret": "test-app-secret",
    "aps_sid": "TESTSID0001",
    "chargehq_api_key": "test-chargehq-key",
    "appdaemon_http_password": "test-http-password-long-and-random",
    "mqtt_user": "test-mqtt-user",
    "mqtt_password": "test-mqtt-password",
}


TEST_SUPERVISOR_TOKEN = "test-supervisor-token"


def secret_names(path: Path) -> set[str]:
    """Names used with ``!secret`` in a YAML file (tags only: comments do not count)."""
    found: set[str] = set()

    class Collector(yaml.SafeLoader):
        pass

    def tagged(loader: yaml.SafeLoader, node: yaml.Node) -> str:
        assert isinstance(node, yaml.ScalarNode), f"{path}: {node.tag} needs a plain name"
        value = str(loader.construct_scalar(node))
        if node.tag == "!secret":
            found.add(value)
        return value

    for tag in ("!secret", "!env_var", "!include"):
        Collector.add_constructor(tag, tagged)
    yaml.load(path.read_text(encoding="utf-8"), Loader=Collector)  # noqa: S506 - a SafeLoader subclass
    return found


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An AppDaemon config dir holding the examples as real file names and a test secrets.yaml."""
    monkeypatch.setenv("SUPERVISOR_TOKEN", TEST_SUPERVISOR_TOKEN)  # what the add-on's environment has
    # AppDaemon keeps the last secrets it loaded in a module global; restore it afterwards.
    monkeypatch.setattr(ad_utils, "secrets", None)
    (tmp_path / "secrets.yaml").write_text(yaml.safe_dump(TEST_SECRETS), encoding="utf-8")
    shutil.copyfile(APPDAEMON_EXAMPLE, tmp_path / "appdaemon.yaml")
    (tmp_path / "apps").mkdir()
    if APPS_EXAMPLE.exists():
        shutil.copyfile(APPS_EXAMPLE, tmp_path / "apps" / "apps.yaml")
    return tmp_path


def read_appdaemon_yaml(config_dir: Path) -> dict[str, Any]:
    """The raw config as ``appdaemon.__main__.parse_config`` builds it before validation."""
    config_file = config_dir / "appdaemon.yaml"
    raw: dict[str, Any] = ad_utils.read_config_file(config_file)
    raw["appdaemon"]["config_dir"] = config_dir
    raw["appdaemon"]["config_file"] = config_file
    return raw


def test_both_example_files_exist() -> None:
    assert APPDAEMON_EXAMPLE.is_file(), "appdaemon.yaml.example is missing"
    assert APPS_EXAMPLE.is_file(), "apps/apps.yaml.example is missing"


@pytest.mark.parametrize("example", [APPDAEMON_EXAMPLE, APPS_EXAMPLE], ids=lambda p: p.name)
def test_every_secret_used_has_a_test_value(example: Path) -> None:
    missing = secret_names(example) - set(TEST_SECRETS)

    assert not missing, f"{example.name} uses !secret names with no test value: {sorted(missing)}"


def test_appdaemon_example_needs_no_secret_inside_the_add_on() -> None:
    """The add-on's own default: the Supervisor's token from the environment, no ha_token secret."""
    assert secret_names(APPDAEMON_EXAMPLE) == set()
    text = APPDAEMON_EXAMPLE.read_text(encoding="utf-8")
    assert "token: !env_var SUPERVISOR_TOKEN" in text
    assert "#   token: !secret ha_token" in text  # shown, commented, for installs outside the add-on


def test_appdaemon_example_validates_with_appdaemons_models(config_dir: Path) -> None:
    model = MainConfig.model_validate(read_appdaemon_yaml(config_dir))

    ad_config = model.appdaemon
    assert isinstance(ad_config.elevation, int)
    assert ad_config.time_zone.zone == "Europe/Amsterdam"  # the add-on's default; the apps use HA's
    assert ad_config.app_dir == config_dir / "apps"
    hass = ad_config.plugins["HASS"]
    assert isinstance(hass, HASSConfig)
    assert hass.token.get_secret_value() == TEST_SUPERVISOR_TOKEN
    assert not ad_config.namespaces  # the apps create their namespace at run time
    assert model.logs.root["main_log"].filename == "STDOUT"
    assert model.http is None and model.admin is None and model.api is None  # off unless a password is set


def test_the_commented_web_server_has_a_password_and_validates(config_dir: Path) -> None:
    """The admin UI and REST API show every app's args, secrets resolved: never without a password."""
    lines = (config_dir / "appdaemon.yaml").read_text(encoding="utf-8").splitlines()
    start = lines.index("# --- web server (enable only with the password) ---")
    end = lines.index("# --- end of web server ---")
    enabled = lines[: start + 1] + [line.removeprefix("# ") for line in lines[start + 1 : end]] + lines[end:]
    (config_dir / "appdaemon.yaml").write_text("\n".join(enabled) + "\n", encoding="utf-8")
    model = MainConfig.model_validate(read_appdaemon_yaml(config_dir))
    assert model.admin is not None and model.api is not None
    assert model.http is not None and model.http.password is not None
    assert model.http.password.get_secret_value() == TEST_SECRETS["appdaemon_http_password"]


def test_the_commented_mqtt_plugin_validates_with_secrets(config_dir: Path) -> None:
    """``publish: mqtt`` needs the plugin; the example's block is valid once uncommented."""
    lines = (config_dir / "appdaemon.yaml").read_text(encoding="utf-8").splitlines()
    start = lines.index("    # --- MQTT (only for publish: mqtt) ---")
    end = lines.index("    # --- end of MQTT ---")
    enabled = lines[: start + 1] + [line.replace("# ", "", 1) for line in lines[start + 1 : end]] + lines[end:]
    (config_dir / "appdaemon.yaml").write_text("\n".join(enabled) + "\n", encoding="utf-8")
    model = MainConfig.model_validate(read_appdaemon_yaml(config_dir))
    mqtt = model.appdaemon.plugins["MQTT"]
    assert isinstance(mqtt, MQTTConfig)
    assert mqtt.namespace == "mqtt" and mqtt.client_topics == []
    assert mqtt.client_user == TEST_SECRETS["mqtt_user"]
    assert mqtt.client_password is not None
    assert mqtt.client_password.get_secret_value() == TEST_SECRETS["mqtt_password"].encode()
    assert mqtt.will_topic == mqtt.birth_topic == "appdaemon_mqtt_client/status"  # the entities' availability


def test_apps_example_validates_and_every_app_imports(config_dir: Path) -> None:
    # Read appdaemon.yaml first, as AppDaemon does: apps.yaml resolves !secret from the secrets
    # file loaded with it (there is no secrets.yaml next to apps.yaml).
    read_appdaemon_yaml(config_dir)
    raw = ad_utils.read_config_file(config_dir / "apps" / "apps.yaml", app_config=True)

    model = AllAppConfig.model_validate(raw)

    problems: list[str] = []
    for name, cfg in model.root.items():
        if isinstance(cfg, GlobalModule):
            problems.append(f"{name}: global modules are deprecated in AppDaemon 4.5")
            continue
        if not isinstance(cfg, AppConfig):
            continue  # global_modules / sequence sections: not used by this project
        if "." in name:
            problems.append(f"{name}: AppDaemon app names must not contain '.'")
        if not cfg.module_name or not cfg.class_name:
            problems.append(f"{name}: needs module and class")
            continue
        try:
            module = importlib.import_module(cfg.module_name)
        except Exception as exc:  # report every app, not just the first failure
            problems.append(f"{name}: module {cfg.module_name} does not import: {exc!r}")
            continue
        app_class = getattr(module, cfg.class_name, None)
        if not (isinstance(app_class, type) and issubclass(app_class, ADAPI)):
            problems.append(f"{name}: {cfg.module_name} has no AppDaemon app class {cfg.class_name}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("path", "value", "expected", "error"),
    [
        (("appdaemon", "elevation"), 12.5, ValidationError, "Input should be a valid integer"),
        (("appdaemon", "plugins", "HASS", "app_init_delay"), 30, ValidationError, "Extra inputs are not permitted"),
        (("appdaemon", "plugins", "HASS", "q_timeout"), 30, ValidationError, "Extra inputs are not permitted"),
        # pytz's UnknownTimeZoneError (a KeyError) escapes the model unwrapped in 4.5.13.
        (("appdaemon", "time_zone"), "Mars/Olympus_Mons", LookupError, "Mars/Olympus_Mons"),
    ],
    ids=["float-elevation", "app_init_delay", "q_timeout", "unknown-time-zone"],
)
def test_broken_appdaemon_config_is_rejected(
    config_dir: Path, path: tuple[str, ...], value: object, expected: type[Exception], error: str
) -> None:
    raw = read_appdaemon_yaml(config_dir)
    section = raw
    for key in path[:-1]:
        section = section[key]
    section[path[-1]] = value

    with pytest.raises(expected, match=error):
        MainConfig.model_validate(raw)


def test_app_entry_without_class_is_rejected() -> None:
    with pytest.raises(ValidationError, match="class"):
        AllAppConfig.model_validate({"solar": {"module": "apsystems.api.client", "config_path": "apps.yaml"}})
