"""The call ledger: persistence across restarts, corrupt files, month boundaries, threads, 2005."""

import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from apsystems.api.client import RequestRecord
from apsystems.budget.ledger import CallLedger, LedgerProblem

APP = "0123456789abcdef0123456789abcdef"
OTHER = "fedcba9876543210fedcba9876543210"
LONDON = ZoneInfo("Europe/London")
UTC = timezone.utc


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=LONDON)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "apsystems_ledger.json"


# ---- counting and persistence ---------------------------------------------------------------


def test_counts_per_app_id_and_month(path: Path) -> None:
    ledger = CallLedger(path, LONDON)
    now = at(2027, 3, 10, 12)
    for _ in range(3):
        ledger.record(APP, now, code=0)
    ledger.record(OTHER, now, code=0, count=2)
    status = ledger.status(APP, now)
    assert (status.month, status.used) == ("2027-03", 3)
    assert ledger.used(OTHER, now) == 2
    assert ledger.used("never-seen", now) == 0
    assert status.last_call_at == now
    assert status.last_code == 0 and status.last_error_code is None


def test_survives_a_restart(path: Path) -> None:
    now = at(2027, 3, 10, 12)
    first = CallLedger(path, LONDON)
    for _ in range(7):
        first.record(APP, now, code=0)
    first.record(APP, now, code=5000)
    restarted = CallLedger(path, LONDON)  # a new object on the same file, as after an AppDaemon restart
    status = restarted.status(APP, now + timedelta(hours=1))
    assert status.used == 8
    assert status.last_error_code == 5000
    restarted.record(APP, now + timedelta(hours=1), code=0)
    assert CallLedger(path, LONDON).used(APP, now + timedelta(hours=2)) == 9


def test_file_is_small_json_and_no_temporary_files_remain(path: Path) -> None:
    ledger = CallLedger(path, LONDON)
    ledger.record(APP, at(2027, 3, 10, 12), code=0)
    data = json.loads(path.read_text())
    assert data["version"] == 1
    assert data["app_ids"][APP]["month"] == "2027-03"
    assert data["app_ids"][APP]["used"] == 1
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name, path.name + ".journal"]


def test_memory_only_ledger_writes_nothing(tmp_path: Path) -> None:
    ledger = CallLedger(None)
    ledger.record(APP, at(2027, 3, 10, 12))
    assert ledger.used(APP, at(2027, 3, 10, 13)) == 1
    assert list(tmp_path.iterdir()) == []


def test_missing_file_starts_fresh(path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    ledger = CallLedger(path, LONDON)
    assert ledger.used(APP, at(2027, 3, 10, 12)) == 0
    assert "not found" in caplog.text
    assert not path.exists()  # nothing written until something is recorded


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "\0\0\0\0",
        "[1, 2]",
        "",
        '{"version": 99, "app_ids": {}}',
        '{"version": 1, "app_ids": []}',
        '{"version": 1, "app_ids": {"X": {"month": "2027-03", "used": "many"}}}',
        '{"version": 1, "app_ids": {"X": {"month": "March", "used": 3}}}',
        '{"version": 1, "app_ids": {"X": {"month": "2027-03", "used": 3, "exhausted_at": "yesterday"}}}',
    ],
)
def test_a_corrupt_file_never_lowers_the_count(path: Path, content: str, caplog: pytest.LogCaptureFixture) -> None:
    now = at(2027, 3, 10, 12)
    ledger = CallLedger(path, LONDON)
    ledger.record(APP, now, code=0, count=950)
    path.write_text(content)  # the main copy is damaged; the journal still has 950
    problems: list[LedgerProblem] = []
    reloaded = CallLedger(path, LONDON, on_problem=problems.append)
    assert reloaded.used(APP, now) == 950
    assert path.with_name(path.name + ".corrupt.1").read_text() == content
    assert [p.kind for p in problems] == ["restored"] and path.name in problems[0].message
    assert caplog.records and max(r.levelno for r in caplog.records) >= logging.WARNING


def test_nothing_trustworthy_stops_calls_until_a_probe(path: Path) -> None:
    now = at(2027, 3, 10, 12)
    CallLedger(path, LONDON).record(APP, now, code=0, count=950)
    for copy in (path, path.with_name(path.name + ".journal")):
        copy.write_bytes(b"\0" * 64)  # both copies NUL-filled
    problems: list[LedgerProblem] = []
    ledger = CallLedger(path, LONDON, on_problem=problems.append)
    assert [p.kind for p in problems] == ["unverified"] and "calls stop" in problems[0].message
    status = ledger.status(APP, now)
    assert status.unverified and status.exhausted and status.probe_allowed  # the gate allows one probe only
    # A restart before the probe still knows that this month's count is unknown.
    assert CallLedger(path, LONDON).status(APP, now).unverified
    ledger.record(APP, now, code=None)  # the probe failed on the way: still stopped, next probe in an hour
    assert not ledger.status(APP, now + timedelta(minutes=5)).probe_allowed
    assert ledger.status(APP, now + timedelta(hours=1)).probe_allowed
    ledger.record(APP, now + timedelta(hours=1), code=0)  # answered without 2005: calls resume
    assert not ledger.status(APP, now + timedelta(hours=1)).exhausted
    assert CallLedger(path, LONDON).used(APP, now + timedelta(hours=1)) == 2
    assert sorted(p.name for p in path.parent.glob("*.corrupt.*")) == [
        "apsystems_ledger.json.corrupt.1",
        "apsystems_ledger.json.journal.corrupt.1",
    ]


def test_a_floor_restores_the_published_count_and_lifts_the_stop(path: Path) -> None:
    now = at(2027, 3, 10, 12)
    path.write_text("")
    ledger = CallLedger(path, LONDON)
    assert ledger.status(APP, now).unverified
    status = ledger.raise_floor(APP, now, 950)
    assert status.used == 950 and not status.exhausted and not status.unverified
    assert ledger.raise_floor(APP, now, 10).used == 950  # a floor never lowers
    assert CallLedger(path, LONDON).used(APP, now) == 950
    with pytest.raises(ValueError, match="floor"):
        ledger.raise_floor(APP, now, -1)


def test_an_unverified_month_ends_with_the_month(path: Path) -> None:
    path.write_text("{")
    ledger = CallLedger(path, LONDON)
    assert ledger.status(APP, at(2027, 3, 10, 12)).unverified
    assert not ledger.status(APP, at(2027, 4, 1, 0, 1)).exhausted


def test_every_corrupt_copy_is_kept(path: Path) -> None:
    for content in ("{one", "{two", "{three"):
        path.write_text(content)
        CallLedger(path, LONDON)
    assert [path.with_name(f"{path.name}.corrupt.{n}").read_text() for n in (1, 2, 3)] == ["{one", "{two", "{three"]


def test_a_failed_write_is_retried_reported_and_survives_a_restart(
    path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Disk full: the atomic main copy cannot be replaced, the journal in reserved space still can.
    now = at(2027, 3, 10, 12)
    problems: list[LedgerProblem] = []
    ledger = CallLedger(path, LONDON, on_problem=problems.append)
    ledger.record(APP, now, count=4)
    attempts: list[object] = []

    def disk_full(*args: object) -> None:
        attempts.append(args)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("apsystems.common.json_file.os.replace", disk_full)
    for _ in range(4):
        ledger.record(APP, now)  # must not raise into the client's call hook
    assert ledger.used(APP, now) == 8
    assert len(attempts) == 8  # every save tried twice
    assert [p.kind for p in problems] == ["write_failed"]  # reported once, not at every call
    assert "Could not write" in caplog.text and "No space left" in problems[0].message
    assert json.loads(path.read_text())["app_ids"][APP]["used"] == 4
    assert not list(path.parent.glob("*.tmp"))
    assert CallLedger(path, LONDON).used(APP, now) == 8  # a restart now counts every call sent
    monkeypatch.undo()
    ledger.record(APP, now)
    assert [p.kind for p in problems] == ["write_failed", "write_recovered"]
    assert CallLedger(path, LONDON).used(APP, now) == 9


def test_reload_never_lowers_the_count_in_memory(path: Path) -> None:
    now = at(2027, 3, 10, 12)
    ledger = CallLedger(path, LONDON)
    ledger.record(APP, now, count=8)
    stale = {"version": 1, "app_ids": {APP: {"month": "2027-03", "used": 4}, OTHER: {"month": "2027-03", "used": 3}}}
    path.write_text(json.dumps(stale))
    path.with_name(path.name + ".journal").write_text(json.dumps(stale))
    ledger.reload()
    assert ledger.used(APP, now) == 8 and ledger.used(OTHER, now) == 3


# ---- months --------------------------------------------------------------------------------


def test_month_rollover_keeps_last_months_total(path: Path) -> None:
    ledger = CallLedger(path, LONDON)
    for _ in range(5):
        ledger.record(APP, at(2027, 3, 31, 23, 59))
    april = at(2027, 4, 1, 0, 0, 1)
    status = ledger.status(APP, april)
    assert (status.month, status.used, status.last_month, status.last_month_used) == ("2027-04", 0, "2027-03", 5)
    ledger.record(APP, april)
    status = CallLedger(path, LONDON).status(APP, april)
    assert (status.used, status.last_month, status.last_month_used) == (1, "2027-03", 5)


def test_month_boundary_follows_the_configured_time_zone(tmp_path: Path) -> None:
    moment = datetime(2027, 3, 31, 17, 0, tzinfo=UTC)  # 18:00 in London, 01:00 on 1 April in Shanghai
    london = CallLedger(tmp_path / "london.json", "Europe/London")
    shanghai = CallLedger(tmp_path / "shanghai.json", "Asia/Shanghai")
    for ledger in (london, shanghai):
        ledger.record(APP, moment - timedelta(hours=12))
        ledger.record(APP, moment)
    assert london.status(APP, moment).month == "2027-03"
    assert london.used(APP, moment) == 2
    shanghai_status = shanghai.status(APP, moment)
    assert (shanghai_status.month, shanghai_status.used) == ("2027-04", 1)
    assert shanghai_status.last_month_used == 1


def test_year_rollover(path: Path) -> None:
    ledger = CallLedger(path, LONDON)
    ledger.record(APP, at(2027, 12, 31, 12))
    status = ledger.status(APP, at(2028, 1, 1, 0, 30))
    assert (status.month, status.used, status.last_month) == ("2028-01", 0, "2027-12")


def test_a_clock_going_back_does_not_reopen_an_old_month(path: Path) -> None:
    ledger = CallLedger(path, LONDON)
    ledger.record(APP, at(2027, 4, 1, 0, 5))
    ledger.record(APP, at(2027, 3, 31, 23, 55))  # NTP step backwards
    status = ledger.status(APP, at(2027, 4, 1, 1))
    assert (status.month, status.used) == ("2027-04", 2)


# ---- threads -------------------------------------------------------------------------------


def test_many_threads_recording_lose_nothing(path: Path) -> None:
    ledger = CallLedger(path, LONDON)
    now = at(2027, 3, 10, 12)
    threads_n, per_thread = 12, 40
    barrier = threading.Barrier(threads_n)

    def worker() -> None:
        barrier.wait()
        for _ in range(per_thread):
            ledger.record(APP, now, code=0)
            ledger.status(APP, now)

    threads = [threading.Thread(target=worker) for _ in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert ledger.used(APP, now) == threads_n * per_thread
    assert CallLedger(path, LONDON).used(APP, now) == threads_n * per_thread


def test_hold_makes_check_and_record_atomic(path: Path) -> None:
    ledger = CallLedger(path, LONDON)
    now = at(2027, 3, 10, 12)
    limit = 50
    sent = []

    def worker() -> None:
        for _ in range(40):
            with ledger.hold():
                if ledger.used(APP, now) < limit:
                    ledger.record(APP, now)
                    sent.append(1)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert ledger.used(APP, now) == limit == len(sent)


# ---- 2005 -----------------------------------------------------------------------------------


def test_2005_locks_until_month_rollover_with_one_probe_a_day(path: Path) -> None:
    ledger = CallLedger(path, LONDON)
    locked_at = at(2027, 3, 10, 12)
    status = ledger.record(APP, locked_at, code=2005)
    assert status.exhausted and status.exhausted_at == locked_at
    assert not status.probe_allowed  # the call that got 2005 was today's
    assert not ledger.status(APP, at(2027, 3, 10, 23, 59)).probe_allowed

    next_day = at(2027, 3, 11, 0, 1)
    assert ledger.status(APP, next_day).probe_allowed
    status = ledger.record(APP, next_day, code=2005)  # the probe: still exhausted
    assert status.exhausted and not status.probe_allowed
    assert status.last_probe_at == next_day
    assert not ledger.status(APP, at(2027, 3, 11, 18)).probe_allowed
    assert ledger.status(APP, at(2027, 3, 12, 6)).probe_allowed

    restarted = CallLedger(path, LONDON)  # the lock survives a restart
    assert restarted.status(APP, at(2027, 3, 11, 18)).exhausted
    assert not restarted.status(APP, at(2027, 3, 11, 18)).probe_allowed

    april = restarted.status(APP, at(2027, 4, 1, 0, 0, 1))
    assert not april.exhausted and april.used == 0
    assert april.last_month_used == 2


def test_other_app_ids_are_not_locked(path: Path) -> None:
    ledger = CallLedger(path, LONDON)
    ledger.record(APP, at(2027, 3, 10, 12), code=2005)
    assert not ledger.status(OTHER, at(2027, 3, 10, 12)).exhausted


def test_successful_probe_mid_month_unlocks_and_keeps_the_count(path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    ledger = CallLedger(path, LONDON)
    ledger.record(APP, at(2027, 3, 10, 12), count=10)
    ledger.mark_exhausted(APP, at(2027, 3, 10, 12))
    status = ledger.record(APP, at(2027, 3, 11, 9), code=0)
    assert not status.exhausted
    assert (status.month, status.used) == ("2027-03", 11)
    assert "calls resume" in caplog.text


def test_successful_probe_near_month_end_adopts_the_next_month(path: Path) -> None:
    # The server's month (time zone undocumented) rolled before ours: count into April now,
    # and do not reset again at our own midnight.
    ledger = CallLedger(path, LONDON)
    ledger.record(APP, at(2027, 3, 30, 10), count=999)
    ledger.record(APP, at(2027, 3, 30, 11), code=2005)
    status = ledger.record(APP, at(2027, 3, 31, 17), code=0)
    assert not status.exhausted
    assert (status.month, status.used, status.last_month, status.last_month_used) == ("2027-04", 1, "2027-03", 1000)
    ledger.record(APP, at(2027, 3, 31, 18), code=0)
    after_midnight = CallLedger(path, LONDON).status(APP, at(2027, 4, 1, 8))
    assert (after_midnight.month, after_midnight.used) == ("2027-04", 2)


def test_codes_other_than_2005_do_not_lock(path: Path) -> None:
    ledger = CallLedger(path, LONDON)
    for code in (7002, 5000, 4000, 1001, None):
        status = ledger.record(APP, at(2027, 3, 10, 12), code=code)
        assert not status.exhausted
    assert status.last_error_code == 4000
    assert status.last_code == 1001


def test_report_code_does_not_count(path: Path) -> None:
    ledger = CallLedger(path, LONDON)
    ledger.record(APP, at(2027, 3, 10, 12))
    status = ledger.report_code(APP, at(2027, 3, 10, 12), 2005)
    assert status.used == 1 and status.exhausted


# ---- the client hook and validation ---------------------------------------------------------------


@dataclass(frozen=True)
class FakeRecord:
    sent_at: float
    code: int | None


def test_call_hook_records_every_request(path: Path) -> None:
    ledger = CallLedger(path, LONDON)
    hook = ledger.call_hook(APP)
    sent = at(2027, 3, 10, 12).timestamp()
    hook(FakeRecord(sent, 0))
    hook(FakeRecord(sent + 1, None))  # a network error after the request left still counts
    hook(FakeRecord(sent + 2, 2005))
    status = ledger.status(APP, at(2027, 3, 10, 13))
    assert status.used == 3 and status.exhausted


def test_call_hook_matches_the_clients_record_type(path: Path) -> None:
    ledger = CallLedger(path, LONDON)
    sent = at(2027, 3, 10, 12).timestamp()
    ledger.call_hook(APP)(RequestRecord("GET", "/user/api/v2/x", {}, sent, 0.1, 200, 0, None))
    assert ledger.used(APP, at(2027, 3, 10, 12)) == 1


@pytest.mark.parametrize("count", [0, -1, True, 1.5])
def test_count_must_be_positive(path: Path, count: object) -> None:
    with pytest.raises(ValueError, match="count"):
        CallLedger(path, LONDON).record(APP, at(2027, 3, 10, 12), count=count)  # type: ignore[arg-type]


def test_bad_inputs(path: Path) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        CallLedger(path, LONDON).record(APP, datetime(2027, 3, 10, 12))
    with pytest.raises(ValueError, match="time zone"):
        CallLedger(path, "Europe/Londres")


def test_temporary_files_of_a_killed_write_are_removed_at_start_up(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    now = at(2027, 3, 10, 12)
    CallLedger(path, LONDON).record(APP, now, count=3)
    left = path.with_name(f".{path.name}.k1ll3d.tmp")
    left.write_text('{"version": 1, "app_')
    started = time.time() - 60  # a new process, started a minute ago (not when pytest did)
    os.utime(left, (started - 600, started - 600))
    monkeypatch.setattr("apsystems.common.json_file._PROCESS_STARTED", started)
    monkeypatch.setattr("apsystems.common.json_file._swept", set())  # as in a new process: the folder not swept yet
    assert CallLedger(path, LONDON).used(APP, now) == 3
    assert not left.exists()
