"""The inverter app in a real AppDaemon with a real budget app, against the fake cloud.

Site ``large``: 3 ECUs × 10 inverters mixing DS3, YC600 (2 channels), QS1 and QT2 (4).

AppDaemon runs on the real clock (its time travel is broken in 4.5.13), and the app asks
for *today's* data in the system's time zone. The fake's clock is therefore fixed at 13:00
Berlin time on the real current date: a midday with data up to 13:00. Whether that day is a
summer day depends on when the tests run; the 16 KiB figure for the longest possible day
(288 points, 4 channels) is measured in tests/unit/test_inverter_telemetry.py and, with
the fake's own longest day, in tests/integration/test_inverter_telemetry_fakecloud.py.
Scheduled jobs are run with the harness's ``fire_timer`` instead of waiting for them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from apsystems.inverters.jobs import extra_batch_room
from apsystems.inverters.telemetry import ATTRIBUTE_LIMIT_BYTES
from fakes.apsystems_cloud import DEFAULT_APP_ID, DEFAULT_APP_SECRET, FakeCloud
from fakes.apsystems_cloud.presets import daylight
from fakes.apsystems_cloud.site import InverterSpec
from tests.appdaemon.conftest import HarnessFactory
from tests.support.appdaemon_harness import AppDaemonHarness, Location

pytestmark = pytest.mark.appdaemon

INVERTERS = "apsystems_inverters"
BUDGET = "apsystems_budget"
BERLIN = ZoneInfo("Europe/Berlin")
MUNICH = Location(latitude=48.14, longitude=11.58, elevation=520, time_zone="Europe/Berlin")
PREFIX = "sensor.apsystems_inverter_"
UNITS = {
    "power": ("W", "power"),
    "dc_power": ("W", "power"),
    "dc_voltage": ("V", "voltage"),
    "dc_current": ("A", "current"),
    "ac_voltage": ("V", "voltage"),
    "frequency": ("Hz", "frequency"),
    "temperature": ("°C", "temperature"),
}


@pytest.fixture
def cloud() -> Iterator[FakeCloud]:
    with FakeCloud(site="large") as fake:
        today = datetime.now(BERLIN).date()
        fake.clock.set_fixed(datetime.combine(today, time(13, 0), tzinfo=BERLIN))
        yield fake


def apps_for(cloud: FakeCloud, budget: dict[str, Any] | None = None, **inverters: Any) -> dict[str, dict[str, Any]]:
    site = cloud.site
    return {
        BUDGET: {
            "module": "apsystems.budget_app",
            "class": "BudgetApp",
            "app_id": DEFAULT_APP_ID,
            "sid": cloud.sid,
            "latitude": site.latitude,
            "longitude": site.longitude,
            "time_zone": site.timezone,
            **(budget or {}),
        },
        INVERTERS: {
            "module": "apsystems.inverters_app",
            "class": "InvertersApp",
            "dependencies": [BUDGET],
            "app_id": DEFAULT_APP_ID,
            "app_secret": DEFAULT_APP_SECRET,
            "sid": cloud.sid,
            "base_url": cloud.url,
            "budget": BUDGET,
            "batch_every": 0,
            **inverters,
        },
    }


async def start(factory: HarnessFactory, cloud: FakeCloud, **kwargs: Any) -> AppDaemonHarness:
    return await factory(apps_for(cloud, **kwargs), location=MUNICH)


async def fire(ad: AppDaemonHarness, callback: str, app: str = INVERTERS, **match: Any) -> None:
    """Run the ``app``'s pending ``callback`` timer now (and wait for its effects)."""
    entries = [
        e
        for e in ad.scheduler_entries(app)
        if e.callback == callback and all(e.kwargs.get(k) == v for k, v in match.items())
    ]
    assert len(entries) == 1, f"{callback} {match}: {ad.scheduler_entries(app)}"
    await ad.fire_timer(app, entries[0].handle)
    await ad.wait_idle(timeout=60)


async def discover(ad: AppDaemonHarness) -> None:
    """Both discovery steps (details, then the inverter list), each its own callback."""
    await fire(ad, "_first_discovery")
    if ad.get_app(INVERTERS).discovery.pending:
        await fire(ad, "_first_discovery")


def listed(cloud: FakeCloud) -> list[InverterSpec]:
    return [inv for ecu in cloud.site.ecus for inv in ecu.inverters if inv.listed]


def expected_ids(inv: InverterSpec) -> set[str]:
    base = f"{PREFIX}{inv.uid}_"
    ids = {base + s for s in ("power", "ac_voltage", "frequency", "temperature")}
    for n in range(1, len(inv.panels_w) + 1):
        ids |= {f"{base}{kind}_ch{n}" for kind in ("dc_power", "dc_voltage", "dc_current")}
    return ids


def inverter_entities(ad: AppDaemonHarness) -> set[str]:
    return set(ad.entity_ids(prefix=PREFIX))


def snapshot(ad: AppDaemonHarness) -> dict[str, Any]:
    return {e: (ad.state(e), ad.attributes(e)) for e in inverter_entities(ad)}


def api_calls(ad: AppDaemonHarness, cloud: FakeCloud) -> Any:
    return ad.state(f"sensor.apsystems_{cloud.sid.lower()}_api_calls")


def no_exception_escaped(ad: AppDaemonHarness) -> bool:
    return not [line for line in ad.log_lines if "Traceback" in line or "Unexpected error" in line]


async def test_entities_attributes_and_calls_match_the_plan(
    appdaemon_factory: HarnessFactory, cloud: FakeCloud
) -> None:
    ad = await start(appdaemon_factory, cloud)
    assert inverter_entities(ad) == set()
    await discover(ad)

    inverters = listed(cloud)
    assert len(inverters) == 30 and {len(i.panels_w) for i in inverters} == {2, 4}
    wanted = set().union(*(expected_ids(i) for i in inverters))
    assert inverter_entities(ad) == wanted  # created at once, before any telemetry
    assert len(wanted) == 21 * 10 + 9 * 16

    plan = await ad.call_app(BUDGET, "plan")
    due = await ad.call_app(BUDGET, "detail_due", [i.uid for i in inverters])
    assert len(due) == plan.detail_calls_today > 0
    await fire(ad, "_daily_job", job="detail")
    await fire(ad, "_daily_job", job="batch")

    # calls spent today = what the budget planned: discovery 2, detail per due inverter, batch per ECU
    assert cloud.calls.count("system_details") == 1 and cloud.calls.count("inverters") == 1
    assert cloud.calls.count("inverter_energy:minutely") == len(due)
    assert cloud.calls.count("batch:power") == len(cloud.site.ecus) == 3
    assert cloud.calls.total == 2 + len(due) + 3 == api_calls(ad, cloud)
    print(
        f"calls today: detail {len(due)} (plan {plan.detail_calls_today}, rotation"
        f" {plan.detail_rotation_days} d), batch 3 (3 ECUs), discovery 2"
    )

    models = {i.uid: i.model for i in inverters}
    ecu_of = {inv.uid: ecu.eid for ecu in cloud.site.ecus for inv in ecu.inverters}
    largest = (0, "")
    for entity_id in wanted:
        state, attrs = ad.state(entity_id), ad.attributes(entity_id)
        suffix = entity_id.removeprefix(PREFIX).split("_", 1)[1]
        unit, device_class = UNITS[suffix.rsplit("_ch", 1)[0]]
        assert (attrs["unit_of_measurement"], attrs["device_class"], attrs["state_class"]) == (
            unit,
            device_class,
            "measurement",
        ), entity_id
        uid = entity_id.removeprefix(PREFIX).split("_", 1)[0]
        assert f"{models[uid]} {uid}" in attrs["friendly_name"]
        size = len(json.dumps(attrs).encode("utf-8"))
        largest = max(largest, (size, entity_id))
        if suffix.startswith(("power", "dc_power")):
            assert isinstance(state, float), entity_id  # every inverter has batch power at least
        elif uid in due:
            assert isinstance(state, float), entity_id
        else:
            assert state == "unknown", entity_id  # only detail has voltage, current, temperature
    print(f"largest inverter entity attributes in AppDaemon: {largest[0]} bytes ({largest[1]})")
    assert largest[0] < ATTRIBUTE_LIMIT_BYTES

    for inv in inverters:
        attrs = ad.attributes(f"{PREFIX}{inv.uid}_power")
        channels = len(inv.panels_w)
        keys = {"ac_power_peak_w", "hourly_ac_power", "hourly_times", "inverter_type", "ecu_id"}
        for n in range(1, channels + 1):
            keys |= {f"dc_channel{n}_power_w", f"dc_channel{n}_peak_w", f"hourly_dc_p{n}"}
        assert keys <= set(attrs), inv.uid
        assert f"dc_channel{channels + 1}_power_w" not in attrs
        assert attrs["inverter_type"] == inv.model and attrs["ecu_id"] == ecu_of[inv.uid]
        assert len(attrs["hourly_times"]) == len(attrs["hourly_ac_power"]) == len(attrs["hourly_dc_p1"]) > 0
        # batch (up to 13:00) is as fresh as detail (up to 13:00): detail wins the tie
        assert attrs["source"] == ("detail" if inv.uid in due else "batch"), inv.uid
        assert attrs["ac_estimated"] is (inv.uid not in due)
        assert attrs["ac_power_peak_w"] >= ad.state(f"{PREFIX}{inv.uid}_power")
    assert no_exception_escaped(ad)


async def test_scan_removes_and_adds_but_never_on_empty_or_failed_lists(
    appdaemon_factory: HarnessFactory, cloud: FakeCloud
) -> None:
    ad = await start(appdaemon_factory, cloud)
    await discover(ad)
    gone = listed(cloud)[3]
    before = inverter_entities(ad)
    assert expected_ids(gone) <= before

    # an event for another system is not ours
    await ad.fire_event("apsystems_scan_inverters", sid="OTHERSYSTEM1")
    await ad.wait_idle()
    assert cloud.calls.count("inverters") == 1

    cloud.remove_inverter(gone.uid)
    await ad.fire_event("apsystems_scan_inverters", sid=cloud.sid.lower())
    await ad.wait_idle()
    assert cloud.calls.count("inverters") == 2
    assert inverter_entities(ad) == before - expected_ids(gone)
    state_dir = ad.config_dir / "apsystems_state"
    site_file = json.loads((state_dir / f"site_{cloud.sid.lower()}.json").read_text())
    store_file = json.loads((state_dir / f"inverters_{cloud.sid.lower()}.json").read_text())
    assert gone.uid not in json.dumps(site_file["devices"]) and gone.uid not in store_file["inverters"]
    assert ad.get_app(BUDGET).fleet.inverters == 29
    after_removal = inverter_entities(ad)

    cloud.set_empty_inverter_list(True)
    await ad.fire_event("apsystems_scan_inverters")
    await ad.wait_idle()
    assert cloud.calls.count("inverters") == 3
    assert inverter_entities(ad) == after_removal
    assert any("came back empty" in line for line in ad.app_log(INVERTERS))
    cloud.set_empty_inverter_list(False)

    for fault in ({"kind": "code", "code": 5000}, {"kind": "drop"}, {"kind": "code", "code": 7002}):
        cloud.faults.inject(route="inverters", **fault)
        await ad.fire_event("apsystems_scan_inverters")
        await ad.wait_idle(timeout=30)
        cloud.faults.clear()
        assert inverter_entities(ad) == after_removal, fault
    assert ad.get_app(BUDGET).fleet.inverters == 29

    added = cloud.add_inverter(cloud.site.ecus[1].eid, "QS1", panels_w=340.0)
    await ad.fire_event("apsystems_scan_inverters")
    await ad.wait_idle()
    assert inverter_entities(ad) == after_removal | expected_ids(added)
    assert len(expected_ids(added)) == 16
    assert ad.state(f"{PREFIX}{added.uid}_power") == "unknown"
    assert ad.get_app(BUDGET).fleet.inverters == 30
    assert no_exception_escaped(ad)


async def test_scan_button(appdaemon_factory: HarnessFactory, cloud: FakeCloud) -> None:
    ad = await start(appdaemon_factory, cloud, scan_button="input_button.aps_scan")
    await discover(ad)
    await ad.set_state("input_button.aps_scan", "unknown")
    await ad.wait_idle()
    assert cloud.calls.count("inverters") == 1
    gone = listed(cloud)[0]
    cloud.remove_inverter(gone.uid)
    await ad.set_state("input_button.aps_scan", "2026-06-21T11:00:00+00:00")
    await ad.wait_idle()
    assert cloud.calls.count("inverters") == 2
    assert not (inverter_entities(ad) & expected_ids(gone))


async def test_restart_spends_no_call_and_republishes(appdaemon_factory: HarnessFactory, cloud: FakeCloud) -> None:
    ad = await start(appdaemon_factory, cloud)
    await discover(ad)
    await fire(ad, "_daily_job", job="detail")
    await fire(ad, "_daily_job", job="batch")
    before = snapshot(ad)
    calls = cloud.calls.total
    assert len(before) == 354

    await ad.restart()
    assert snapshot(ad) == before  # published in initialize(), from the state files
    assert cloud.calls.total == calls
    assert cloud.calls.count("system_details") == 1 and cloud.calls.count("inverters") == 1
    callbacks = {e.callback for e in ad.scheduler_entries(INVERTERS)}
    assert "_first_discovery" not in callbacks
    for job in ("detail", "batch"):  # today's jobs are done: next run tomorrow, not a catch-up
        (entry,) = [e for e in ad.scheduler_entries(INVERTERS) if e.kwargs.get("job") == job]
        assert entry.timestamp.astimezone(BERLIN).date() > datetime.now(BERLIN).date()
    await ad.wait_idle()
    assert cloud.calls.total == calls


async def test_restart_with_the_production_apps_site_file_spends_no_discovery(
    appdaemon_factory: HarnessFactory, cloud: FakeCloud
) -> None:
    ad = await start(appdaemon_factory, cloud)
    await discover(ad)
    site_file = ad.config_dir / "apsystems_state" / f"site_{cloud.sid.lower()}.json"
    (ad.config_dir / "apsystems_state" / f"inverters_{cloud.sid.lower()}.json").unlink()
    assert site_file.is_file()  # as if only the production app had run before
    calls = cloud.calls.total
    await ad.restart()
    assert len(inverter_entities(ad)) == 354 and cloud.calls.total == calls


async def test_manual_refresh_event_button_and_refusal(appdaemon_factory: HarnessFactory, cloud: FakeCloud) -> None:
    ad = await start(appdaemon_factory, cloud, budget={"monthly_quota": 60}, refresh_button="input_button.aps_refresh")
    await discover(ad)
    one = listed(cloud)[12]
    await ad.fire_event("apsystems_refresh_inverters", uid=int(one.uid))  # unquoted in a script
    await ad.wait_idle()
    assert cloud.calls.count("inverter_energy:minutely") == 1
    assert isinstance(ad.state(f"{PREFIX}{one.uid}_temperature"), float)

    await ad.set_state("input_button.aps_refresh", "2026-06-21T11:00:00+00:00")
    await ad.wait_idle(timeout=30)
    assert cloud.calls.count("inverter_energy:minutely") == 31
    assert all(isinstance(ad.state(f"{PREFIX}{i.uid}_frequency"), float) for i in listed(cloud))

    # 2 + 31 calls used of 60: another 30 would pass the quota
    await ad.fire_event("apsystems_refresh_inverters")
    await ad.wait_idle()
    assert cloud.calls.count("inverter_energy:minutely") == 31
    assert any("refused by the API budget" in line for line in ad.app_log(INVERTERS))
    refusal = ad.attributes(f"sensor.apsystems_{cloud.sid.lower()}_api_calls")["last_refusal"]
    assert refusal.startswith("manual:")


@pytest.mark.parametrize(
    ("code", "calls_expected"),
    [
        (1001, None),  # no data: every due inverter is asked, values kept
        (5000, 3),  # transient: three in a row stop the loop until the next run
        (7002, 1),  # rate limit: stop at once
        (2005, 1),  # quota exhausted: stop at once
        (4000, 1),  # auth: stop at once
    ],
)
async def test_errors_in_the_detail_loop(
    appdaemon_factory: HarnessFactory, cloud: FakeCloud, code: int, calls_expected: int | None
) -> None:
    ad = await start(appdaemon_factory, cloud)
    await discover(ad)
    due = await ad.call_app(BUDGET, "detail_due", [i.uid for i in listed(cloud)])
    await ad.call_app(INVERTERS, "refresh", due[:1])  # one known value to keep
    kept = ad.state(f"{PREFIX}{due[0]}_temperature")
    assert isinstance(kept, float)
    before = cloud.calls.count("inverter_energy:minutely")

    cloud.faults.inject_code(code, route="inverter_energy")
    await fire(ad, "_daily_job", job="detail")
    spent = cloud.calls.count("inverter_energy:minutely") - before
    assert spent == (len(due) if calls_expected is None else calls_expected)
    assert ad.state(f"{PREFIX}{due[0]}_temperature") == kept
    assert no_exception_escaped(ad)
    assert any(e.kwargs.get("job") == "detail" for e in ad.scheduler_entries(INVERTERS))  # re-armed


@pytest.mark.parametrize(("quota", "room"), [(300, False), (100_000, True)])
async def test_extra_batch_only_with_room_in_the_budget(
    appdaemon_factory: HarnessFactory, cloud: FakeCloud, quota: int, room: bool
) -> None:
    # A small quota leaves no surplus after production polling, a paid tier a large one; a place where the sun is up now
    # (for the budget's solar window) lets the extra poll run whatever the time of the test.
    sunny = daylight()
    budget = {"monthly_quota": quota, "latitude": sunny.latitude, "longitude": sunny.longitude}
    ad = await start(appdaemon_factory, cloud, budget=budget, batch_every=900)
    await discover(ad)
    now = datetime.now(BERLIN)
    window = await ad.call_app(BUDGET, "solar_window", now)
    window_open = window.contains(now)
    await fire(ad, "_extra_batch_tick")
    plan = await ad.call_app(BUDGET, "plan")
    assert extra_batch_room(plan, 3)[0] is room, plan.reason
    expected = 3 if window_open and room else 0
    print(f"solar window open at the daylight site: {window_open}; extra batch calls {expected}")
    assert cloud.calls.count("batch:power") == expected
    if expected:
        attrs = ad.attributes(f"{PREFIX}{listed(cloud)[0].uid}_power")
        assert attrs["source"] == "batch"


async def test_with_the_production_app_the_system_is_discovered_once(
    appdaemon_factory: HarnessFactory, cloud: FakeCloud
) -> None:
    apps = apps_for(cloud)
    apps["apsystems_production"] = {
        "module": "apsystems.production_app",
        "class": "ProductionApp",
        "dependencies": [BUDGET],
        "app_id": DEFAULT_APP_ID,
        "app_secret": DEFAULT_APP_SECRET,
        "sid": cloud.sid,
        "base_url": cloud.url,
        "budget": BUDGET,
    }
    apps[INVERTERS]["dependencies"] = [BUDGET, "apsystems_production"]
    ad = await appdaemon_factory(apps, location=MUNICH)
    for _ in range(2):  # the production app discovers first: details, then the inverter list
        (tick,) = [e for e in ad.scheduler_entries("apsystems_production") if e.callback == "_tick"]
        await ad.fire_timer("apsystems_production", tick.handle)
        await ad.wait_idle(timeout=30)
    assert cloud.calls.count("system_details") == 1 and cloud.calls.count("inverters") == 1
    await discover(ad)  # reads the shared site file
    assert cloud.calls.count("system_details") == 1 and cloud.calls.count("inverters") == 1
    assert len(inverter_entities(ad)) == 354
    assert ad.get_app(BUDGET).fleet.inverters == 30


async def test_inverter_missing_from_the_site_file_is_forgotten_at_start(
    appdaemon_factory: HarnessFactory, cloud: FakeCloud
) -> None:
    ad = await start(appdaemon_factory, cloud)
    await discover(ad)
    state_dir = ad.config_dir / "apsystems_state"
    site_path = state_dir / f"site_{cloud.sid.lower()}.json"
    site = json.loads(site_path.read_text())
    gone = site["devices"][0]["inverters"].pop(0)["uid"]
    site_path.write_text(json.dumps(site))  # as if a scan had removed it just before a crash
    await ad.restart()
    assert not [e for e in inverter_entities(ad) if gone in e]
    assert len(inverter_entities(ad)) == 354 - 10
    store = json.loads((state_dir / f"inverters_{cloud.sid.lower()}.json").read_text())
    assert gone not in store["inverters"]
    assert any(f"Removed inverter {gone}" in line for line in ad.app_log(INVERTERS))


async def test_first_start_in_daylight_reads_detail_at_once(
    appdaemon_factory: HarnessFactory, cloud: FakeCloud
) -> None:
    sunny = daylight()  # the budget's solar window is open now there
    ad = await start(appdaemon_factory, cloud, budget={"latitude": sunny.latitude, "longitude": sunny.longitude})
    await discover(ad)
    now = datetime.now(BERLIN)
    window = await ad.call_app(BUDGET, "solar_window", now)
    (entry,) = [e for e in ad.scheduler_entries(INVERTERS) if e.kwargs.get("job") == "detail"]
    soon = (entry.timestamp - now).total_seconds() <= 60
    assert soon is window.contains(now)
    if soon:  # the same calls as at detail_time, only earlier; today's detail_time is then skipped
        await fire(ad, "_daily_job", job="detail")
        (entry,) = [e for e in ad.scheduler_entries(INVERTERS) if e.kwargs.get("job") == "detail"]
        assert entry.timestamp.astimezone(BERLIN).date() > now.date()
