"""The fake Charge HQ receiver: strict schema, key check, records, faults and control endpoints."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
import requests

from fakes.chargehq_receiver import PUSH_PATH, ChargeHQReceiver, describe, validate_push
from tests.chargehq.conftest import API_KEY, T0, FakeClock

GOOD: dict[str, Any] = {"apiKey": API_KEY, "siteMeters": {"production_kw": 3.2}}


def post(receiver: ChargeHQReceiver, body: object, raw: bytes | None = None) -> requests.Response:
    data = raw if raw is not None else json.dumps(body).encode()
    return requests.post(receiver.endpoint, data=data, headers={"Content-Type": "application/json"}, timeout=5)


@pytest.mark.parametrize(
    ("body", "status", "problem"),
    [
        (GOOD, 200, None),
        ({"apiKey": API_KEY, "error": "inverter offline"}, 200, None),
        ({"apiKey": API_KEY, "tsms": 1718452800000, "siteMeters": {"production_kw": 0}}, 200, None),
        ({"apiKey": API_KEY, "sitesMeters": {"production_kw": 3.2}}, 400, "the key is 'siteMeters'"),
        ({"SiteMeterPush": GOOD}, 400, "not wrapped"),
        ({"apiKey": API_KEY, "siteMeters": {"production_kw": "3.2"}}, 400, "must be a JSON number, not '3.2'"),
        ({"apiKey": API_KEY, "siteMeters": {"production_kw": True}}, 400, "must be a JSON number"),
        ({"apiKey": API_KEY, "siteMeters": {"solar_kw": 3.2}}, 400, "unknown siteMeters key 'solar_kw'"),
        ({"apiKey": API_KEY, "siteMeters": {"battery_soc": 55}}, 400, "fraction 0..1"),
        ({"apiKey": API_KEY, "tsms": 1718452800, "siteMeters": {"production_kw": 1}}, 400, "milliseconds"),
        ({"apiKey": API_KEY, "tsms": "1718452800000", "siteMeters": {"production_kw": 1}}, 400, "milliseconds"),
        ({"apiKey": API_KEY, "error": "", "siteMeters": {"production_kw": 1}}, 400, "non-empty string"),
        ({"apiKey": API_KEY, "error": "x", "siteMeters": {"production_kw": 1}}, 400, "not both"),
        ({"apiKey": API_KEY}, 400, "neither siteMeters nor error"),
        ({"siteMeters": {"production_kw": 1}}, 401, "apiKey is required"),
        ({"apiKey": "wrong", "siteMeters": {"production_kw": 1}}, 401, "apiKey is not valid"),
        ({"apiKey": 123, "siteMeters": {"production_kw": 1}}, 400, "apiKey must be a string"),
        ([GOOD], 400, "JSON object"),
    ],
)
def test_validate_push(body: object, status: int, problem: str | None) -> None:
    got_status, problems = validate_push(body, API_KEY)
    assert got_status == status
    if problem is None:
        assert problems == []
    else:
        assert any(problem in line for line in problems), problems


def test_records_pushes_with_times_and_redacts_the_key(receiver: ChargeHQReceiver, clock: FakeClock) -> None:
    assert post(receiver, GOOD).status_code == 200
    clock.advance(45)
    bad = post(receiver, {"apiKey": "nope", "siteMeters": {"production_kw": 1}})
    assert bad.status_code == 401
    assert bad.json() == {"success": False, "error": "apiKey is not valid"}
    clock.advance(30)
    assert post(receiver, None, raw=b"{oops").status_code == 400
    first, second, third = receiver.pushes
    assert first.accepted and first.api_key_ok
    assert first.body == {"apiKey": "<redacted>", "siteMeters": {"production_kw": 3.2}}
    assert API_KEY not in first.raw
    assert first.wall == T0 and first.monotonic == T0.timestamp()
    assert not second.api_key_ok and second.status == 401
    assert third.body is None and third.problems == ("the body is not valid JSON",)
    assert receiver.min_spacing_s() == 30
    assert [push.index for push in receiver.pushes] == [0, 1, 2]
    assert len(receiver.accepted_pushes) == 1


def test_inconsistent_power_flows_are_accepted_but_flagged(receiver: ChargeHQReceiver) -> None:
    body = {"apiKey": API_KEY, "siteMeters": {"production_kw": 3.0, "net_import_kw": 1.0, "consumption_kw": 2.0}}
    answer = post(receiver, body)
    assert answer.status_code == 200
    assert "inconsistent" in answer.json()["warning"]
    assert receiver.pushes[0].equation_residual_kw == pytest.approx(-2.0)
    assert "equation residual -2.000 kW" in describe(receiver.pushes[0])


def test_fail_for_n_requests_then_normal(receiver: ChargeHQReceiver) -> None:
    receiver.fail_next(2, status=502, body="bad gateway")
    answers = [post(receiver, GOOD) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [502, 502, 200]
    assert answers[0].text == "bad gateway"
    assert [push.fault for push in receiver.pushes] == ["fail", "fail", None]


def test_fail_until_cleared(receiver: ChargeHQReceiver) -> None:
    receiver.fail_next(None)
    assert [post(receiver, GOOD).status_code for _ in range(4)] == [500] * 4
    receiver.clear_faults()
    assert post(receiver, GOOD).status_code == 200


def test_stall_times_the_client_out_and_is_released_on_clear(receiver: ChargeHQReceiver) -> None:
    receiver.stall_next(None, seconds=30)
    with pytest.raises(requests.Timeout):
        requests.post(receiver.endpoint, json=GOOD, timeout=(2, 0.3))
    assert receiver.pushes[0].status is None and receiver.pushes[0].fault == "stall"
    receiver.clear_faults()
    assert post(receiver, GOOD).status_code == 200


def test_control_endpoints(receiver: ChargeHQReceiver) -> None:
    base = receiver.url + "/_fake/"
    assert requests.get(base + "health", timeout=5).json() == {"ok": True}
    answer = requests.post(base + "fail", json={"status": 503, "count": None}, timeout=5).json()
    assert answer["fault"] == {"mode": "fail", "remaining": None, "status": 503, "seconds": 30.0}
    assert post(receiver, GOOD).status_code == 503
    assert requests.post(base + "clear", timeout=5).json() == {"ok": True, "fault": None}
    assert post(receiver, GOOD).status_code == 200
    requests.post(base + "stall", json={"count": 1, "seconds": 0.5}, timeout=5)
    with pytest.raises(requests.Timeout):
        requests.post(receiver.endpoint, json=GOOD, timeout=(2, 0.2))
    listing = requests.get(base + "pushes", timeout=5).json()
    assert listing["count"] == 3
    assert listing["accepted"] == 1
    assert [push["status"] for push in listing["pushes"]] == [503, 200, None]
    assert listing["pushes"][1]["body"]["apiKey"] == "<redacted>"
    assert API_KEY not in json.dumps(listing)
    assert requests.get(base + "summary", timeout=5).json()["count"] == 3
    assert requests.post(base + "reset", timeout=5).json()["ok"]
    assert receiver.pushes == []


@pytest.mark.parametrize(
    ("path", "body"),
    [("fail", {"status": 42}), ("fail", {"count": 0}), ("stall", {"seconds": -1}), ("stall", {"count": "x"})],
)
def test_control_rejects_bad_requests(receiver: ChargeHQReceiver, path: str, body: dict[str, Any]) -> None:
    answer = requests.post(f"{receiver.url}/_fake/{path}", json=body, timeout=5)
    assert answer.status_code == 400
    assert receiver.fault_mode is None


def test_unknown_paths_and_methods(receiver: ChargeHQReceiver) -> None:
    assert requests.get(receiver.url + PUSH_PATH, timeout=5).status_code == 405
    assert requests.post(receiver.url + "/api/site-meters", json=GOOD, timeout=5).status_code == 404
    assert requests.get(receiver.url + "/_fake/nothing", timeout=5).status_code == 404
    assert receiver.pushes == []


def test_loopback_only() -> None:
    with pytest.raises(ValueError, match="loopback"):
        ChargeHQReceiver(API_KEY, host="0.0.0.0")  # noqa: S104 - the point of the test


def test_stops_itself_after_its_lifetime() -> None:
    receiver = ChargeHQReceiver(API_KEY, max_lifetime_s=0.2).start()
    assert receiver.wait_stopped(5)
    with pytest.raises(RuntimeError):
        _ = receiver.port


def test_stop_releases_a_stalled_request() -> None:
    with ChargeHQReceiver(API_KEY) as receiver:
        receiver.stall_next(None, seconds=60)
        with pytest.raises(requests.Timeout):
            requests.post(receiver.endpoint, json=GOOD, timeout=(2, 0.2))
    assert receiver.wait_stopped(0)


def test_runs_as_a_module_and_prints_pushes() -> None:
    command = [sys.executable, "-m", "fakes.chargehq_receiver", "--port", "0", "--api-key", API_KEY]
    with subprocess.Popen([*command, "--exit-after", "20"], stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            ready = process.stdout.readline()
            assert "listening on http://127.0.0.1:" in ready
            endpoint = ready.rsplit(" ", 1)[1].strip()
            assert requests.post(endpoint, json=GOOD, timeout=5).status_code == 200
            process.stdout.readline()  # the control line
            line = process.stdout.readline()
            assert "#0 HTTP 200" in line and '"production_kw": 3.2' in line
            assert API_KEY not in line
        finally:
            process.terminate()
            process.wait(timeout=10)
    assert process.returncode == 0
