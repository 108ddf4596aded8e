"""What a user sees in Home Assistant once AppDaemon runs the example apps against the fake cloud.

Entities are read the way a user's dashboard or automation gets them: ``GET /api/states/<id>``
with a long-lived token. Runs first (modules run in name order), while everything is fresh.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from fakes.apsystems_cloud import DEFAULT_APP_ID
from scripts.ad_config import load_example_apps
from tests.e2e.conftest import Session
from tests.e2e.processes import wait_for
from tests.e2e.sockets import listeners

pytestmark = pytest.mark.e2e

ENERGY_LABELS = {
    "total_energy": "lifetime energy",
    "today_energy": "energy today",
    "month_energy": "energy this month",
    "year_energy": "energy this year",
}
INVERTER_UNITS = {
    "power": ("W", "power"),
    "dc_power": ("W", "power"),
    "dc_voltage": ("V", "voltage"),
    "dc_current": ("A", "current"),
    "ac_voltage": ("V", "voltage"),
    "frequency": ("Hz", "frequency"),
    "temperature": ("°C", "temperature"),
}
INVERTER_POWER_ATTRIBUTES = (
    "dc_channel1_power_w",
    "dc_channel2_power_w",
    "dc_channel1_peak_w",
    "dc_channel2_peak_w",
    "ac_power_peak_w",
    "hourly_ac_power",
    "hourly_dc_p1",
    "hourly_dc_p2",
    "hourly_times",
    "inverter_type",
    "ecu_id",
)


def _budget_args() -> dict[str, Any]:
    return next(args for args in load_example_apps().values() if args.get("class") == "BudgetApp")


def _rest(session: Session, entity_id: str) -> dict[str, Any]:
    state = session.hass.state(entity_id)
    assert state is not None, f"{entity_id} is not in Home Assistant"
    return state


def _aware(text: object) -> datetime:
    assert isinstance(text, str), f"expected an ISO timestamp, got {text!r}"
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None, f"{text} has no time zone"
    return moment


def test_energy_sensors_have_exact_attributes(session: Session) -> None:
    sid = session.expected.sid
    prefix = session.expected.prefix
    site_today = datetime.now(ZoneInfo(session.cloud.site.timezone)).date()
    values: dict[str, float] = {}
    for suffix, label in ENERGY_LABELS.items():
        entity = _rest(session, f"{prefix}_{suffix}")
        attributes = dict(entity["attributes"])
        values[suffix] = float(entity["state"])
        extra: dict[str, Any] = {}
        if suffix == "today_energy":
            extra = {"hourly_kwh": attributes.pop("hourly_kwh"), "date": attributes.pop("date")}
        assert attributes == {
            "friendly_name": f"APsystems {sid} {label}",
            "unit_of_measurement": "kWh",
            "device_class": "energy",
            "state_class": "total_increasing",
            "icon": "mdi:solar-power",
        }, suffix
        if extra:
            assert extra["date"] == site_today.isoformat()
            hourly = extra["hourly_kwh"]
            assert isinstance(hourly, list)
            assert len(hourly) == 24
            assert all(isinstance(v, (int, float)) and v >= 0 for v in hourly), hourly
            hour_now = datetime.now(ZoneInfo(session.cloud.site.timezone)).hour
            assert all(v == 0 for v in hourly[hour_now + 1 :]), f"energy filed under future hours: {hourly}"
            assert sum(hourly) > 0, "it is midday at the site: the morning's hours have energy"
    assert values["total_energy"] >= values["year_energy"] >= values["month_energy"] >= values["today_energy"] > 0


def test_power_sensor_has_exact_attributes(session: Session) -> None:
    sid = session.expected.sid
    entity = _rest(session, f"{session.expected.prefix}_power")
    attributes = dict(entity["attributes"])
    data_time = _aware(attributes.pop("data_time"))
    assert attributes == {
        "friendly_name": f"APsystems {sid} power",
        "unit_of_measurement": "W",
        "device_class": "power",
        "state_class": "measurement",
        "icon": "mdi:solar-power",
    }
    assert float(entity["state"]) > 0, "midday at the site"
    now = datetime.now().astimezone()
    assert now - timedelta(hours=1) <= data_time <= now + timedelta(minutes=1), data_time
    assert (
        data_time.astimezone(ZoneInfo(session.cloud.site.timezone)).date()
        == now.astimezone(ZoneInfo(session.cloud.site.timezone)).date()
    )


def test_api_calls_sensor_counts_every_call(session: Session) -> None:
    sid = session.expected.sid
    entity_id = f"{session.expected.prefix}_api_calls"

    def settled() -> dict[str, Any] | None:
        entity = _rest(session, entity_id)
        return entity if int(entity["state"]) == session.cloud.calls.by_app[DEFAULT_APP_ID] else None

    entity = wait_for("the API call sensor to match the fake cloud's count", settled, timeout=20)
    used = int(entity["state"])
    attributes = entity["attributes"]
    budget = _budget_args()
    quota = int(budget["monthly_quota"])
    assert used > 0
    assert attributes["friendly_name"] == f"APsystems {sid} API calls this month"
    assert attributes["unit_of_measurement"] == "calls"
    assert "device_class" not in attributes
    assert "state_class" not in attributes
    assert attributes["quota"] == quota
    assert attributes["remaining"] == quota - used
    assert isinstance(attributes["projected"], int)
    assert used <= attributes["projected"] <= quota
    assert isinstance(attributes["interval_s"], int)
    assert int(budget["min_interval"]) <= attributes["interval_s"] <= 7200
    next_poll = _aware(attributes["next_poll"])
    now = datetime.now().astimezone()
    assert now - timedelta(minutes=1) <= next_poll <= now + timedelta(seconds=attributes["interval_s"] + 60)
    assert attributes["last_error_code"] is None


def test_inverter_entities(session: Session) -> None:
    expected = session.expected
    if not expected.has_inverters_app:
        pytest.skip("apps/apps.yaml.example has no inverters app (InvertersApp) yet")
    ids = expected.inverter_ids()
    states = session.wait_for_entities(sorted(ids))
    site_zone = ZoneInfo(session.cloud.site.timezone)
    today = datetime.now(site_zone).date()
    for entity_id, inverter in ids.items():
        attributes = states[entity_id]["attributes"]
        kind = entity_id.rsplit(f"{inverter.uid.lower()}_", 1)[1]
        base_kind = kind.rsplit("_ch", 1)[0]
        unit, device_class = INVERTER_UNITS[base_kind]
        assert attributes["unit_of_measurement"] == unit, entity_id
        assert attributes["device_class"] == device_class, entity_id
        assert attributes["state_class"] == "measurement", entity_id
        assert inverter.uid in attributes["friendly_name"], entity_id
        assert inverter.model in attributes["friendly_name"], entity_id
        data_time = _aware(attributes["data_time"])
        assert data_time.astimezone(site_zone).date() == today, (entity_id, data_time)
        if kind != "power":
            assert set(attributes) == {
                "friendly_name",
                "unit_of_measurement",
                "device_class",
                "state_class",
                "data_time",
            }, entity_id
            assert float(states[entity_id]["state"]) > 0, entity_id
        else:
            for key in INVERTER_POWER_ATTRIBUTES:
                assert key in attributes, f"{entity_id} lacks {key}"
            assert attributes["inverter_type"] == inverter.model
            assert attributes["ecu_id"] == inverter.ecu_id
            # A real JSON boolean, False included (AppDaemon 4.5.13's own set_state drops False
            # and sends True as "true"; apsystems.ha.support.publish_state works around it).
            assert isinstance(attributes.get("ac_estimated"), bool), (entity_id, attributes.get("ac_estimated"))
            assert attributes["source"] in ("detail", "batch"), entity_id
            times = attributes["hourly_times"]
            assert isinstance(times, list)
            assert times, f"{entity_id}: midday at the site, the day's series has points"
            for series in ("hourly_ac_power", *(f"hourly_dc_p{n}" for n in range(1, inverter.channels + 1))):
                assert isinstance(attributes[series], list), (entity_id, series)
                assert len(attributes[series]) == len(times), (
                    f"{entity_id}: {series} has {len(attributes[series])} values for {len(times)} times"
                )
            assert float(states[entity_id]["state"]) > 0, "midday at the site"


def test_energy_dashboard_accepts_total_energy(session: Session) -> None:
    """Saving the total as the solar source: only the statistics can still be missing this early."""
    entity_id = f"{session.expected.prefix}_total_energy"
    hass = session.hass
    hass.ws(
        {
            "type": "energy/save_prefs",
            "energy_sources": [{"type": "solar", "stat_energy_from": entity_id, "config_entry_solar_forecast": None}],
        }
    )
    prefs = hass.ws({"type": "energy/get_prefs"})[0]
    assert prefs["energy_sources"] == [
        {"type": "solar", "stat_energy_from": entity_id, "config_entry_solar_forecast": None}
    ]
    validation = hass.ws({"type": "energy/validate"})[0]
    issues = validation["energy_sources"][0]
    assert {issue["type"] for issue in issues} <= {"statistics_not_defined"}, issues


def test_nothing_listens_beyond_loopback(session: Session) -> None:
    pids = session.hass.process.group_pids() | session.appdaemon.process.group_pids() | {os.getpid()}
    found = listeners(pids)
    ports = {(listener.port, listener.address) for listener in found}
    for port, what in (
        (session.hass.port, "Home Assistant"),
        (session.appdaemon.http_port, "AppDaemon"),
        (session.cloud.port, "the fake cloud"),
        (session.receiver.port, "the Charge HQ receiver"),
    ):
        assert (port, "127.0.0.1") in ports, f"{what} should listen on 127.0.0.1:{port}; found {found}"
    outside = [str(listener) for listener in found if not listener.loopback]
    assert outside == [], f"listening beyond loopback (network namespace: {session.netns}): {outside}"
    assert not any(listener.port == 5353 for listener in found), "mDNS must not listen at all"
