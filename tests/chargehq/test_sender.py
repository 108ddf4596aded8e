"""The sender against the real local receiver over HTTP, with an injected clock (no sleeping)."""

from __future__ import annotations

import itertools
import json
import logging
import socket
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from chargehq.payload import build_push
from chargehq.sender import MAX_BACKOFF_S, Sender
from chargehq.sources import Reading
from fakes.chargehq_receiver import ChargeHQReceiver
from tests.chargehq.conftest import API_KEY, T0, FakeClock

BODY: dict[str, Any] = {"siteMeters": {"production_kw": 3.2, "net_import_kw": -1.1, "consumption_kw": 2.1}}


def make_sender(receiver: ChargeHQReceiver, clock: FakeClock, **kwargs: Any) -> Sender:
    kwargs.setdefault("read_timeout_s", 2.0)
    kwargs.setdefault("connect_timeout_s", 2.0)
    return Sender(API_KEY, endpoint=receiver.endpoint, clock=clock, **kwargs)


def run_schedule(sender: Sender, clock: FakeClock, seconds: float, tick_s: float = 5.0) -> list[float]:
    """A scheduler that offers a push every ``tick_s``; returns the offsets of real attempts."""
    attempts: list[float] = []
    end = clock.now.timestamp() + seconds
    while clock.now.timestamp() < end:
        if sender.due():
            outcome = sender.push(BODY)
            assert outcome.attempted
            attempts.append((clock.now - T0).total_seconds())
        clock.advance(tick_s)
    return attempts


def gaps(times: list[float]) -> list[float]:
    return [later - earlier for earlier, later in itertools.pairwise(times)]


def test_2xx_is_accepted(receiver: ChargeHQReceiver, clock: FakeClock) -> None:
    sender = make_sender(receiver, clock)
    plan = build_push({"production": Reading("production", 3.2, T0, 300)}, now=T0)
    outcome = sender.push(plan.body())
    assert outcome.attempted and outcome.accepted
    assert outcome.http_status == 200
    assert outcome.error is None
    (push,) = receiver.pushes
    assert push.api_key_ok and push.accepted
    assert push.body == {"apiKey": "<redacted>", "siteMeters": {"production_kw": 3.2}}
    status = sender.status
    assert status.last_success == T0 == status.last_attempt
    assert status.last_http_status == 200
    assert status.consecutive_failures == 0
    assert sender.seconds_until_allowed() == 60


@pytest.mark.parametrize("status", [201, 202, 204])
def test_any_2xx_is_accepted_whatever_the_body(receiver: ChargeHQReceiver, clock: FakeClock, status: int) -> None:
    receiver.fail_next(1, status=status, body="not json at all")
    outcome = make_sender(receiver, clock).push(BODY)
    assert outcome.accepted
    assert outcome.http_status == status


def test_500_backs_off_to_five_minutes_then_recovers(receiver: ChargeHQReceiver, clock: FakeClock) -> None:
    sender = make_sender(receiver, clock)
    receiver.fail_next(None, status=500)
    failing = run_schedule(sender, clock, seconds=1500)
    assert gaps(failing)[:5] == [60, 120, 240, 300, 300]
    assert max(gaps(failing)) == MAX_BACKOFF_S
    assert sender.status.consecutive_failures == len(failing)
    assert sender.status.last_http_status == 500
    assert sender.status.last_success is None

    receiver.clear_faults()
    recovering = run_schedule(sender, clock, seconds=600)
    assert recovering[0] - failing[-1] == 300  # the back-off in force when the fault cleared
    assert gaps(recovering) == [60] * (len(recovering) - 1)
    assert sender.status.consecutive_failures == 0
    assert sender.status.last_http_status == 200

    assert all(not push.accepted for push in receiver.pushes[: len(failing)])
    assert all(push.accepted for push in receiver.pushes[len(failing) :])
    spacing = receiver.min_spacing_s()
    assert spacing is not None and spacing >= 30


def test_single_failure_keeps_the_normal_pace(receiver: ChargeHQReceiver, clock: FakeClock) -> None:
    sender = make_sender(receiver, clock, push_interval_s=30)
    receiver.fail_next(1, status=503)
    attempts = run_schedule(sender, clock, seconds=200)
    assert gaps(attempts) == [30] * (len(attempts) - 1)
    assert [push.status for push in receiver.pushes][:2] == [503, 200]


def test_timeout_is_a_failure_and_the_next_push_recovers(receiver: ChargeHQReceiver, clock: FakeClock) -> None:
    sender = make_sender(receiver, clock, read_timeout_s=0.3)
    receiver.stall_next(1, seconds=10)
    outcome = sender.push(BODY)
    assert outcome.attempted and not outcome.accepted
    assert outcome.http_status is None
    assert outcome.error is not None and "Timeout" in outcome.error
    assert sender.status.consecutive_failures == 1
    assert sender.status.last_error == outcome.error
    assert not sender.push(BODY).attempted  # still paced
    clock.advance(60)
    assert sender.push(BODY).accepted
    assert [push.status for push in receiver.pushes] == [None, 200]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connection_refused_is_a_failure(clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sender = Sender(API_KEY, endpoint=f"http://127.0.0.1:{closed_port()}/api/public/push-solar-data", clock=clock)
    outcome = sender.push(BODY)
    assert outcome.attempted and not outcome.accepted
    assert outcome.error is not None and "ConnectionError" in outcome.error
    assert "Charge HQ push failed" in caplog.text
    assert API_KEY not in caplog.text


def test_spacing_survives_a_restart(receiver: ChargeHQReceiver, clock: FakeClock, tmp_path: Path) -> None:
    state = tmp_path / "state" / "chargehq_pacing.json"
    first = make_sender(receiver, clock, state_path=state)
    assert first.push(BODY).accepted
    assert state.exists()

    clock.advance(10)
    second = make_sender(receiver, clock, state_path=state)  # the app restarted
    assert second.status.last_attempt == T0
    assert not second.due()
    assert second.seconds_until_allowed() == 50
    held = second.push(BODY)
    assert not held.attempted
    assert held.next_allowed == first.next_allowed()
    clock.advance(50)
    assert second.push(BODY).accepted
    assert len(receiver.pushes) == 2
    assert receiver.min_spacing_s() == 60


def test_backoff_survives_a_restart(receiver: ChargeHQReceiver, clock: FakeClock, tmp_path: Path) -> None:
    state = tmp_path / "pacing.json"
    receiver.fail_next(None, status=500)
    first = make_sender(receiver, clock, state_path=state)
    attempts = run_schedule(first, clock, seconds=200)
    assert gaps(attempts) == [60, 120]
    failures = first.status.consecutive_failures
    assert failures == 3

    second = make_sender(receiver, clock, state_path=state)
    assert second.status.consecutive_failures == failures
    assert second.next_allowed() == first.next_allowed()
    more = run_schedule(second, clock, seconds=400)
    assert more[0] - attempts[-1] == 240
    spacing = receiver.min_spacing_s()
    assert spacing is not None and spacing >= 30


def test_minimum_interval_across_restart_at_30_s(receiver: ChargeHQReceiver, clock: FakeClock, tmp_path: Path) -> None:
    state = tmp_path / "pacing.json"
    make_sender(receiver, clock, state_path=state, push_interval_s=30).push(BODY)
    clock.advance(29)
    again = make_sender(receiver, clock, state_path=state, push_interval_s=30)
    assert not again.push(BODY).attempted
    clock.advance(1)
    assert again.push(BODY).attempted
    assert receiver.min_spacing_s() == 30


def test_attempt_is_persisted_before_the_request(clock: FakeClock, tmp_path: Path) -> None:
    state = tmp_path / "pacing.json"
    seen: list[dict[str, Any]] = []

    class CrashingSession(requests.Session):
        def request(self, *args: Any, **kwargs: Any) -> requests.Response:
            seen.append(json.loads(state.read_text()))
            raise KeyboardInterrupt  # the process dies mid-request

    sender = Sender(
        API_KEY, endpoint="https://example.invalid/x", clock=clock, state_path=state, session=CrashingSession()
    )
    with pytest.raises(KeyboardInterrupt):
        sender.push(BODY)
    assert seen[0]["last_attempt"] == T0.timestamp()
    clock.advance(5)
    restarted = Sender(API_KEY, endpoint="https://example.invalid/x", clock=clock, state_path=state)
    assert restarted.seconds_until_allowed() == 55


def test_unreadable_state_file_waits_on_the_safe_side(clock: FakeClock, tmp_path: Path) -> None:
    state = tmp_path / "pacing.json"
    state.write_text("{not json")
    sender = Sender(API_KEY, clock=clock, state_path=state)
    assert sender.seconds_until_allowed() == 60
    state.write_text(json.dumps({"last_attempt": "yesterday"}))
    assert Sender(API_KEY, clock=clock, state_path=state).seconds_until_allowed() == 60


def test_a_state_file_that_is_a_folder_is_set_aside_and_pacing_persists_again(
    receiver: ChargeHQReceiver, clock: FakeClock, tmp_path: Path
) -> None:
    state = tmp_path / "pacing.json"
    state.mkdir()
    sender = make_sender(receiver, clock, state_path=state)
    assert sender.seconds_until_allowed() == 60  # the safe side
    assert (tmp_path / "pacing.json.corrupt.1").is_dir()
    clock.advance(60)
    assert sender.push(BODY).accepted
    assert json.loads(state.read_text())["consecutive_failures"] == 0


def test_clock_going_back_does_not_stall_pushes(receiver: ChargeHQReceiver, clock: FakeClock, tmp_path: Path) -> None:
    state = tmp_path / "pacing.json"
    sender = make_sender(receiver, clock, state_path=state)
    sender.push(BODY)
    clock.advance(-3600)
    assert sender.seconds_until_allowed() == 60
    assert make_sender(receiver, clock, state_path=state).seconds_until_allowed() == 60


def test_state_file_is_written_atomically_and_holds_no_key(
    receiver: ChargeHQReceiver, clock: FakeClock, tmp_path: Path
) -> None:
    state = tmp_path / "pacing.json"
    make_sender(receiver, clock, state_path=state).push(BODY)
    assert [path.name for path in tmp_path.iterdir()] == ["pacing.json"]
    saved = json.loads(state.read_text())
    assert saved == {
        "version": 1,
        "last_attempt": T0.timestamp(),
        "last_success": T0.timestamp(),
        "last_http_status": 200,
        "consecutive_failures": 0,
    }
    assert API_KEY not in state.read_text()


def test_the_key_appears_in_no_log_line_or_error_text(
    receiver: ChargeHQReceiver, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sender = make_sender(receiver, clock, read_timeout_s=0.3)
    texts: list[str] = []

    receiver.fail_next(1, status=400, body=f'{{"error": "bad apiKey {API_KEY}", "echo": "{API_KEY}"}}')
    echoed = sender.push(BODY)
    assert echoed.http_status == 400
    assert "bad apiKey <redacted>" in echoed.body_preview
    texts += [echoed.body_preview, echoed.body, str(echoed.error)]

    clock.advance(60)
    receiver.fail_next(1, status=500, body=f"Internal error for {API_KEY} " + "x" * 500)
    long = sender.push(BODY)
    assert len(long.body_preview) <= 200
    texts += [long.body_preview, long.body, str(long.error)]

    clock.advance(120)
    receiver.stall_next(1, seconds=5)
    stalled = sender.push(BODY)
    texts += [str(stalled.error)]

    clock.advance(240)
    assert sender.push(BODY).accepted
    texts += [repr(sender), repr(sender.status), json.dumps(sender.status.as_attributes())]

    assert "Charge HQ push failed (HTTP 400" in caplog.text
    assert "Charge HQ push accepted again" in caplog.text
    for text in [*texts, caplog.text, *(record.getMessage() for record in caplog.records)]:
        assert API_KEY not in text


def test_exceptions_never_carry_the_key(clock: FakeClock) -> None:
    sender = Sender(API_KEY, clock=clock)
    with pytest.raises(ValueError, match="without it") as info:
        sender.push({"apiKey": API_KEY, **BODY})
    assert API_KEY not in str(info.value)
    with pytest.raises(ValueError, match="at least 30") as too_fast:
        Sender(API_KEY, push_interval_s=20)
    assert API_KEY not in str(too_fast.value)


def test_timeouts_are_bounded() -> None:
    with pytest.raises(ValueError, match="timeouts"):
        Sender(API_KEY, read_timeout_s=30)
    with pytest.raises(ValueError, match="timeouts"):
        Sender(API_KEY, connect_timeout_s=10)


def test_plain_http_to_a_remote_host_warns(caplog: pytest.LogCaptureFixture) -> None:
    Sender(API_KEY, endpoint="http://api.chargehq.net/api/public/push-solar-data")
    assert "plain http://" in caplog.text


def test_naive_clock_is_refused() -> None:
    sender = Sender(API_KEY, clock=lambda: T0.replace(tzinfo=None))
    with pytest.raises(ValueError, match="aware"):
        sender.due()


def test_a_trickling_answer_fails_at_the_total_deadline(receiver: ChargeHQReceiver, clock: FakeClock) -> None:
    # One byte every 0.5 s never trips the 2 s read timeout; the 1.5 s deadline ends it.
    sender = make_sender(receiver, clock, deadline_s=1.5)
    receiver.trickle_next(1, interval_s=0.5)
    started = time.monotonic()
    outcome = sender.push(BODY)
    assert time.monotonic() - started < 3.0
    assert outcome.attempted and not outcome.accepted
    assert outcome.error is not None and "DeadlineExceeded" in outcome.error
    assert sender.status.consecutive_failures == 1  # counted as a failed attempt
    clock.advance(60)
    assert sender.push(BODY).accepted


def test_backoff_arithmetic_is_bounded_after_any_number_of_failures() -> None:
    sender = Sender(API_KEY)
    for failures in (1025, 10**6):
        sender.consecutive_failures = failures
        assert sender.current_interval_s() == MAX_BACKOFF_S


def test_a_week_long_outage_then_recovery(receiver: ChargeHQReceiver, clock: FakeClock, tmp_path: Path) -> None:
    sender = make_sender(receiver, clock, state_path=tmp_path / "pacing.json")
    receiver.fail_next(None, status=503)
    week = 7 * 24 * 3600.0
    while (clock.now - T0).total_seconds() < week:
        outcome = sender.push(BODY)
        assert outcome.attempted and not outcome.accepted
        clock.advance(sender.seconds_until_allowed())
    assert sender.status.consecutive_failures > 1025  # past the old OverflowError
    assert gaps([(p.wall - T0).total_seconds() for p in receiver.pushes])[-1] == MAX_BACKOFF_S
    receiver.clear_faults()
    recovered = sender.push(BODY)
    assert recovered.accepted and sender.status.consecutive_failures == 0
    clock.advance(sender.seconds_until_allowed())
    assert sender.push(BODY).accepted
