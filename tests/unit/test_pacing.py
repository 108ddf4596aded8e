"""The adaptive plan on hand-computed cases, rotation, the fixed-interval projection, the hard stop."""

import json
import logging
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from apsystems.budget.ledger import CallLedger, LedgerStatus
from apsystems.budget.pacing import (
    BudgetPlanner,
    BudgetSettings,
    CallDecision,
    Fleet,
    PollSource,
    _detail_calls_between,
    check_call,
    detail_calls_on,
    inverters_due,
)
from apsystems.budget.solar_window import Site, SolarCalendar, SolarWindow

UTC = timezone.utc
APP = "A" * 32


class FixedCalendar(SolarCalendar):
    """A UTC site whose window is the same hours every day, so the plans can be worked by hand."""

    def __init__(self, first_hour: int = 8, last_hour: int = 16) -> None:
        super().__init__(Site(0.0, 0.0, "UTC"), 0, 0)
        self.hours = (first_hour, last_hour)

    def _compute_window(self, day: date) -> SolarWindow:
        start = datetime(day.year, day.month, day.day, self.hours[0], tzinfo=UTC).timestamp()
        end = datetime(day.year, day.month, day.day, self.hours[1], tzinfo=UTC).timestamp()
        return SolarWindow(day=day, kind="normal", spans=((start, end),), tz=UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def planner(**settings: object) -> BudgetPlanner:
    return BudgetPlanner(BudgetSettings(**settings), FixedCalendar())  # type: ignore[arg-type]


SIX = Fleet(inverters=6, ecus=1)


# ---- settings ----------------------------------------------------------------------------------


def test_defaults() -> None:
    settings = BudgetSettings()
    assert (settings.quota, settings.auto_interval, settings.scan_interval_s, settings.min_interval_s) == (
        1000,
        True,
        1800,
        900,
    )
    assert settings.reserve_fraction == 0.03 and settings.monthly_reserve == 30
    assert settings.poll_source is PollSource.SYSTEM


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"quota": 0}, r"quota 0 must be an integer from 1 to"),
        ({"quota": 10.5}, r"quota 10.5 must be an integer"),
        ({"scan_interval_s": 1799}, r"scan_interval 1799 must be an integer from 1800 to 7200"),
        ({"scan_interval_s": 7201}, r"scan_interval 7201 must be an integer from 1800 to 7200"),
        ({"min_interval_s": 299}, r"min_interval 299 must be an integer from 300 to 7200"),
        ({"reserve_fraction": 0.6}, r"reserve_fraction 0.6 must be a number from 0.0 to 0.5"),
        ({"reserve_fraction": -0.01}, r"reserve_fraction"),
        ({"poll_source": "inverter"}, r"poll_source 'inverter' must be one of system, ecu"),
        ({"auto_interval": "yes"}, r"auto_interval 'yes' must be true or false"),
    ],
)
def test_settings_validation_names_value_and_range(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BudgetSettings(**kwargs)  # type: ignore[arg-type]


def test_from_apps_yaml_args() -> None:
    settings = BudgetSettings.from_args(
        {"quota": 100_000, "scan_interval": 3600, "auto_interval": False, "poll_source": "ecu", "sid": "X"}
    )
    assert (settings.quota, settings.scan_interval_s, settings.auto_interval) == (100_000, 3600, False)
    assert settings.poll_source is PollSource.ECU and settings.min_interval_s == 900
    with pytest.raises(ValueError, match="min_interval 60 must be an integer from 300 to 7200"):
        BudgetSettings.from_args({"min_interval": 60})


def test_poll_source_accepts_the_yaml_string() -> None:
    assert BudgetSettings(poll_source="ecu").poll_source is PollSource.ECU  # type: ignore[arg-type]


@pytest.mark.parametrize(("kwargs", "name"), [({"inverters": -1}, "inverters"), ({"ecus": -1}, "ecus")])
def test_fleet_validation(kwargs: dict[str, int], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        Fleet(**kwargs)


# ---- the formula, by hand ------------------------------------------------------------------------


def test_month_start_by_hand() -> None:
    # April 2027 (30 days), window 08:00-16:00 UTC: 240 solar hours. Six inverters, one ECU:
    # fixed 1 + 6 + 1 = 8 calls a day, 240 this month. Reserve: 30 x (1 - 8 h / 720 h) -> 30.
    # Polls left = 1000 - 0 - 30 - 240 = 730; interval = 864000 s / 730 = 1183.6 -> 1184 s.
    plan = planner().plan(utc(2027, 4, 1, 8), 0, SIX)
    assert plan.solar_seconds_left == 240 * 3600
    assert plan.fixed_calls_remaining == 240
    assert plan.reserve == 30
    assert plan.polls_left == 730
    assert plan.interval_s == 1184
    assert plan.poll_cost == 1 and plan.detail_rotation_days == 1 and plan.detail_calls_today == 6
    assert plan.next_poll == utc(2027, 4, 1, 8, 19, 44)
    assert plan.projected_month_calls == 0 + 240 + 730
    assert not plan.over_quota and not plan.polls_stop_early and not plan.paused
    assert plan.mode == "auto"


def test_mid_month_by_hand() -> None:
    # 16 April 12:00, 500 calls used, today's fixed jobs not yet run: solar left 4 h + 14 x 8 h = 116 h;
    # fixed 8 + 14 x 8 = 120; reserve 30 x 14.5 / 30 = 14.5 -> 15; polls 1000 - 500 - 15 - 120 = 365;
    # interval 417600 / 365 = 1144.1 -> 1145 s.
    plan = planner().plan(utc(2027, 4, 16, 12), 500, SIX)
    assert (plan.solar_seconds_left, plan.fixed_calls_remaining, plan.reserve) == (116 * 3600, 120, 15)
    assert (plan.polls_left, plan.interval_s) == (365, 1145)


def test_fixed_calls_already_sent_today_are_not_counted_again() -> None:
    p = planner()
    before = p.plan(utc(2027, 4, 16, 12), 500, SIX, fixed_calls_sent_today=0)
    after = p.plan(utc(2027, 4, 16, 12), 506, SIX, fixed_calls_sent_today=6)
    assert after.fixed_calls_remaining == before.fixed_calls_remaining - 6
    assert after.polls_left == before.polls_left  # the detail calls were planned for
    assert p.fixed_calls_remaining(SIX, utc(2027, 4, 16, 12), 99) == 14 * 8  # never negative for today


def test_ecu_source_costs_one_call_per_ecu() -> None:
    fleet = Fleet(inverters=6, ecus=3)
    # An hourly poll now costs 3 x 240 = 720 calls a month. Without rotation the fixed jobs take
    # 30 x (1 + 6 + 3) = 300 and leave 1000 - 30 - 300 = 670 < 720, so detail rotates over two days:
    # fixed 30 x (1 + 3 + 3) = 210, spare 760, 760 // 3 = 253 polls, 864000 / 253 = 3415.0 -> 3416 s.
    plan = planner(poll_source="ecu").plan(utc(2027, 4, 1, 8), 0, fleet)
    assert plan.poll_cost == 3
    assert plan.detail_rotation_days == 2
    assert plan.fixed_calls_remaining == 210
    assert plan.polls_left == 253
    assert plan.interval_s == 3416
    assert planner().plan(utc(2027, 4, 1, 8), 0, fleet).poll_cost == 1


def test_raised_to_min_interval_on_a_big_quota() -> None:
    plan = planner(quota=100_000).plan(utc(2027, 4, 1, 8), 0, SIX)
    assert plan.interval_s == 900
    assert "min_interval" in plan.reason
    assert plan.polls_needed == 960  # 864000 / 900
    assert plan.projected_month_calls == 240 + 960
    assert not plan.polls_stop_early


def test_capped_at_two_hours_and_polls_stop_early() -> None:
    # 700 used on the 1st (say after many manual refreshes): 1000 - 700 - 30 - 240 = 30 polls.
    plan = planner().plan(utc(2027, 4, 1, 8), 700, SIX)
    assert plan.polls_left == 30
    assert plan.interval_s == 7200  # 864000 / 30 = 28800, capped
    assert plan.polls_stop_early and plan.polls_needed == 120
    assert "capped" in plan.reason and "runs out" in plan.reason
    assert plan.projected_month_calls == 700 + 240 + 30
    assert not plan.over_quota


def test_paused_when_no_poll_fits() -> None:
    # 20 April 12:00: fixed 8 + 10 x 8 = 88, reserve 30 x 10.5 / 30 -> 11; 1000 - 901 - 11 - 88 = 0.
    plan = planner().plan(utc(2027, 4, 20, 12), 901, SIX)
    assert plan.polls_left == 0 and plan.paused
    assert plan.next_poll == utc(2027, 5, 1, 8)  # next month's first window
    assert "resume next month" in plan.reason


def test_fixed_jobs_alone_over_quota() -> None:
    plan = planner().plan(utc(2027, 4, 20, 12), 990, SIX)
    assert plan.over_quota and plan.paused


def test_month_boundary_in_another_time_zone() -> None:
    # Windows 08:00-20:00 UTC; the counter's month in Shanghai (UTC+8) ends at 16:00 UTC on 30 April.
    calendar = FixedCalendar(8, 20)
    shanghai = BudgetPlanner(BudgetSettings(), calendar, ZoneInfo("Asia/Shanghai"))
    same = BudgetPlanner(BudgetSettings(), calendar)
    now = utc(2027, 4, 29, 12)
    assert same.plan(now, 0, SIX).solar_seconds_left == (8 + 12) * 3600
    assert shanghai.plan(now, 0, SIX).solar_seconds_left == (8 + 8) * 3600
    # 17:00 UTC on 30 April is already May in Shanghai: 3 h today, 30 whole days, 8 h on 31 May.
    may = shanghai.plan(utc(2027, 4, 30, 17), 0, SIX)
    assert may.solar_seconds_left == (3 + 30 * 12 + 8) * 3600
    assert may.reserve == 30


# ---- fixed interval ----------------------------------------------------------------------------


def test_fixed_interval_projection_within_quota() -> None:
    # 1800 s in an 8 h window: a poll at 08:00 then every 30 min to 16:00 = 17 a day.
    # Just polled at 08:00 on the 1st: 16 more today + 29 x 17 = 509 polls; + 240 fixed.
    plan = planner(auto_interval=False).plan(utc(2027, 4, 1, 8), 1, SIX)
    assert plan.mode == "fixed" and plan.interval_s == 1800
    assert plan.polls_needed == 509
    assert plan.projected_month_calls == 1 + 240 + 509
    assert not plan.over_quota


def test_fixed_interval_projection_over_quota_is_reported() -> None:
    # 20 inverters: 22 fixed calls a day (660) + 509 polls = 1169 > 1000.
    plan = planner(auto_interval=False).plan(utc(2027, 4, 1, 8), 0, Fleet(20, 1))
    assert plan.detail_rotation_days == 1
    assert plan.projected_month_calls == 660 + 509
    assert plan.over_quota
    assert "exceed the quota of 1000" in plan.reason
    assert plan.polls_stop_early  # the hard stop will end the polls before the month does
    assert plan.polls_left == 1000 - 30 - 660


def test_fixed_interval_on_real_sun_times() -> None:
    calendar = SolarCalendar(Site(51.5, -0.12, "Europe/London"))
    fixed = BudgetPlanner(BudgetSettings(auto_interval=False), calendar)
    june = fixed.plan(datetime(2027, 6, 1, 5, tzinfo=calendar.tz), 0, Fleet(20, 1))
    december = fixed.plan(datetime(2027, 12, 1, 8, tzinfo=calendar.tz), 0, Fleet(20, 1))
    assert june.over_quota and june.projected_month_calls > december.projected_month_calls


# ---- rotation ------------------------------------------------------------------------------------


def test_no_rotation_when_there_is_room() -> None:
    assert planner().rotation_days(SIX, 2027, 4) == 1


def test_thirty_inverters_rotate_over_the_fewest_days_that_leave_room() -> None:
    # Room = 1000 - 30 - 30 x 2 = 910; an hourly poll needs 240. Daily detail for all 30 needs 900
    # (leaves 10); every 2nd day 450 (leaves 460): two days.
    p = planner()
    fleet = Fleet(30, 1)
    assert p.rotation_days(fleet, 2027, 4) == 2
    plan = p.plan(utc(2027, 4, 1, 8), 0, fleet)
    assert plan.detail_rotation_days == 2 and plan.detail_calls_today == 15
    assert "rotates over 2 days" in plan.reason
    assert plan.fixed_calls_remaining == 30 * (2 + 15)
    assert plan.polls_left * plan.poll_cost >= 240


def test_rotation_with_a_longer_window_and_three_ecus() -> None:
    # 16 h windows (480 h): room = 1000 - 30 - 30 x 4 = 850; hourly 480. r=1: 900, r=2: 450 (400 left),
    # r=3: 300 (550 left): three days.
    p = BudgetPlanner(BudgetSettings(), FixedCalendar(4, 20))
    assert p.rotation_days(Fleet(30, 3), 2027, 4) == 3


def test_rotation_when_nothing_leaves_room(caplog: pytest.LogCaptureFixture) -> None:
    p = BudgetPlanner(BudgetSettings(poll_source="ecu"), FixedCalendar(2, 22))  # type: ignore[arg-type]
    assert p.rotation_days(Fleet(30, 3), 2027, 4) == 30  # one inverter a day
    assert "no room for an hourly poll" in caplog.text
    assert caplog.records[-1].levelno == logging.WARNING


def test_inverters_due_is_a_deterministic_partition() -> None:
    uids = [f"8060000{i:05d}" for i in range(30)]
    shuffled = list(reversed(uids))
    day = date(2027, 4, 1)
    for r in (1, 2, 3, 7, 30):
        seen: list[str] = []
        for offset in range(r):
            due = inverters_due(uids, day + timedelta(days=offset), r)
            assert due == inverters_due(shuffled, day + timedelta(days=offset), r)  # order-independent
            assert len(due) == detail_calls_on(30, day + timedelta(days=offset), r)
            seen.extend(due)
        assert sorted(seen) == sorted(uids)  # every inverter once per cycle
        assert inverters_due(uids, day + timedelta(days=r), r) == inverters_due(uids, day, r)


def test_detail_count_closed_form_matches_counting() -> None:
    for inverters in (0, 1, 5, 29, 30, 31):
        for r in (1, 2, 3, 4, 7):
            for first in range(738000, 738012):
                for last in range(first - 1, first + 40, 3):
                    expected = sum(detail_calls_on(inverters, date.fromordinal(o), r) for o in range(first, last + 1))
                    assert _detail_calls_between(inverters, r, first, last) == expected


def test_disabled_fixed_jobs_cost_nothing() -> None:
    p = planner(daily_summary=False, inverter_detail=False, batch_power=False)
    assert p.daily_fixed_calls(SIX, date(2027, 4, 1)) == 0
    assert planner().daily_fixed_calls(SIX, date(2027, 4, 1)) == 8


# ---- the hard stop ---------------------------------------------------------------------------------


def status(used: int = 0, *, exhausted: bool = False, probe_allowed: bool = False) -> LedgerStatus:
    return LedgerStatus(
        app_id=APP,
        month="2027-04",
        used=used,
        last_month=None,
        last_month_used=None,
        exhausted=exhausted,
        exhausted_at=utc(2027, 4, 10) if exhausted else None,
        last_probe_at=None,
        probe_allowed=probe_allowed,
        last_call_at=None,
        last_code=None,
        last_error_code=None,
    )


def test_check_call_never_passes_the_quota() -> None:
    assert check_call(status(999), 1, 1000) == CallDecision(True, False, "1000 of 1000 calls")
    refused = check_call(status(1000), 1, 1000)
    assert not refused.allowed and "would pass 1000" in refused.reason
    assert not check_call(status(998), 3, 1000).allowed
    assert check_call(status(997), 3, 1000).allowed


def test_check_call_keeps_calls_back() -> None:
    assert not check_call(status(950), 1, 1000, keep=50).allowed
    assert check_call(status(949), 1, 1000, keep=50).allowed


def test_after_2005_only_one_single_call_probe() -> None:
    locked = check_call(status(10, exhausted=True), 1, 1000)
    assert not locked.allowed and "2005" in locked.reason
    probe = check_call(status(10, exhausted=True, probe_allowed=True), 1, 1000)
    assert probe.allowed and probe.probe
    assert not check_call(status(10, exhausted=True, probe_allowed=True), 3, 1000).allowed


@pytest.mark.parametrize("cost", [0, -1, True])
def test_check_call_cost_must_be_positive(cost: object) -> None:
    with pytest.raises(ValueError, match="cost"):
        check_call(status(), cost, 1000)  # type: ignore[arg-type]


def test_may_poll_leaves_the_fixed_jobs_and_the_reserve() -> None:
    p = planner()
    now = utc(2027, 4, 16, 12)
    plan = p.plan(now, 500, SIX)
    assert p.may_poll(status(500), plan).allowed
    last = p.plan(now, 1000 - 15 - 120 - 1, SIX)
    assert last.polls_left == 1 and p.may_poll(status(last.used), last).allowed
    none = p.plan(now, 1000 - 15 - 120, SIX)
    decision = p.may_poll(status(none.used), none)
    assert not decision.allowed and "no production poll left" in decision.reason
    assert p.may_call(status(none.used), 6).allowed  # the fixed jobs still fit


def test_ledger_gate_round_trip(tmp_path: object) -> None:
    ledger = CallLedger(None)
    p = planner()
    now = utc(2027, 4, 10, 12)
    ledger.record(APP, now, count=999)
    assert p.may_call(ledger.status(APP, now)).allowed
    ledger.record(APP, now)
    assert not p.may_call(ledger.status(APP, now)).allowed
    assert p.may_call(ledger.status(APP, utc(2027, 5, 1, 0, 1))).allowed


# ---- scheduling and publishing ------------------------------------------------------------------------


def test_next_poll_time_stays_in_the_window() -> None:
    p = planner()
    assert p.next_poll_time(utc(2027, 4, 1, 10), 1800) == utc(2027, 4, 1, 10, 30)
    assert p.next_poll_time(utc(2027, 4, 1, 15, 45), 1800) == utc(2027, 4, 2, 8)
    assert p.next_poll_time(utc(2027, 4, 1, 3), 600) == utc(2027, 4, 1, 8)


def test_plan_attributes_are_json() -> None:
    attrs = planner().plan(utc(2027, 4, 1, 8), 0, SIX).as_attributes()
    text = json.dumps(attrs)
    assert '"interval_s": 1184' in text
    assert attrs["next_poll"] == "2027-04-01T08:19:44+00:00"
    assert attrs["remaining"] == 1000 and attrs["projected"] == 970


def test_plan_requires_an_aware_now() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        planner().plan(datetime(2027, 4, 1, 8), 0, SIX)
