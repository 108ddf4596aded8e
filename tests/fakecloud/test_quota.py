"""The monthly quota: 2005 exactly after N calls, per App ID, reset at the month boundary."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from fakes.apsystems_cloud import SECOND_APP_ID, SECOND_APP_SECRET, FakeCloud, QuotaLedger
from fakes.apsystems_cloud.presets import preset

from .conftest import USER, Api


def summary_path(cloud: FakeCloud) -> str:
    return f"{USER}/systems/summary/{cloud.sid}"


def test_2005_exactly_after_the_limit(cloud: FakeCloud, api: Api) -> None:
    cloud.quota.set_limit(5)
    codes = [api.code(summary_path(cloud)) for _ in range(7)]
    assert codes == [0, 0, 0, 0, 0, 2005, 2005]
    assert api.get(summary_path(cloud)) == {"data": None, "code": 2005}
    assert cloud.quota_used() == 8


def test_default_limit_is_1000_and_settable_used(cloud: FakeCloud, api: Api) -> None:
    assert cloud.quota.limit == 1000
    cloud.set_quota_used(999)
    assert api.code(summary_path(cloud)) == 0
    assert api.code(summary_path(cloud)) == 2005


def test_quota_is_per_app_id(cloud: FakeCloud, api: Api) -> None:
    other = Api(cloud, SECOND_APP_ID, SECOND_APP_SECRET)
    cloud.quota.set_limit(2)
    assert [api.code(summary_path(cloud)) for _ in range(3)] == [0, 0, 2005]
    assert [other.code(summary_path(cloud)) for _ in range(3)] == [0, 0, 2005]
    assert cloud.quota_used(SECOND_APP_ID) == 3


def test_per_app_limit(cloud: FakeCloud, api: Api) -> None:
    cloud.quota.set_limit(1, SECOND_APP_ID)
    other = Api(cloud, SECOND_APP_ID, SECOND_APP_SECRET)
    assert [other.code(summary_path(cloud)) for _ in range(2)] == [0, 2005]
    assert api.code(summary_path(cloud)) == 0


def test_failed_calls_count(cloud: FakeCloud, api: Api) -> None:
    cloud.quota.set_limit(3)
    assert api.code(f"{USER}/systems/energy/{cloud.sid}", energy_level="minutely") == 4001
    assert api.code(f"{USER}/systems/energy/{cloud.sid}", energy_level="hourly", date_range="2030-01-01") == 1001
    cloud.faults.inject_code(5000, times=1)
    assert api.code(summary_path(cloud)) == 5000
    assert api.code(summary_path(cloud)) == 2005


def test_rejected_signatures_and_unknown_apps_do_not_count(cloud: FakeCloud) -> None:
    Api(cloud, secret="wrongsecret1").get(summary_path(cloud))
    Api(cloud, app_id="f" * 32).get(summary_path(cloud))
    assert cloud.quota_used() == 0
    assert cloud.calls.total == 2


def test_month_rollover_resets(cloud: FakeCloud, api: Api) -> None:
    cloud.clock.set_fixed(datetime(2026, 6, 30, 22, 59, tzinfo=timezone.utc))  # 23:59 BST
    cloud.quota.set_limit(2)
    assert [api.code(summary_path(cloud)) for _ in range(3)] == [0, 0, 2005]
    cloud.clock.advance(timedelta(minutes=1))  # 00:00 BST on 1 July
    assert api.code(summary_path(cloud)) == 0
    assert cloud.quota.snapshot(cloud.clock.now())["history"] == {
        f"{cloud.app_id}/2026-06": 3,
        f"{cloud.app_id}/2026-07": 1,
    }


def test_month_boundary_time_zone_is_configurable() -> None:
    with FakeCloud(site=preset("demo"), quota_timezone="UTC") as cloud:
        cloud.clock.set_fixed(datetime(2026, 6, 30, 23, 30, tzinfo=timezone.utc))  # July in London
        api = Api(cloud)
        api.get(summary_path(cloud))
        assert cloud.quota.snapshot(cloud.clock.now())["month"] == "2026-06"
    with FakeCloud(site=preset("demo")) as cloud:
        cloud.clock.set_fixed(datetime(2026, 6, 30, 23, 30, tzinfo=timezone.utc))
        assert cloud.quota.snapshot(cloud.clock.now())["month"] == "2026-07"


def test_ledger_unit() -> None:
    ledger = QuotaLedger(limit=2)
    now = datetime(2026, 1, 31, 12, tzinfo=timezone.utc)
    assert ledger.consume("a", now) == (True, 1)
    assert ledger.consume("a", now) == (True, 2)
    assert ledger.consume("a", now) == (False, 3)
    assert ledger.consume("a", now + timedelta(days=1)) == (True, 1)
    ledger.set_used("b", 7, month="2026-01")
    assert ledger.used("b", now) == 7
    ledger.reset()
    assert ledger.used("a", now) == 0
