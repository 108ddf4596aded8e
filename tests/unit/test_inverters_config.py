"""The inverter app's arguments and job timing (system-local times, extra batch room)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from apsystems.budget.pacing import Plan
from apsystems.inverters.config import parse_inverters_args
from apsystems.inverters.jobs import extra_batch_room, missed_today, next_daily_run, run_soon

BERLIN = ZoneInfo("Europe/Berlin")


def args(**extra: Any) -> dict[str, Any]:
    return {"app_id": "id", "app_secret": "very-secret1", "sid": "SID1", **extra}


def test_defaults() -> None:
    cfg = parse_inverters_args(args(name="apsystems_inverters", module="m", dependencies=["apsystems_budget"]))
    assert cfg.detail_time == time(12, 30) and cfg.batch_time == time(23, 0)
    assert cfg.budget == "apsystems_budget" and cfg.batch_every_s == 3600
    assert cfg.base_url == "https://api.apsystemsema.com:9282"
    assert cfg.scan_button is None and cfg.refresh_button is None
    assert "very-secret1" not in repr(cfg)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("12:30:00", time(12, 30)), ("7:05", time(7, 5)), (45000, time(12, 30)), (time(9, 0), time(9, 0))],
)
def test_times(value: Any, expected: time) -> None:
    assert parse_inverters_args(args(detail_time=value)).detail_time == expected


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"detail_time": "noon"}, "detail_time 'noon'"),
        ({"batch_time": "25:00"}, "batch_time '25:00'"),
        ({"batch_every": 60}, "batch_every 60"),
        ({"scan_button": "switch.x"}, "scan_button 'switch.x'"),
        ({"colour": "red"}, "unknown argument(s) colour"),
        ({"app_secret": ""}, "app_secret is missing"),
    ],
)
def test_bad_values_name_themselves(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_inverters_args(args(**extra))


def test_buttons_and_batch_off() -> None:
    cfg = parse_inverters_args(
        args(scan_button="input_button.aps_scan", refresh_button="button.aps_refresh", batch_every=0)
    )
    assert cfg.scan_button == "input_button.aps_scan" and cfg.refresh_button == "button.aps_refresh"
    assert cfg.batch_every_s == 0


def test_next_daily_run_is_system_local() -> None:
    # 10:00 UTC is 12:00 in Berlin in June: today's 12:30 Berlin is 10:30 UTC.
    now = datetime(2026, 6, 21, 10, 0, tzinfo=timezone.utc)
    assert next_daily_run(now, time(12, 30), BERLIN, done_today=False) == datetime(
        2026, 6, 21, 10, 30, tzinfo=timezone.utc
    )
    assert next_daily_run(now, time(12, 30), BERLIN, done_today=True) == datetime(
        2026, 6, 22, 10, 30, tzinfo=timezone.utc
    )
    assert next_daily_run(now, time(11, 0), BERLIN, done_today=False).date().isoformat() == "2026-06-22"


def test_missed_today() -> None:
    now = datetime(2026, 6, 21, 11, 0, tzinfo=timezone.utc)  # 13:00 Berlin
    assert missed_today(now, time(12, 30), BERLIN, None)
    assert missed_today(now, time(12, 30), BERLIN, "2026-06-20")
    assert not missed_today(now, time(12, 30), BERLIN, "2026-06-21")
    assert not missed_today(now, time(23, 0), BERLIN, None)


def test_run_soon() -> None:
    morning = datetime(2026, 6, 21, 8, 0, tzinfo=timezone.utc)  # 10:00 Berlin
    assert not run_soon(morning, time(12, 30), BERLIN, None, early_first_run=False)
    assert run_soon(morning, time(12, 30), BERLIN, None, early_first_run=True)  # first start in daylight
    assert not run_soon(morning, time(12, 30), BERLIN, "2026-06-20", early_first_run=True)  # ran before
    afternoon = datetime(2026, 6, 21, 12, 0, tzinfo=timezone.utc)
    assert run_soon(afternoon, time(12, 30), BERLIN, "2026-06-20", early_first_run=False)  # missed today


def plan(**changes: Any) -> Plan:
    base = Plan(
        mode="auto",
        interval_s=900,
        next_poll=None,
        polls_left=500,
        polls_needed=400,
        poll_cost=1,
        solar_seconds_left=360000.0,
        used=100,
        quota=1000,
        reserve=20,
        fixed_calls_remaining=200,
        detail_rotation_days=1,
        detail_calls_today=4,
        projected_month_calls=700,
        over_quota=False,
        polls_stop_early=False,
        reason="",
    )
    return replace(base, **changes)


def test_extra_batch_only_from_the_surplus() -> None:
    ok, why = extra_batch_room(plan(), 3)
    assert ok and "280" in why
    assert not extra_batch_room(plan(projected_month_calls=975), 3)[0]  # 5 spare < 2 batches of 3
    assert extra_batch_room(plan(projected_month_calls=974), 3)[0]
    assert not extra_batch_room(plan(over_quota=True), 1)[0]
    assert not extra_batch_room(plan(polls_stop_early=True), 1)[0]
    assert not extra_batch_room(plan(polls_left=0), 1)[0]
