"""The Charge HQ forwarder inside a real AppDaemon 4.5.13, pushing to the local receiver over HTTP.

How time is driven. AppDaemon runs in real time and its time travel is broken, so no test waits
for a push interval. Two things stand in for the minutes that pass in production:

* The loop's timer is fired by hand. The app keeps exactly one ``run_in`` timer pending
  (``_tick``); :func:`push_cycle` moves the pacing clock on and fires that timer through
  AppDaemon's own dispatch (``harness.fire_timer``). Firing it early is allowed and is itself a
  test: the app must hold the push back and re-arm, as it must after a restart.
* The pacing clock is a fake one. The app's only seam is ``ChargeHQForwarder.pacing_clock()``,
  the clock its ``Sender`` spaces requests by (real wall time in production). A four-line
  subclass, written into a test-only package that the harness copies next to ``chargehq/``,
  returns the module-level ``PACING`` clock of this file (shared by object: the subclass
  imports it from here; modules outside AppDaemon's app dir are not reloaded on restart). The
  receiver stamps arrivals with the same clock, so its ``min_spacing_s()`` is measured in the
  time the app paces by; without pacing, pushes would arrive 0 s apart and the checks fail.

Everything else is real: AppDaemon's scheduler, worker threads and executor, the state store,
``requests`` over 127.0.0.1, and the data freshness checks, which use AppDaemon's clock
(``get_now()``) against the sources' own times. Tests that need no pacing use the production
class itself. Sources are HA-like entities in ``default`` (string states, ``unit_of_measurement``,
``last_updated``/``last_reported``) or the production app's share in the ``apsystems`` namespace.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import textwrap
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from apsystems.household.share import HouseholdShare, household_entity
from apsystems.production.share import NAMESPACE, ProductionShare, production_entity
from chargehq.config import DEFAULT_ENDPOINT
from chargehq.payload import epoch_ms
from fakes.chargehq_receiver import ChargeHQReceiver, ReceivedPush
from tests.appdaemon.conftest import HarnessFactory
from tests.chargehq.conftest import FakeClock
from tests.support.appdaemon_harness import REPO_APPS_DIR, AppDaemonHarness, repo_packages

pytestmark = pytest.mark.appdaemon

APP = "chargehq"
API_KEY = "8c7d2e1f-5a4b-4c3d-9e8f-1a2b3c4d5e6f"
STATUS = "sensor.chargehq_push_status"
SID = "AZ12649A3DFF"
REDACTED = "<redacted>"
EXAMPLE = REPO_APPS_DIR / "apps.yaml.example"

PACING = FakeClock(datetime.now(timezone.utc))
"""The clock the test subclass gives the Sender and the receiver stamps arrivals with."""

CLOCKED_APP = '''\
"""Test-only: the production app with the test's pacing clock (tests/appdaemon/test_chargehq_app.py)."""

from typing import Any

from chargehq.forwarder_app import ChargeHQForwarder
from chargehq.sender import Clock
from tests.appdaemon.test_chargehq_app import PACING


class ClockedForwarder(ChargeHQForwarder):
    def pacing_clock(self) -> Clock:
        return PACING


class FlakyForwarder(ClockedForwarder):
    """Publishing the status fails once, as it might while HA is away."""

    def initialize(self) -> None:
        self.publish_failures_left = 1
        super().initialize()

    def _publish(self, plan: Any) -> None:
        if self.publish_failures_left > 0:
            self.publish_failures_left -= 1
            raise RuntimeError("injected failure while publishing the status")
        super()._publish(plan)
'''


# --------------------------------------------------------------------------- fixtures and helpers


@pytest.fixture
def pacing() -> FakeClock:
    """The shared pacing clock, set to the real time (status times then look like real ones)."""
    PACING.now = datetime.now(timezone.utc).replace(microsecond=0)
    return PACING


@pytest.fixture
def receiver(pacing: FakeClock) -> Iterator[ChargeHQReceiver]:
    with ChargeHQReceiver(API_KEY, clock=pacing.monotonic, wall_clock=pacing, max_lifetime_s=120) as server:
        yield server


@pytest.fixture
def testkit(tmp_path: Path) -> Path:
    package = tmp_path / "testkit_src" / "chargehq_testkit"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('"""Test-only apps."""\n', encoding="utf-8")
    (package / "clocked_app.py").write_text(CLOCKED_APP, encoding="utf-8")
    return package


@pytest.fixture
def caplog_info(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG)
    yield caplog


def app_entry(receiver: ChargeHQReceiver, *, clocked: bool = True, **args: Any) -> dict[str, Any]:
    entry: dict[str, Any] = (
        {"module": "chargehq_testkit.clocked_app", "class": "ClockedForwarder"}
        if clocked
        else {"module": "chargehq.forwarder_app", "class": "ChargeHQForwarder"}
    )
    entry.update({"api_key": API_KEY, "endpoint": receiver.endpoint, "push_interval": 60})
    entry.update(args)
    return entry


async def start(
    factory: HarnessFactory, testkit: Path, receiver: ChargeHQReceiver, entry: dict[str, Any], **kwargs: Any
) -> AppDaemonHarness:
    """Start AppDaemon with the app and wait until its start-up push has been answered."""
    ad = await factory({APP: entry}, packages=[*repo_packages(), testkit], **kwargs)
    await settled(ad, receiver, pushes=1)
    return ad


async def settled(ad: AppDaemonHarness, receiver: ChargeHQReceiver, *, pushes: int, timeout: float = 5.0) -> None:
    """Wait until the receiver has ``pushes`` pushes and the app has re-armed its one timer."""
    await ad.wait_for(lambda: len(receiver.pushes) >= pushes, timeout=timeout, message=f"{pushes} push(es)")
    await ad.wait_for(lambda: len(ad.scheduler_entries(APP)) == 1, timeout=timeout, message="the timer re-armed")
    await ad.wait_idle()


async def push_cycle(
    ad: AppDaemonHarness, receiver: ChargeHQReceiver, advance_s: float, *, timeout: float = 5.0
) -> ReceivedPush | None:
    """Move the pacing clock on, fire the app's timer, and return the push it made (None: held back)."""
    before = len(receiver.pushes)
    PACING.advance(advance_s)
    [timer] = ad.scheduler_entries(APP)
    assert timer.callback == "_tick"
    await ad.fire_timer(APP, timer.handle)
    await ad.wait_for(lambda: len(ad.scheduler_entries(APP)) == 1, timeout=timeout, message="the timer re-armed")
    await ad.wait_idle()
    new = receiver.pushes[before:]
    assert len(new) <= 1, f"one timer made {len(new)} pushes"
    return new[0] if new else None


async def set_sensor(ad: AppDaemonHarness, entity_id: str, state: str, unit: str | None, *, age_s: float = 0.0) -> None:
    """An entity as the HASS plugin stores it: a string state, a unit, and HA's update times.

    The plugin-less ``default`` namespace keeps only ``last_changed`` and merges attributes; as
    Home Assistant sends them, the attributes are replaced and ``last_updated``/``last_reported``
    (which the freshness check reads) added.
    """
    attributes: dict[str, Any] = {"friendly_name": entity_id.split(".", 1)[1].replace("_", " ")}
    if unit is not None:
        attributes["unit_of_measurement"] = unit
    await ad.set_state(entity_id, state, attributes)
    stamp = (datetime.now(timezone.utc) - timedelta(seconds=age_s)).isoformat()
    stored = ad.ad.state.state["default"][entity_id]
    stored["attributes"] = attributes
    stored["last_updated"] = stamp
    stored["last_reported"] = stamp


async def share_production(
    ad: AppDaemonHarness, power_kw: float, measured_at: datetime, *, window_open: bool = True
) -> None:
    """Publish what the APsystems production app shares (apps/apsystems/production/share.py)."""
    share = ProductionShare(SID, power_kw, measured_at, 300.0, window_open, "Australia/Sydney")
    state, attributes = share.to_state()
    await ad.set_state(production_entity(SID), state, attributes, namespace=NAMESPACE)


def body(push: ReceivedPush | None) -> dict[str, Any]:
    assert push is not None, "expected a push, the app held it back"
    assert push.accepted, f"the receiver answered {push.status}: {push.problems}"
    assert isinstance(push.body, dict)
    return push.body


def status(ad: AppDaemonHarness) -> tuple[Any, dict[str, Any]]:
    entity = ad.entity(STATUS)
    assert entity is not None, f"{STATUS} was not published"
    return entity.state, entity.attributes


def gaps(receiver: ChargeHQReceiver) -> list[float]:
    times = [push.monotonic for push in receiver.pushes]
    return [round(later - earlier, 3) for earlier, later in itertools.pairwise(times)]


def assert_key_nowhere(ad: AppDaemonHarness, caplog: pytest.LogCaptureFixture, *files: Path) -> None:
    """The API key is in no log line, record (with exception text), entity, state file or push record."""
    texts = [ad.log_text, caplog.text]
    texts += [record.getMessage() for record in caplog.records]
    texts += [str(record.exc_info[1]) for record in caplog.records if record.exc_info and record.exc_info[1]]
    if ad.running:
        # Every entity and attribute of every namespace but AppDaemon's own ``admin``: 4.5.13 copies
        # each app's args, secrets resolved, into its ``app.<name>`` entity there (not ours to change).
        texts += [repr(entities) for namespace, entities in ad.ad.state.state.items() if namespace != "admin"]
    texts += [path.read_text(encoding="utf-8") for path in files if path.exists()]
    for text in texts:
        assert API_KEY not in text


# --------------------------------------------------------------------------- payloads


async def test_pv_only_site_pushes_production_in_kw_from_watts(
    appdaemon_factory: HarnessFactory, testkit: Path, receiver: ChargeHQReceiver
) -> None:
    """The production class itself, added to a running AppDaemon whose sensor already exists."""
    ad = await appdaemon_factory({}, packages=[*repo_packages(), testkit])
    await set_sensor(ad, "sensor.pv", "3456", "W")

    ad.write_apps_yaml({APP: app_entry(receiver, clocked=False, production="sensor.pv")})
    await settled(ad, receiver, pushes=1, timeout=10)

    assert body(receiver.pushes[0]) == {"apiKey": REDACTED, "siteMeters": {"production_kw": 3.456}}
    state, attributes = status(ad)
    assert state == "ok"
    assert attributes["last_payload"] == {"siteMeters": {"production_kw": 3.456}}
    assert attributes["last_http_status"] == 200
    assert attributes["consecutive_failures"] == 0
    assert attributes["equation_residual_kw"] is None
    assert attributes["friendly_name"] == "Charge HQ push status"


async def test_startup_without_the_sensor_is_an_error_push_not_zero(
    appdaemon_factory: HarnessFactory, testkit: Path, receiver: ChargeHQReceiver
) -> None:
    ad = await start(appdaemon_factory, testkit, receiver, app_entry(receiver, production="sensor.pv"))

    assert body(receiver.pushes[0]) == {
        "apiKey": REDACTED,
        "error": "production: sensor.pv does not exist in Home Assistant",
    }
    state, attributes = status(ad)
    assert state == "error"
    assert attributes["last_payload"] == {"error": "production: sensor.pv does not exist in Home Assistant"}
    assert attributes["last_http_status"] == 200  # Charge HQ took the error push; the data are what failed


@pytest.mark.parametrize(
    ("grid", "sensors", "expected"),
    [
        pytest.param(
            {"consumption": "sensor.house_power"},
            [("sensor.house_power", "1500", "W")],
            {"production_kw": 4.2, "net_import_kw": -2.7, "consumption_kw": 1.5},
            id="consumption-meter",
        ),
        pytest.param(
            {"net_import": {"entity": "sensor.grid_power", "invert": True}},  # the meter counts export positive
            [("sensor.grid_power", "2.7", "kW")],
            {"production_kw": 4.2, "net_import_kw": -2.7, "consumption_kw": 1.5},
            id="export-positive-grid-meter-inverted",
        ),
        pytest.param(
            {"grid_import": "sensor.grid_import", "grid_export": "sensor.grid_export"},
            [("sensor.grid_import", "0", "W"), ("sensor.grid_export", "2700", "W")],
            {"production_kw": 4.2, "net_import_kw": -2.7, "consumption_kw": 1.5},
            id="separate-import-export",
        ),
    ],
)
async def test_pv_and_consumption_meter_site(
    appdaemon_factory: HarnessFactory,
    testkit: Path,
    receiver: ChargeHQReceiver,
    grid: dict[str, Any],
    sensors: list[tuple[str, str, str]],
    expected: dict[str, float],
) -> None:
    ad = await start(appdaemon_factory, testkit, receiver, app_entry(receiver, production="sensor.pv_power", **grid))
    await set_sensor(ad, "sensor.pv_power", "4.2", "kW")
    for entity_id, value, unit in sensors:
        await set_sensor(ad, entity_id, value, unit)

    push = await push_cycle(ad, receiver, 60)

    assert body(push) == {"apiKey": REDACTED, "siteMeters": expected}
    assert push is not None and push.problems == () and push.api_key_ok
    state, attributes = status(ad)
    assert state == "ok"
    assert attributes["last_payload"] == {"siteMeters": expected}


async def test_pv_meter_and_battery_site_with_energy_counters(
    appdaemon_factory: HarnessFactory,
    testkit: Path,
    receiver: ChargeHQReceiver,
    caplog_info: pytest.LogCaptureFixture,
) -> None:
    entry = app_entry(
        receiver,
        production="sensor.pv_power",
        consumption="sensor.house_power",
        net_import="sensor.grid_power",
        battery_discharge={"entity": "sensor.battery_power", "invert": True},  # the inverter counts charging positive
        battery_soc="sensor.battery_level",
        battery_energy="sensor.battery_stored",
        imported_kwh="sensor.grid_imported",
        exported_kwh="sensor.grid_exported",
    )
    ad = await start(appdaemon_factory, testkit, receiver, entry)
    for entity_id, value, unit in [
        ("sensor.pv_power", "5000", "W"),
        ("sensor.house_power", "2.0", "kW"),
        ("sensor.grid_power", "-1000", "W"),
        ("sensor.battery_power", "2000", "W"),
        ("sensor.battery_level", "55", "%"),
        ("sensor.battery_stored", "7425", "Wh"),
        ("sensor.grid_imported", "1234567", "Wh"),
        ("sensor.grid_exported", "2345.5", "kWh"),
    ]:
        await set_sensor(ad, entity_id, value, unit)

    push = await push_cycle(ad, receiver, 60)

    assert body(push) == {
        "apiKey": REDACTED,
        "siteMeters": {
            "production_kw": 5.0,
            "net_import_kw": -1.0,
            "consumption_kw": 2.0,
            "imported_kwh": 1234.567,
            "exported_kwh": 2345.5,
            "battery_discharge_kw": -2.0,
            "battery_soc": 0.55,
            "battery_energy_kwh": 7.425,
        },
    }
    assert push is not None and push.equation_residual_kw == 0
    state, attributes = status(ad)
    assert state == "ok"
    assert attributes["equation_residual_kw"] == 0

    # The house meter now disagrees by 1 kW: logged once, however many pushes carry it.
    await set_sensor(ad, "sensor.house_power", "3.0", "kW")
    for _ in range(3):
        assert body(await push_cycle(ad, receiver, 60))["siteMeters"]["consumption_kw"] == 3.0
    assert status(ad)[1]["equation_residual_kw"] == 1.0
    mismatch = [line for line in ad.app_log(APP) if "power flows do not add up" in line]
    assert len(mismatch) == 1
    assert "+1.000 kW" in mismatch[0]
    assert any(r.levelno == logging.WARNING and "do not add up" in r.getMessage() for r in caplog_info.records)

    await set_sensor(ad, "sensor.house_power", "2.0", "kW")
    await push_cycle(ad, receiver, 60)
    await push_cycle(ad, receiver, 60)
    assert len([line for line in ad.app_log(APP) if "power flows add up again" in line]) == 1
    assert len([line for line in ad.app_log(APP) if "power flows do not add up" in line]) == 1


# --------------------------------------------------------------------------- unusable production


@pytest.mark.parametrize(
    ("value", "unit", "age_s", "error_state", "reason"),
    [
        ("unavailable", "W", 0, "error", "production: sensor.pv_power: state is 'unavailable'"),
        ("unknown", "W", 0, "error", "production: sensor.pv_power: state is 'unknown'"),
        ("3000", None, 0, "error", "sensor.pv_power: no unit_of_measurement"),
        ("3000", "W", 600, "source_stale", "production (sensor.pv_power): stale, measured 600 s ago (max_age 300 s)"),
    ],
    ids=["unavailable", "unknown", "no-unit", "stale"],
)
async def test_unusable_production_sensor_is_an_error_push_never_zero(
    appdaemon_factory: HarnessFactory,
    testkit: Path,
    receiver: ChargeHQReceiver,
    value: str,
    unit: str | None,
    age_s: float,
    error_state: str,
    reason: str,
) -> None:
    entry = app_entry(receiver, production="sensor.pv_power", consumption="sensor.house_power")
    ad = await start(appdaemon_factory, testkit, receiver, entry)
    await set_sensor(ad, "sensor.house_power", "800", "W")
    await set_sensor(ad, "sensor.pv_power", "2500", "W")
    assert body(await push_cycle(ad, receiver, 60))["siteMeters"]["production_kw"] == 2.5

    logged = len(ad.app_log(APP))

    await set_sensor(ad, "sensor.pv_power", value, unit, age_s=age_s)
    pushed = body(await push_cycle(ad, receiver, 60))

    assert set(pushed) == {"apiKey", "error"}  # no siteMeters, so no production_kw 0
    assert reason in pushed["error"]
    state, attributes = status(ad)
    assert state == error_state
    assert attributes["last_payload"] == {"error": pushed["error"]}
    assert attributes["last_http_status"] == 200
    warnings = [line for line in ad.app_log(APP)[logged:] if line.startswith("Charge HQ gets an error push")]
    assert len(warnings) == 1 and reason in warnings[0]

    await push_cycle(ad, receiver, 60)  # the same problem again: not logged again
    assert len([line for line in ad.app_log(APP)[logged:] if line.startswith("Charge HQ gets an error push")]) == 1

    await set_sensor(ad, "sensor.pv_power", "2600", "W")
    assert body(await push_cycle(ad, receiver, 60))["siteMeters"]["production_kw"] == 2.6
    assert status(ad)[0] == "ok"
    assert "Charge HQ sources are all available again" in ad.app_log(APP)


# --------------------------------------------------------------------------- production: apsystems


async def test_apsystems_production_is_pushed_with_its_measurement_time(
    appdaemon_factory: HarnessFactory, testkit: Path, receiver: ChargeHQReceiver
) -> None:
    entry = app_entry(receiver, production="apsystems", apsystems_sid=SID, consumption="sensor.house_power")
    ad = await start(appdaemon_factory, testkit, receiver, entry)
    startup = body(receiver.pushes[0])
    assert startup == {
        "apiKey": REDACTED,
        "error": "production: the APsystems production app has not shared a power reading yet; "
        "consumption: sensor.house_power does not exist in Home Assistant",
    }

    measured_at = datetime.now(timezone.utc).replace(microsecond=123000) - timedelta(minutes=7)
    await share_production(ad, 2.345, measured_at)
    await set_sensor(ad, "sensor.house_power", "1200", "W")
    pushed = body(await push_cycle(ad, receiver, 60))

    assert pushed == {
        "apiKey": REDACTED,
        "tsms": epoch_ms(measured_at),
        "siteMeters": {"production_kw": 2.345, "net_import_kw": -1.145, "consumption_kw": 1.2},
    }
    assert pushed["tsms"] == int(measured_at.timestamp() * 1000)
    assert status(ad)[0] == "ok"

    # Older than 2 × the polling interval + 15 min: stale, an error push rather than old data.
    await share_production(ad, 2.345, datetime.now(timezone.utc) - timedelta(hours=2))
    stale = body(await push_cycle(ad, receiver, 60))
    assert set(stale) == {"apiKey", "error"}
    assert "production (apsystems): stale, measured 7200 s ago (max_age 1500 s)" in stale["error"]
    assert status(ad)[0] == "source_stale"

    # Outside the solar window the production app does not poll: a real 0, measured now.
    await share_production(ad, 0.0, datetime.now(timezone.utc) - timedelta(hours=5), window_open=False)
    night = body(await push_cycle(ad, receiver, 60))
    assert night == {
        "apiKey": REDACTED,
        "siteMeters": {"production_kw": 0.0, "net_import_kw": 1.2, "consumption_kw": 1.2},
    }


async def test_all_apsystems_meter_and_battery_fields_are_pushed_with_the_cloud_time(
    appdaemon_factory: HarnessFactory, testkit: Path, receiver: ChargeHQReceiver
) -> None:
    """The meters app's share (apps/apsystems/household/share.py) read from the ``apsystems`` namespace."""
    sources = ("consumption", "net_import", "battery_discharge", "battery_soc", "imported_kwh", "exported_kwh")
    fields: dict[str, Any] = dict.fromkeys(sources, "apsystems")
    entry = app_entry(receiver, production="apsystems", apsystems_sid=SID, **fields)
    ad = await start(appdaemon_factory, testkit, receiver, entry)
    assert "the APsystems meters app has not shared" in body(receiver.pushes[0])["error"]

    measured_at = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=6)
    values = {
        "production": 0.374,
        "consumption": 0.232,
        "net_import": -0.142,
        "battery_discharge": 0.0,
        "battery_soc": 1.0,
        "imported_kwh": 1298.479,
        "exported_kwh": 6938.631,
    }
    share = HouseholdShare(SID, values, dict.fromkeys(values, measured_at.isoformat()), {}, 900.0)
    state, attributes = share.to_state()
    await ad.set_state(household_entity(SID), state, attributes, namespace=NAMESPACE)
    pushed = body(await push_cycle(ad, receiver, 60))
    assert pushed == {
        "apiKey": REDACTED,
        "tsms": epoch_ms(measured_at),
        "siteMeters": {
            "production_kw": 0.374,
            "net_import_kw": -0.142,
            "consumption_kw": 0.232,
            "imported_kwh": 1298.479,
            "exported_kwh": 6938.631,
            "battery_discharge_kw": 0.0,
            "battery_soc": 1.0,
        },
    }

    # the meter's last read failed: an error push, never a 0
    failed = HouseholdShare(SID, {}, {}, dict.fromkeys(values, "meter 215000004402: read failed (timeout)"), 900.0)
    state, attributes = failed.to_state()
    await ad.set_state(household_entity(SID), state, attributes, namespace=NAMESPACE)
    error = body(await push_cycle(ad, receiver, 60))
    assert set(error) == {"apiKey", "error"} and "read failed (timeout)" in error["error"]
    assert status(ad)[0] == "error"


# --------------------------------------------------------------------------- pacing, back-off, restart


async def test_failures_back_off_and_recover_never_closer_than_30_s_across_a_restart(
    appdaemon_factory: HarnessFactory,
    testkit: Path,
    receiver: ChargeHQReceiver,
    caplog_info: pytest.LogCaptureFixture,
) -> None:
    # A callback that held the worker thread for the 8 s read timeout would be reported.
    ad = await start(
        appdaemon_factory,
        testkit,
        receiver,
        app_entry(receiver, production="sensor.pv_power"),
        appdaemon_options={"thread_duration_warning_threshold": 2},
    )
    await set_sensor(ad, "sensor.pv_power", "1800", "W")
    assert body(await push_cycle(ad, receiver, 60))["siteMeters"] == {"production_kw": 1.8}

    # HTTP 500 twice: the second failure doubles the wait.
    receiver.fail_next(2, status=500, body='{"error": "internal trouble at Charge HQ"}')
    failed = await push_cycle(ad, receiver, 60)
    assert failed is not None and failed.status == 500
    state, attributes = status(ad)
    assert (state, attributes["last_http_status"], attributes["consecutive_failures"]) == ("error", 500, 1)
    assert any("HTTP 500" in line and "internal trouble at Charge HQ" in line for line in ad.app_log(APP))
    assert (await push_cycle(ad, receiver, 60)) is not None
    assert status(ad)[1]["consecutive_failures"] == 2
    [timer] = ad.scheduler_entries(APP)
    assert 115 < (timer.timestamp - datetime.now(timezone.utc)).total_seconds() <= 120

    # Fired after 60 of the 120 s: held back, re-armed for the rest.
    assert (await push_cycle(ad, receiver, 60)) is None
    [timer] = ad.scheduler_entries(APP)
    assert 55 < (timer.timestamp - datetime.now(timezone.utc)).total_seconds() <= 60

    # Charge HQ stalls: the 6 s read timeout is a failure too, and runs outside the app's thread.
    receiver.stall_next(1, seconds=20)
    stalled = await push_cycle(ad, receiver, 60, timeout=15)
    assert stalled is not None and stalled.status is None
    state, attributes = status(ad)
    assert (state, attributes["consecutive_failures"], attributes["last_http_status"]) == ("error", 3, None)
    assert "Timeout" in attributes["last_error"]
    assert any("Charge HQ push failed (ReadTimeout" in line for line in ad.app_log(APP))
    assert not any("Excessive time spent in callback" in line for line in ad.log_lines)

    # A restart in the middle of the 240 s back-off: no push at start-up, the status is back at once.
    before = len(receiver.pushes)
    await ad.restart()
    await ad.wait_for(lambda: len(ad.scheduler_entries(APP)) == 1, message="the timer armed after the restart")
    await ad.wait_idle()
    await asyncio.sleep(0.3)
    assert len(receiver.pushes) == before
    state, attributes = status(ad)
    assert (state, attributes["consecutive_failures"]) == ("error", 3)
    assert attributes["last_payload"] == {"siteMeters": {"production_kw": 1.8}}

    await set_sensor(ad, "sensor.pv_power", "1900", "W")  # the default namespace starts empty again
    assert (await push_cycle(ad, receiver, 200)) is None  # 200 of 240 s
    recovered = await push_cycle(ad, receiver, 40)
    assert body(recovered)["siteMeters"] == {"production_kw": 1.9}
    state, attributes = status(ad)
    assert (state, attributes["consecutive_failures"], attributes["last_http_status"]) == ("ok", 0, 200)
    assert any("accepted again (HTTP 200) after 3 failures" in line for line in ad.app_log(APP))
    assert body(await push_cycle(ad, receiver, 60))["siteMeters"] == {"production_kw": 1.9}

    assert gaps(receiver) == [60, 60, 60, 120, 240, 60]
    spacing = receiver.min_spacing_s()
    assert spacing is not None and spacing >= 30
    assert_key_nowhere(ad, caplog_info, *(ad.config_dir / "apsystems_state").iterdir())


async def test_restart_right_after_a_push_waits_the_30_s_minimum(
    appdaemon_factory: HarnessFactory, testkit: Path, receiver: ChargeHQReceiver
) -> None:
    entry = app_entry(receiver, production="apsystems", apsystems_sid=SID, push_interval=30, state_dir="pacing")
    ad = await start(appdaemon_factory, testkit, receiver, entry)
    assert sorted(path.name for path in (ad.config_dir / "pacing").iterdir()) == [
        f"chargehq_{APP}.json",
        f"chargehq_{APP}_status.json",
    ]
    await share_production(ad, 1.0, datetime.now(timezone.utc) - timedelta(minutes=5))
    assert body(await push_cycle(ad, receiver, 30))["siteMeters"] == {"production_kw": 1.0}

    for advance in (5, 10):  # restarts 5 s and 15 s after that push
        PACING.advance(advance)
        await ad.restart()
        await settled(ad, receiver, pushes=2)
        assert len(receiver.pushes) == 2
    assert (await push_cycle(ad, receiver, 14)) is None  # 29 s after the push
    assert body(await push_cycle(ad, receiver, 1))["siteMeters"] == {"production_kw": 1.0}

    assert gaps(receiver) == [30, 30]
    assert receiver.min_spacing_s() == 30


async def test_network_error_is_logged_and_retried(
    appdaemon_factory: HarnessFactory, testkit: Path, receiver: ChargeHQReceiver, caplog_info: pytest.LogCaptureFixture
) -> None:
    closed = ChargeHQReceiver(API_KEY).start()
    endpoint = closed.endpoint
    closed.stop()  # nothing listens there any more: connection refused
    ad = await appdaemon_factory(
        {APP: app_entry(receiver, production="sensor.pv_power", endpoint=endpoint)},
        packages=[*repo_packages(), testkit],
    )
    await ad.wait_for(lambda: ad.entity(STATUS), message="the status entity")
    await ad.wait_for(lambda: len(ad.scheduler_entries(APP)) == 1, message="the timer re-armed")

    state, attributes = status(ad)
    assert (state, attributes["consecutive_failures"], attributes["last_http_status"]) == ("error", 1, None)
    assert "ConnectionError" in attributes["last_error"]
    assert any("Charge HQ push failed (ConnectionError" in line for line in ad.app_log(APP))
    assert_key_nowhere(ad, caplog_info)


# --------------------------------------------------------------------------- secrets and configuration


async def test_the_api_key_appears_in_no_log_attribute_or_error_text(
    appdaemon_factory: HarnessFactory,
    testkit: Path,
    receiver: ChargeHQReceiver,
    caplog_info: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    """``!secret`` as in the add-on, the app at DEBUG, and a Charge HQ that echoes the key back."""
    harness = AppDaemonHarness(
        tmp_path / "ad", {}, packages=[*repo_packages(), testkit], secrets={"chargehq_api_key": API_KEY}
    )
    harness.write_apps_yaml_text(
        textwrap.dedent(
            f"""\
            {APP}:
              module: chargehq_testkit.clocked_app
              class: ClockedForwarder
              log_level: DEBUG
              api_key: !secret chargehq_api_key
              endpoint: {receiver.endpoint}
              push_interval: 60
              production: sensor.pv_power
            """
        )
    )
    receiver.fail_next(1, status=401, body=f'{{"error": "apiKey {API_KEY} is not valid"}}')
    async with harness as ad:
        await settled(ad, receiver, pushes=1)
        assert harness.get_app(APP).args["api_key"] == API_KEY  # the secret did reach the app
        await set_sensor(ad, "sensor.pv_power", "900", "W")
        assert (await push_cycle(ad, receiver, 60)) is not None
        assert status(ad)[0] == "ok"

        assert any("HTTP 401" in line and REDACTED in line for line in ad.app_log(APP))
        assert_key_nowhere(ad, caplog_info, *(ad.config_dir / "apsystems_state").iterdir())
    assert [push.api_key_ok for push in receiver.pushes] == [True, True]  # the key did travel, in the body


@pytest.mark.parametrize(
    ("args", "problems"),
    [
        pytest.param(
            {"api_key": API_KEY, "push_interval": 10, "solar": "sensor.pv_power"},
            ["unknown key 'solar': did you mean 'production'?", "push_interval 10 s", "production is missing"],
            id="three-problems",
        ),
        pytest.param(
            {"api_key": API_KEY, "production": "apsystems"},
            ["apsystems_sid is missing"],
            id="apsystems-without-sid",
        ),
        pytest.param(
            {"production": "sensor.pv_power", "consumption": {"entity": "sensor.house", "invert": "yes"}},
            ["api_key is missing", "consumption: invert must be true or false"],
            id="no-key",
        ),
    ],
)
async def test_bad_config_is_unconfigured_and_never_pushes(
    appdaemon_factory: HarnessFactory,
    receiver: ChargeHQReceiver,
    caplog_info: pytest.LogCaptureFixture,
    args: dict[str, Any],
    problems: list[str],
) -> None:
    entry = {"module": "chargehq.forwarder_app", "class": "ChargeHQForwarder", "endpoint": receiver.endpoint, **args}
    ad = await appdaemon_factory({APP: entry})

    await ad.wait_for(lambda: ad.entity(STATUS), message="the status entity")
    state, attributes = status(ad)
    assert state == "unconfigured"
    assert len(attributes["problems"]) == len(problems)
    for expected, problem in zip(problems, attributes["problems"], strict=True):
        assert expected in problem
    assert attributes["last_payload"] is None
    errors = [r.getMessage() for r in caplog_info.records if r.levelno == logging.ERROR and r.name.endswith(APP)]
    assert len(errors) == len(problems)
    for expected in problems:
        assert any("Charge HQ forwarder is not configured" in line and expected in line for line in errors)

    assert ad.scheduler_entries(APP) == []
    await asyncio.sleep(0.3)
    assert receiver.pushes == []
    assert_key_nowhere(ad, caplog_info)


async def test_the_example_entry_forwards_apsystems_power(
    appdaemon_factory: HarnessFactory, receiver: ChargeHQReceiver
) -> None:
    """The ``chargehq`` entry of apps/apps.yaml.example verbatim, but for the endpoint (the receiver)."""
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    start_at = lines.index(f"{APP}:")
    block = [lines[start_at]]
    block += itertools.takewhile(lambda line: line.startswith("  "), lines[start_at + 1 :])
    text = "\n".join(block).replace(DEFAULT_ENDPOINT, receiver.endpoint) + "\n"
    assert receiver.endpoint in text, "the example no longer names the default endpoint"
    ad = await appdaemon_factory({}, secrets={"chargehq_api_key": API_KEY, "aps_sid": SID})
    measured_at = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=4)
    await share_production(ad, 3.21, measured_at)

    ad.write_apps_yaml_text(text)
    await settled(ad, receiver, pushes=1, timeout=10)

    assert body(receiver.pushes[0]) == {
        "apiKey": REDACTED,
        "tsms": epoch_ms(measured_at),
        "siteMeters": {"production_kw": 3.21},
    }
    assert receiver.pushes[0].api_key_ok
    assert status(ad)[0] == "ok"
    [timer] = ad.scheduler_entries(APP)
    assert 55 < (timer.timestamp - datetime.now(timezone.utc)).total_seconds() <= 60


async def test_a_second_forwarder_has_its_own_status_and_cannot_overwrite_the_first(
    appdaemon_factory: HarnessFactory, testkit: Path, receiver: ChargeHQReceiver
) -> None:
    """A broken second forwarder used to publish ``unconfigured`` over the working one's status."""
    ad = await appdaemon_factory({}, packages=[*repo_packages(), testkit])
    await set_sensor(ad, "sensor.pv", "2500", "W")
    broken = {"module": "chargehq.forwarder_app", "class": "ChargeHQForwarder", "endpoint": receiver.endpoint}
    ad.write_apps_yaml({APP: app_entry(receiver, clocked=False, production="sensor.pv"), "Garage Forwarder": broken})
    await settled(ad, receiver, pushes=1, timeout=10)
    second = "sensor.garage_forwarder_push_status"
    await ad.wait_for(lambda: ad.entity(second), message="the second forwarder's status")
    await ad.wait_idle()
    assert status(ad)[0] == "ok"  # the working forwarder keeps its id and its state
    other = ad.entity(second)
    assert other is not None and other.state == "unconfigured"
    assert other.attributes["friendly_name"] == "Charge HQ push status (Garage Forwarder)"


async def test_the_push_loop_survives_an_exception_in_its_callback(
    appdaemon_factory: HarnessFactory, testkit: Path, receiver: ChargeHQReceiver
) -> None:
    """An exception after a push (here: publishing the status) used to leave no timer armed."""
    entry = app_entry(receiver, production="sensor.pv")
    entry["class"] = "FlakyForwarder"
    ad = await appdaemon_factory({}, packages=[*repo_packages(), testkit])
    await set_sensor(ad, "sensor.pv", "1200", "W")
    ad.write_apps_yaml({APP: entry})
    await settled(ad, receiver, pushes=1, timeout=10)  # the timer is armed again despite the failure
    assert any("injected failure while publishing the status" in line for line in ad.log_lines)
    assert body(await push_cycle(ad, receiver, 60))["siteMeters"] == {"production_kw": 1.2}
    assert status(ad)[0] == "ok"
