"""SiteMeterPush bodies exactly per schema, from config and HA states through to JSON."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import pytest

from chargehq.config import parse_config
from chargehq.payload import (
    EquationReporter,
    PushPlan,
    build_push,
    epoch_ms,
    equation_residual,
    unconfigured,
    with_api_key,
)
from chargehq.sender import SenderStatus
from chargehq.sources import ApsystemsSnapshot, Missing, Reading, read_sources
from chargehq.status import STATUS_ENTITY, status_entity, status_entity_id
from tests.chargehq.conftest import API_KEY, T0


def ha(state: object, unit: str | None = "W", age_s: float = 5) -> dict[str, Any]:
    attributes = {"unit_of_measurement": unit} if unit is not None else {}
    return {"state": state, "attributes": attributes, "last_updated": (T0 - timedelta(seconds=age_s)).isoformat()}


def plan_for(
    args: dict[str, Any], states: dict[str, Any], apsystems: ApsystemsSnapshot | None = None, **kwargs: Any
) -> PushPlan:
    config = parse_config({"api_key": API_KEY, **args})
    results = read_sources(config, states.get, now=T0, apsystems=apsystems)
    return build_push(results, now=T0, expected=config.sources, tolerance_kw=config.tolerance_kw, **kwargs)


def wire(plan: PushPlan) -> dict[str, Any]:
    """What goes over the wire, parsed back: proves numbers stay JSON numbers."""
    text = json.dumps(plan.payload(API_KEY), allow_nan=False)
    return json.loads(text)  # type: ignore[no-any-return]


def test_pv_only() -> None:
    plan = plan_for({"production": "sensor.pv"}, {"sensor.pv": ha("3200")})
    assert wire(plan) == {"apiKey": API_KEY, "siteMeters": {"production_kw": 3.2}}
    assert plan.state == "ok"
    assert plan.tsms is None
    assert plan.equation_residual_kw is None


def test_pv_and_meter_export_positive_grid_inverted() -> None:
    plan = plan_for(
        {
            "production": "sensor.pv",
            "consumption": {"entity": "sensor.house", "unit": "kW"},
            "net_import": {"entity": "sensor.grid_feed_in", "invert": True},
        },
        {"sensor.pv": ha("3200"), "sensor.house": ha("2.1", unit=None), "sensor.grid_feed_in": ha("1100")},
    )
    body = wire(plan)
    assert body == {
        "apiKey": API_KEY,
        "siteMeters": {"production_kw": 3.2, "net_import_kw": -1.1, "consumption_kw": 2.1},
    }
    assert list(body) == ["apiKey", "siteMeters"]
    assert plan.equation_residual_kw == 0.0
    assert plan.equation_ok is True
    assert plan.derived is None


def test_pv_meter_and_battery() -> None:
    plan = plan_for(
        {
            "production": "sensor.pv",
            "consumption": "sensor.house",
            "net_import": "sensor.grid",
            "battery_discharge": {"entity": "sensor.battery_power", "invert": True},  # charge-positive sensor
            "battery_soc": "sensor.battery_soc",
            "battery_energy": "sensor.battery_stored",
            "imported_kwh": "sensor.grid_in_total",
            "exported_kwh": "sensor.grid_out_total",
        },
        {
            "sensor.pv": ha("4.0", unit="kW"),
            "sensor.house": ha("1500"),
            "sensor.grid": ha("-500"),
            "sensor.battery_power": ha("2000"),
            "sensor.battery_soc": ha("55", unit="%"),
            "sensor.battery_stored": ha("5500", unit="Wh"),
            "sensor.grid_in_total": ha("12345.678", unit="kWh"),
            "sensor.grid_out_total": ha("2.5", unit="MWh"),
        },
    )
    assert wire(plan) == {
        "apiKey": API_KEY,
        "siteMeters": {
            "production_kw": 4.0,
            "net_import_kw": -0.5,
            "consumption_kw": 1.5,
            "imported_kwh": 12345.678,
            "exported_kwh": 2500.0,
            "battery_discharge_kw": -2.0,
            "battery_soc": 0.55,
            "battery_energy_kwh": 5.5,
        },
    }
    assert plan.equation_residual_kw == 0.0


def test_values_are_json_numbers_never_strings() -> None:
    plan = plan_for(
        {"production": "sensor.pv", "net_import": "sensor.grid"}, {"sensor.pv": ha("3200"), "sensor.grid": ha("-1")}
    )
    text = json.dumps(plan.payload(API_KEY))
    assert '"production_kw": 3.2' in text
    for value in plan.payload(API_KEY)["siteMeters"].values():
        assert type(value) is float


def test_consumption_is_derived_from_production_net_import_and_battery() -> None:
    plan = plan_for(
        {"production": "sensor.pv", "net_import": "sensor.grid", "battery_discharge": "sensor.bat"},
        {"sensor.pv": ha("3000"), "sensor.grid": ha("-1000"), "sensor.bat": ha("500")},
    )
    assert plan.site_meters == {
        "production_kw": 3.0,
        "net_import_kw": -1.0,
        "consumption_kw": 2.5,
        "battery_discharge_kw": 0.5,
    }
    assert plan.derived == "consumption_kw"
    assert plan.equation_residual_kw is None


def test_net_import_is_derived_from_consumption_and_production() -> None:
    plan = plan_for(
        {"production": "sensor.pv", "consumption": "sensor.house"}, {"sensor.pv": ha("3200"), "sensor.house": ha("800")}
    )
    assert plan.site_meters == {"production_kw": 3.2, "net_import_kw": -2.4, "consumption_kw": 0.8}
    assert plan.derived == "net_import_kw"


def test_grid_import_and_export_combine_to_net_import() -> None:
    args = {"production": "sensor.pv", "grid_import": "sensor.grid_in", "grid_export": "sensor.grid_out"}
    plan = plan_for(args, {"sensor.pv": ha("3200"), "sensor.grid_in": ha("0"), "sensor.grid_out": ha("1100")})
    assert plan.site_meters == {"production_kw": 3.2, "net_import_kw": -1.1, "consumption_kw": 2.1}
    night = plan_for(args, {"sensor.pv": ha("0"), "sensor.grid_in": ha("0.45", unit="kW"), "sensor.grid_out": ha("0")})
    assert night.site_meters == {"production_kw": 0.0, "net_import_kw": 0.45, "consumption_kw": 0.45}


def test_grid_pair_with_one_half_unavailable_is_an_error() -> None:
    args = {"production": "sensor.pv", "grid_import": "sensor.grid_in", "grid_export": "sensor.grid_out"}
    plan = plan_for(args, {"sensor.pv": ha("3200"), "sensor.grid_in": ha("0"), "sensor.grid_out": ha("unknown")})
    assert plan.state == "error"
    assert plan.error is not None and "grid_export" in plan.error
    assert plan.site_meters is None


MEASURED = {"production": "sensor.pv", "consumption": "sensor.house", "net_import": "sensor.grid"}


@pytest.mark.parametrize(
    ("house_w", "tolerance", "ok"),
    [("2100", 0.05, True), ("2140", 0.05, True), ("2151", 0.05, False), ("1900", 0.05, False), ("2400", 0.5, True)],
)
def test_equation_check_with_tolerance(house_w: str, tolerance: float, ok: bool) -> None:
    plan = plan_for(
        {**MEASURED, "equation_tolerance_kw": tolerance},
        {"sensor.pv": ha("3200"), "sensor.house": ha(house_w), "sensor.grid": ha("-1100")},
    )
    assert plan.state == "ok"  # sent anyway (Charge HQ accepts it), but reported
    assert plan.equation_ok is ok
    assert plan.equation_residual_kw == pytest.approx(float(house_w) / 1000 - 2.1)
    assert plan.site_meters is not None and plan.site_meters["consumption_kw"] == float(house_w) / 1000


def test_equation_residual_formula() -> None:
    assert equation_residual(2.0, 3.0, -1.5, 0.5) == pytest.approx(0.0)
    assert equation_residual(2.3, 3.0, -1.0) == pytest.approx(0.3)


def make_plan(residual: float | None) -> PushPlan:
    return PushPlan(state="ok", site_meters={"production_kw": 1.0}, equation_residual_kw=residual)


def test_mismatch_reported_once_per_change() -> None:
    reporter = EquationReporter(tolerance_kw=0.05)
    sequence = [0.0, 0.01, 0.3, 0.31, 0.29, None, 0.3, 0.02, 0.0, -0.2, -0.2]
    reports = [reporter.observe(make_plan(residual)) for residual in sequence]
    levels = [(i, r.level) for i, r in enumerate(reports) if r is not None]
    assert levels == [(2, logging.WARNING), (7, logging.INFO), (9, logging.WARNING)]
    first = reports[2]
    assert first is not None and "+0.300 kW" in first.message and "invert" in first.message
    assert reporter.mismatched


def test_tsms_is_the_apsystems_measurement_time() -> None:
    measured = T0 - timedelta(minutes=9, seconds=30)
    plan = plan_for({"production": "apsystems"}, {}, ApsystemsSnapshot(2.75, measured, 600))
    assert wire(plan) == {"apiKey": API_KEY, "tsms": epoch_ms(measured), "siteMeters": {"production_kw": 2.75}}
    assert plan.tsms == int(measured.timestamp() * 1000)
    assert list(wire(plan)) == ["apiKey", "tsms", "siteMeters"]


def test_tsms_with_a_live_meter_is_still_the_delayed_source_time() -> None:
    measured = T0 - timedelta(minutes=4)
    plan = plan_for(
        {"production": "apsystems", "consumption": "sensor.house"},
        {"sensor.house": ha("900", age_s=200)},
        ApsystemsSnapshot(2.0, measured, 300),
    )
    assert plan.tsms == epoch_ms(measured)
    assert plan.site_meters == {"production_kw": 2.0, "net_import_kw": -1.1, "consumption_kw": 0.9}


def test_no_tsms_for_live_ha_sources_even_if_unchanged_for_a_while() -> None:
    plan = plan_for({"production": "sensor.pv"}, {"sensor.pv": ha("0", age_s=250)})
    assert plan.tsms is None
    assert "tsms" not in wire(plan)


@pytest.mark.parametrize("state", ["unavailable", "unknown", None, "error", "nan"])
def test_unusable_production_is_an_error_push_never_zero(state: object) -> None:
    plan = plan_for({"production": "sensor.pv"}, {"sensor.pv": ha(state)})
    body = wire(plan)
    assert set(body) == {"apiKey", "error"}
    assert "sensor.pv" in body["error"]
    assert plan.state == "error"
    assert plan.status_attributes()["last_payload"] == {"error": body["error"]}


def test_missing_production_entity_is_an_error() -> None:
    plan = plan_for({"production": "sensor.pv"}, {})
    assert wire(plan) == {"apiKey": API_KEY, "error": "production: sensor.pv does not exist in Home Assistant"}


def test_stale_production_is_source_stale() -> None:
    plan = plan_for({"production": "sensor.pv"}, {"sensor.pv": ha("3200", age_s=301)})
    assert plan.state == "source_stale"
    body = wire(plan)
    assert set(body) == {"apiKey", "error"}
    assert "stale" in body["error"] and "301 s" in body["error"] and "max_age 300 s" in body["error"]


def test_per_source_max_age() -> None:
    args = {"production": {"entity": "sensor.pv", "max_age": 900}}
    assert plan_for(args, {"sensor.pv": ha("3200", age_s=600)}).state == "ok"


def test_apsystems_max_age_is_twice_the_interval_plus_15_minutes() -> None:
    interval = 600.0
    limit = 2 * interval + 900
    fresh = plan_for({"production": "apsystems"}, {}, ApsystemsSnapshot(1.0, T0 - timedelta(seconds=limit), interval))
    assert fresh.state == "ok"
    old = T0 - timedelta(seconds=limit + 1)
    stale = plan_for({"production": "apsystems"}, {}, ApsystemsSnapshot(1.0, old, interval))
    assert stale.state == "source_stale"
    assert stale.site_meters is None and stale.tsms is None


def test_apsystems_without_data_is_an_error() -> None:
    plan = plan_for({"production": "apsystems"}, {}, None)
    assert plan.state == "error"
    assert wire(plan) == {
        "apiKey": API_KEY,
        "error": "production: the APsystems production app has not shared a power reading yet",
    }


def test_real_zero_at_night_is_sent() -> None:
    plan = plan_for({"production": "sensor.pv"}, {"sensor.pv": ha("0")})
    assert wire(plan) == {"apiKey": API_KEY, "siteMeters": {"production_kw": 0.0}}
    night = plan_for({"production": "apsystems"}, {}, ApsystemsSnapshot(0.0, None, 600, window_open=False))
    assert wire(night) == {"apiKey": API_KEY, "siteMeters": {"production_kw": 0.0}}


def test_negative_zero_is_never_sent() -> None:
    plan = plan_for(
        {"production": "sensor.pv", "net_import": {"entity": "sensor.grid", "invert": True}},
        {"sensor.pv": ha("0"), "sensor.grid": ha("0")},
    )
    assert '"net_import_kw": 0.0' in json.dumps(plan.payload(API_KEY))
    assert "-0.0" not in json.dumps(plan.payload(API_KEY))


def test_a_configured_optional_source_is_required() -> None:
    plan = plan_for(
        {"production": "sensor.pv", "battery_soc": "sensor.soc"},
        {"sensor.pv": ha("3200"), "sensor.soc": ha("unavailable", unit="%")},
    )
    assert plan.state == "error"
    assert plan.error == "battery_soc: sensor.soc: state is 'unavailable'"


def test_unavailable_wins_over_stale_and_both_are_listed() -> None:
    plan = plan_for(
        {"production": "sensor.pv", "consumption": "sensor.house"},
        {"sensor.pv": ha("3200", age_s=400), "sensor.house": ha("unavailable")},
    )
    assert plan.state == "error"
    assert plan.error is not None and "consumption" in plan.error and "production" in plan.error
    assert len(plan.problems) == 2


def test_unit_problem_is_an_error_push_naming_the_entity() -> None:
    plan = plan_for({"production": "sensor.pv"}, {"sensor.pv": ha("3200", unit="A")})
    assert plan.state == "error"
    assert plan.error is not None and "sensor.pv" in plan.error and "'A'" in plan.error


def test_error_text_is_capped() -> None:
    results = {"production": Missing("production", "x" * 500)}
    plan = build_push(results, now=T0)
    assert plan.error is not None and len(plan.error) <= 200


def test_unconfigured_has_nothing_to_send() -> None:
    plan = build_push({}, now=T0)
    assert plan.state == "unconfigured"
    assert not plan.sendable
    assert plan.public_payload() is None
    with pytest.raises(ValueError, match="nothing to push"):
        plan.body()
    assert unconfigured("api_key is missing").status_attributes() == {
        "state": "unconfigured",
        "equation_residual_kw": None,
        "last_payload": None,
    }


def test_body_without_key_and_payload_with_key() -> None:
    plan = build_push({"production": Reading("production", 1.234, T0, 300)}, now=T0)
    assert plan.body() == {"siteMeters": {"production_kw": 1.234}}
    assert plan.payload(API_KEY) == {"apiKey": API_KEY, "siteMeters": {"production_kw": 1.234}}
    with pytest.raises(ValueError, match="without it"):
        with_api_key({"apiKey": "x"}, API_KEY)


def test_status_entity_never_carries_the_key() -> None:
    plan = plan_for(MEASURED, {"sensor.pv": ha("3200"), "sensor.house": ha("2500"), "sensor.grid": ha("-1100")})
    sender = SenderStatus(T0, T0, 200, 0, T0 + timedelta(seconds=60))
    state, attributes = status_entity(plan, sender)
    assert STATUS_ENTITY == "sensor.chargehq_push_status"
    assert state == "ok"
    assert attributes["last_payload"] == {
        "siteMeters": {"production_kw": 3.2, "net_import_kw": -1.1, "consumption_kw": 2.5}
    }
    assert attributes["equation_residual_kw"] == pytest.approx(0.4)
    assert attributes["last_success"] == T0.isoformat()
    assert attributes["last_http_status"] == 200
    assert attributes["consecutive_failures"] == 0
    assert API_KEY not in json.dumps(attributes)


def test_status_state_follows_the_data_then_the_http_result() -> None:
    ok = build_push({"production": Reading("production", 1.0, T0, 300)}, now=T0)
    failing = SenderStatus(None, T0, 500, 2, T0 + timedelta(seconds=120))
    assert status_entity(ok, failing)[0] == "error"
    assert status_entity(ok, None)[0] == "ok"
    stale = build_push({"production": Reading("production", 1.0, T0 - timedelta(hours=1), 300)}, now=T0)
    assert status_entity(stale, failing)[0] == "source_stale"
    assert status_entity(None, None) == (
        "unconfigured",
        {
            "friendly_name": "Charge HQ push status",
            "icon": "mdi:ev-station",
            "last_success": None,
            "last_attempt": None,
            "last_http_status": None,
            "consecutive_failures": 0,
            "last_payload": None,
            "equation_residual_kw": None,
        },
    )


# ---- signs, sizes and times that cannot be real (issue 10, points 10 and 15) ---------------------


@pytest.mark.parametrize(
    ("args", "states", "bad"),
    [
        ({"production": "sensor.pv"}, {"sensor.pv": ha("-3200")}, "production -3.2 must not be negative"),
        (
            {"production": "sensor.pv", "grid_import": "sensor.gi", "grid_export": "sensor.ge"},
            {"sensor.pv": ha("1000"), "sensor.gi": ha("-500"), "sensor.ge": ha("0")},
            "grid_import -0.5 must not be negative",
        ),
        (
            {"production": "sensor.pv", "imported_kwh": "sensor.imp"},
            {"sensor.pv": ha("1000"), "sensor.imp": ha("-12", unit="kWh")},
            "imported_kwh -12 must not be negative",
        ),
        ({"production": "sensor.pv"}, {"sensor.pv": ha("-1000000000")}, "beyond any home installation"),
    ],
)
def test_a_wrong_sign_or_impossible_size_is_an_error_push(
    args: dict[str, Any], states: dict[str, Any], bad: str
) -> None:
    plan = plan_for(args, states)
    assert plan.state == "error" and plan.site_meters is None
    assert plan.error is not None and bad in plan.error
    assert "siteMeters" not in wire(plan)


def test_signed_fields_keep_their_sign_and_night_noise_reads_zero() -> None:
    plan = plan_for(
        {"production": "sensor.pv", "net_import": "sensor.grid", "battery_discharge": "sensor.bat"},
        {"sensor.pv": ha("-4"), "sensor.grid": ha("-1500"), "sensor.bat": ha("-700")},
    )
    assert plan.state == "ok"
    assert plan.site_meters is not None
    assert plan.site_meters["production_kw"] == 0.0
    assert plan.site_meters["net_import_kw"] == -1.5 and plan.site_meters["battery_discharge_kw"] == -0.7


def test_apsystems_power_of_minus_a_megawatt_is_never_sent_as_production() -> None:
    plan = plan_for({"production": "apsystems"}, {}, ApsystemsSnapshot(-1000.0, T0 - timedelta(minutes=5), 300))
    assert plan.state == "error" and "siteMeters" not in wire(plan)
    assert plan.error is not None and "must not be negative" in plan.error


def test_a_reading_from_the_future_is_stale_and_tsms_never_in_the_future() -> None:
    ahead = T0 + timedelta(hours=3)
    plan = plan_for({"production": "apsystems"}, {}, ApsystemsSnapshot(2.0, ahead, 300))
    assert plan.state == "source_stale" and plan.error is not None and "in the future" in plan.error
    slightly = T0 + timedelta(seconds=30)  # within clock skew: fresh, but tsms is clamped to now
    plan = plan_for({"production": "apsystems"}, {}, ApsystemsSnapshot(2.0, slightly, 300))
    assert plan.state == "ok" and plan.tsms == epoch_ms(T0)


def test_each_forwarder_has_its_own_status_entity() -> None:
    assert status_entity_id("chargehq") == STATUS_ENTITY  # the example's app name: existing installs keep it
    assert status_entity_id("ChargeHQ garage") == "sensor.chargehq_garage_push_status"
    assert status_entity_id("---") == STATUS_ENTITY
