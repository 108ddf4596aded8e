"""The budget core with an injected clock: next poll, poll cost, ledger, notices, locks."""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from apsystems.budget.config import BudgetConfig
from apsystems.budget.core import OPEN_GRACE_S, BudgetCore, ledger_file_name, legacy_ledger_file_name
from apsystems.budget.ledger import CallLedger
from apsystems.budget.pacing import BudgetSettings, PollSource
from apsystems.budget.scheduling import next_poll_at
from apsystems.budget.simulation import SimulatedClock as Clock
from apsystems.common.months import zone

LONDON = zone("Europe/London")
APP_ID = "0123456789abcdef0123456789abcdef"


@dataclass(frozen=True)
class Sent:
    sent_at: float
    code: int | None = 0


def config(**settings: object) -> BudgetConfig:
    return BudgetConfig(
        app_id=APP_ID,
        sid="AZ12649A3DFF",
        settings=BudgetSettings(**settings),  # type: ignore[arg-type]
        latitude=51.5,
        longitude=-0.12,
        time_zone="Europe/London",
        month_time_zone=None,
        sunrise_offset_min=30,
        sunset_offset_min=30,
    )


def make_core(clock: Clock, path: Path | None = None, **settings: object) -> BudgetCore:
    ledger = CallLedger(None if path is None else path / ledger_file_name(APP_ID), LONDON)
    state = None if path is None else path / "budget.json"
    return BudgetCore(config(**settings), clock=clock, ledger=ledger, state_path=state)


def spend(core: BudgetCore, clock: Clock, cost: int, purpose: str, code: int = 0) -> bool:
    with core.spending(cost, purpose) as decision:
        if decision.allowed:
            for _ in range(cost):
                core.record(Sent(clock.now.timestamp(), code))
    return decision.allowed


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2027, 6, 15, 12, 30, tzinfo=LONDON))


def test_next_poll_is_the_production_rule_after_the_last_poll(clock: Clock) -> None:
    core = make_core(clock)
    core.set_site(inverters=6, ecus=1, poll_source=PollSource.SYSTEM, time_zone="Europe/London")
    assert core.next_poll() == clock.now  # nothing polled yet: now, inside the window
    assert spend(core, clock, 1, "poll")
    polled = clock.now
    expected = next_poll_at(polled, core.plan().interval_s, tz=LONDON)
    assert core.next_poll() == expected
    # Another app spending calls later moves the next poll by the plan's few seconds, not to now + interval.
    clock.now = polled + timedelta(minutes=5)
    assert spend(core, clock, 3, "manual")
    assert abs((core.next_poll() - expected).total_seconds()) < 60  # type: ignore[operator]
    assert not core.poll_due(5)
    clock.now = core.next_poll()  # type: ignore[assignment]
    assert core.poll_due(5)


def test_an_extra_poll_is_gated_like_a_poll_but_keeps_productions_timing(clock: Clock) -> None:
    core = make_core(clock)
    core.set_site(inverters=6, ecus=2, poll_source=PollSource.SYSTEM, time_zone="Europe/London")
    assert spend(core, clock, 1, "poll")
    following = core.next_poll()
    clock.now += timedelta(minutes=7)
    assert spend(core, clock, 2, "extra_poll")  # the inverters app's extra batch poll
    assert core.last_poll_at == clock.now - timedelta(minutes=7)
    assert abs((core.next_poll() - following).total_seconds()) < 60  # type: ignore[operator]


def test_next_poll_at_night_is_just_after_the_window_opens(clock: Clock) -> None:
    core = make_core(clock)
    clock.now = datetime(2027, 6, 15, 23, 0, tzinfo=LONDON)
    opening = core.next_window_open(clock.now)
    assert opening is not None
    assert core.next_poll() == opening + timedelta(seconds=OPEN_GRACE_S)
    assert not core.poll_due(5)


def test_ecu_poll_source_costs_one_call_per_ecu_in_plan_and_hard_stop(clock: Clock) -> None:
    core = make_core(clock)
    core.set_site(inverters=30, ecus=3, poll_source=PollSource.SYSTEM, time_zone=None)
    system = core.plan()
    core.set_site(inverters=30, ecus=3, poll_source=PollSource.ECU, time_zone=None)
    ecu = core.plan()
    assert (system.poll_cost, ecu.poll_cost) == (1, 3)
    spare = ecu.quota - ecu.used - ecu.reserve - ecu.fixed_calls_remaining
    assert ecu.polls_left == spare // 3
    assert ecu.interval_s > system.interval_s
    assert ecu.detail_rotation_days >= system.detail_rotation_days
    assert ecu.projected_month_calls <= ecu.quota


def test_hard_stop_and_reservation(clock: Clock) -> None:
    core = make_core(
        clock, quota=10, reserve_fraction=0.0, daily_summary=False, inverter_detail=False, batch_power=False
    )
    with core.spending(9, "manual") as first:
        assert first.allowed
        with core.spending(2, "manual") as second:  # the 9 are reserved although not yet recorded
            assert not second.allowed
    assert spend(core, clock, 1, "manual")
    assert core.status().used == 1  # the first block sent nothing: only what was recorded counts


def test_set_site_never_reloads_a_lower_count_from_disk(clock: Clock, tmp_path: Path) -> None:
    core = make_core(clock, tmp_path)
    for _ in range(8):
        assert spend(core, clock, 1, "manual")
    ledger_file = tmp_path / ledger_file_name(APP_ID)
    data = json.loads(ledger_file.read_text())
    data["app_ids"][APP_ID]["used"] = 4  # a write that failed half-way, an older copy, ...
    ledger_file.write_text(json.dumps(data))
    core.set_site(inverters=12, ecus=2, poll_source=PollSource.ECU, time_zone="Europe/London")
    assert core.status().used == 8
    assert core.sensor()[0] == 8


def test_state_survives_a_restart(clock: Clock, tmp_path: Path) -> None:
    core = make_core(clock, tmp_path)
    core.set_site(inverters=6, ecus=1, poll_source=PollSource.ECU, time_zone="Europe/London")
    assert spend(core, clock, 1, "poll")
    again = make_core(clock, tmp_path)
    assert (again.fleet, again.poll_source, again.last_poll_at) == (core.fleet, PollSource.ECU, clock.now)
    assert again.status().used == 1


def test_production_last_poll_from_before_an_upgrade_is_adopted(clock: Clock) -> None:
    core = make_core(clock)
    earlier = clock.now - timedelta(minutes=3)
    core.adopt_last_poll(earlier)
    assert core.last_poll_at == earlier and not core.poll_due(5)
    core.adopt_last_poll(earlier - timedelta(hours=1))  # an older record never moves it back
    assert core.last_poll_at == earlier


def test_ledger_file_name_hashes_the_whole_app_id() -> None:
    other = APP_ID[:8] + "ffffffffffffffffffffffff"
    assert legacy_ledger_file_name(APP_ID) == legacy_ledger_file_name(other)
    assert ledger_file_name(APP_ID) != ledger_file_name(other)
    assert APP_ID not in ledger_file_name(APP_ID)


def test_notices_once_and_dismissed_after_recovery(clock: Clock) -> None:
    core = make_core(clock)
    first = core.record(Sent(clock.now.timestamp(), 2005))
    assert [(n.action, n.notification_id) for n in first] == [("create", "apsystems_api_limit")]
    assert core.record(Sent(clock.now.timestamp(), 2005)) == []
    assert [(n.action, n.notification_id) for n in core.record(Sent(clock.now.timestamp(), 0))] == [
        ("dismiss", "apsystems_api_limit")
    ]
    auth = core.record(Sent(clock.now.timestamp(), 4000))
    assert [n.notification_id for n in auth] == ["apsystems_auth"]


def test_fixed_interval_overrun_notice(clock: Clock) -> None:
    core = make_core(clock, auto_interval=False, scan_interval_s=1800, quota=60)
    assert core.sensor()[2] == []  # nothing known about the site yet
    core.set_site(inverters=30, ecus=3, poll_source=PollSource.ECU, time_zone=None)
    notices = core.sensor()[2]
    assert [(n.action, n.notification_id) for n in notices] == [("create", "apsystems_budget")]


def test_bad_cached_time_zone_falls_back(clock: Clock, tmp_path: Path) -> None:
    (tmp_path / "budget.json").write_text(json.dumps({"time_zone": "Mars/Olympus", "inverters": "six"}))
    core = make_core(clock, tmp_path)
    assert core.site_time_zone == "Europe/London"
    assert core.fleet.inverters == 0


def test_every_public_method_from_many_threads_without_deadlock(clock: Clock, tmp_path: Path) -> None:
    """Two apps' threads and the sensor refresh hammer the core; all of them must finish."""
    core = make_core(clock, tmp_path)
    core.set_site(inverters=6, ecus=1, poll_source=PollSource.SYSTEM, time_zone="Europe/London")
    stop = time.monotonic() + 2.0
    recorded = [0] * 6
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        rng = random.Random(index)
        try:
            while time.monotonic() < stop:
                action = rng.randrange(9)
                if action == 0:
                    with core.spending(1, rng.choice(["poll", "manual", "summary"])) as decision:
                        if decision.allowed:
                            core.record(Sent(clock.now.timestamp(), 0))
                            recorded[index] += 1
                elif action == 1:
                    core.plan()
                elif action == 2:
                    core.sensor()
                elif action == 3:
                    core.detail_due(["a", "b", "c"])
                elif action == 4:
                    core.next_poll()
                elif action == 5:
                    core.poll_due(5)
                elif action == 6:
                    core.set_site(inverters=rng.choice([6, 7]), ecus=1, poll_source=PollSource.SYSTEM, time_zone=None)
                elif action == 7:
                    core.status()
                else:
                    core.solar_window(clock.now)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not [t for t in threads if t.is_alive()], "deadlock: a thread is still waiting"
    assert errors == []
    assert core.status().used == sum(recorded) > 0
