"""apps.yaml validation: every problem named with the key, the value and what to do."""

from __future__ import annotations

from typing import Any

import pytest

from chargehq.config import DEFAULT_ENDPOINT, DEFAULT_MAX_AGE_S, ChargeHQConfig, parse_config
from chargehq.errors import ConfigError
from tests.chargehq.conftest import API_KEY


def cfg(**args: Any) -> ChargeHQConfig:
    base: dict[str, Any] = {"module": "chargehq.app", "class": "ChargeHQForwarder", "name": "chargehq"}
    base.update({"api_key": API_KEY, "production": "sensor.pv_power"})
    base.update(args)
    return parse_config({k: v for k, v in base.items() if v is not ...})


def problems(**args: Any) -> str:
    with pytest.raises(ConfigError) as info:
        cfg(**args)
    assert API_KEY not in str(info.value)
    return str(info.value)


def test_minimal_config_defaults() -> None:
    config = cfg()
    assert config.endpoint == DEFAULT_ENDPOINT
    assert config.push_interval_s == 60
    assert config.tolerance_kw == 0.05
    spec = config.sources["production"]
    assert spec.entity == "sensor.pv_power"
    assert not spec.invert
    assert spec.max_age_s == DEFAULT_MAX_AGE_S
    assert not config.uses_apsystems
    assert API_KEY not in repr(config)


def test_full_config_with_mappings() -> None:
    config = cfg(
        production="apsystems",
        consumption="sensor.house_power",
        net_import={"entity": "sensor.grid_power", "invert": True, "max_age": 120},
        battery_discharge={"entity": "sensor.battery_power", "invert": True},
        battery_soc={"entity": "sensor.battery_level", "unit": "fraction"},
        battery_energy="sensor.battery_stored",
        imported_kwh="sensor.grid_import_total",
        exported_kwh="sensor.grid_export_total",
        push_interval=30,
        equation_tolerance_kw=0.1,
        max_age=600,
        endpoint="http://127.0.0.1:8000/api/public/push-solar-data",
    )
    assert config.uses_apsystems
    assert config.sources["production"].is_apsystems
    assert config.sources["net_import"].invert
    assert config.sources["net_import"].max_age_s == 120
    assert config.sources["consumption"].max_age_s == 600
    assert config.sources["battery_soc"].unit == "fraction"
    assert config.push_interval_s == 30
    assert config.tolerance_kw == 0.1
    assert "sensor.grid_power" in config.entities
    assert len(config.entities) == 7


def test_grid_import_export_pair() -> None:
    config = cfg(grid_import="sensor.grid_in", grid_export="sensor.grid_out")
    assert set(config.sources) == {"production", "grid_import", "grid_export"}


def test_net_import_with_grid_pair_is_rejected() -> None:
    message = problems(net_import="sensor.n", grid_import="sensor.i", grid_export="sensor.e")
    assert "net_import cannot be combined with grid_import/grid_export" in message


@pytest.mark.parametrize(("given", "needed"), [("grid_import", "grid_export"), ("grid_export", "grid_import")])
def test_half_a_grid_pair_is_rejected(given: str, needed: str) -> None:
    message = problems(**{given: "sensor.x"})
    assert f"{given} needs {needed}" in message


def test_push_interval_below_minimum() -> None:
    message = problems(push_interval=20)
    assert "push_interval 20 s is below Charge HQ's minimum of 30 s" in message


def test_empty_settings_mean_defaults() -> None:
    config = cfg(push_interval=None, max_age=None, endpoint=None, equation_tolerance_kw=None, consumption=None)
    assert config.push_interval_s == 60
    assert config.endpoint == DEFAULT_ENDPOINT
    assert "consumption" not in config.sources


@pytest.mark.parametrize("value", ["60", True, float("nan")])
def test_push_interval_must_be_a_number(value: object) -> None:
    assert "push_interval must be a number" in problems(push_interval=value)


def test_unknown_keys_with_hints() -> None:
    message = problems(sitemeters="x", solar="sensor.pv", apikey="k")
    assert "unknown key 'sitemeters'" in message
    assert "unknown key 'solar': did you mean 'production'?" in message
    assert "unknown key 'apikey': did you mean 'api_key'?" in message
    assert "3 configuration problems" in message


def test_extra_keys_the_app_understands() -> None:
    with pytest.raises(ConfigError):
        cfg(status_entity="sensor.x")
    config = parse_config(
        {"api_key": API_KEY, "production": "sensor.pv", "status_entity": "sensor.x"}, extra_keys={"status_entity"}
    )
    assert config.sources["production"].entity == "sensor.pv"


def test_unknown_source_option() -> None:
    message = problems(consumption={"entity": "sensor.house", "inverted": True})
    assert "consumption: unknown key 'inverted'" in message


def test_missing_api_key_and_production() -> None:
    message = problems(api_key=..., production=...)
    assert "api_key is missing" in message
    assert "!secret chargehq_api_key" in message
    assert "production is missing" in message


def test_api_key_value_never_in_messages() -> None:
    message = problems(api_key=12345)
    assert "api_key must be a non-empty string" in message
    assert "12345" not in message


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"consumption": "Sensor.House Power"}, "consumption: entity 'Sensor.House Power' is not a Home Assistant"),
        ({"consumption": 42}, "consumption: 42 is neither an entity id nor a mapping"),
        ({"battery_energy": "apsystems"}, "'apsystems' can only be used for production, battery_discharge"),
        ({"production": {"entity": "apsystems"}}, "write `production: apsystems` as a plain value"),
        ({"consumption": {"entity": "sensor.h", "invert": "yes"}}, "invert must be true or false, not 'yes'"),
        ({"battery_soc": {"entity": "sensor.soc", "invert": True}}, "invert only applies to power sources"),
        ({"consumption": {"entity": "sensor.h", "max_age": 0}}, "consumption: max_age must be a number of seconds"),
        ({"consumption": {"entity": "sensor.h", "unit": "kWh"}}, "consumption: unit 'kWh' is not a power unit"),
        ({"max_age": -1}, "max_age must be a number of seconds above 0, not -1"),
        ({"equation_tolerance_kw": -0.1}, "equation_tolerance_kw must be a number of kW"),
        ({"endpoint": "ftp://x"}, "endpoint 'ftp://x' is not an http(s) URL"),
    ],
)
def test_bad_values_are_named(args: dict[str, Any], expected: str) -> None:
    assert expected in problems(**args)
