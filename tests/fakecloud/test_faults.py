"""Fault injection on demand: content type, broken JSON, HTTP errors, delays, drops, any code."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from fakes.apsystems_cloud import FakeCloud, FaultInjector, preset

from .conftest import USER, Api


def summary(cloud: FakeCloud) -> str:
    return f"{USER}/systems/summary/{cloud.sid}"


def test_octet_stream(api: Api, cloud: FakeCloud) -> None:
    cloud.faults.inject("octet_stream", times=1)
    resp = api.request("GET", summary(cloud))
    assert resp.headers["Content-Type"] == "application/octet-stream"
    assert json.loads(resp.text)["code"] == 0
    assert api.request("GET", summary(cloud)).headers["Content-Type"] == "application/json"


def test_octet_stream_option_for_everything(api: Api, cloud: FakeCloud) -> None:
    cloud.options.octet_stream = True
    assert api.request("GET", summary(cloud)).headers["Content-Type"] == "application/octet-stream"
    bad = api.request("GET", summary(cloud), headers={})
    assert bad.headers["Content-Type"] == "application/octet-stream"
    assert bad.json()["code"] == 4000


def test_malformed_json(api: Api, cloud: FakeCloud) -> None:
    cloud.faults.inject("malformed_json", times=1)
    resp = api.request("GET", summary(cloud))
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "application/json"
    with pytest.raises(ValueError):
        json.loads(resp.text)
    assert resp.text.startswith('{"data":')


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_http_status(api: Api, cloud: FakeCloud, status: int) -> None:
    cloud.faults.inject("http_status", status=status, times=1)
    resp = api.request("GET", summary(cloud))
    assert resp.status_code == status
    assert resp.headers["Content-Type"] == "text/html"
    assert api.request("GET", summary(cloud)).status_code == 200


def test_dropped_connection(api: Api, cloud: FakeCloud) -> None:
    cloud.faults.inject("drop", times=1)
    with pytest.raises(requests.ConnectionError):
        api.request("GET", summary(cloud))
    assert api.code(summary(cloud)) == 0
    assert cloud.calls.entries()[-2].fault == "drop"
    assert cloud.calls.entries()[-2].http_status == 0


def test_delay_is_applied_and_logged(api: Api, cloud: FakeCloud) -> None:
    cloud.faults.inject("delay", delay_s=0.05, times=1)
    cloud.faults.inject_code(7003, times=1)
    assert api.code(summary(cloud)) == 7003
    assert cloud.calls.entries()[-1].fault == "delay:0.05+code:7003"
    assert api.code(summary(cloud)) == 0


@pytest.mark.parametrize("code", [5000, 7002, 7003, 2005, 1000, 6000, 2002])
def test_any_api_code(api: Api, cloud: FakeCloud, code: int) -> None:
    cloud.faults.inject_code(code, times=1)
    resp = api.request("GET", summary(cloud))
    assert resp.status_code == 200
    assert resp.json() == {"data": None, "code": code}
    assert api.code(summary(cloud)) == 0


def test_next_n_calls(api: Api, cloud: FakeCloud) -> None:
    cloud.faults.inject_code(7002, times=3)
    assert [api.code(summary(cloud)) for _ in range(5)] == [7002, 7002, 7002, 0, 0]
    assert cloud.faults.rules == []


def test_persistent_until_cleared(api: Api, cloud: FakeCloud) -> None:
    cloud.faults.inject_code(5000)
    assert [api.code(summary(cloud)) for _ in range(3)] == [5000] * 3
    cloud.faults.clear()
    assert api.code(summary(cloud)) == 0


def test_rate_is_seeded_and_reproducible() -> None:
    def run() -> list[int]:
        with FakeCloud(site=preset("demo"), fault_seed=42) as cloud:
            cloud.faults.inject_code(5000, rate=0.3)
            api = Api(cloud)
            return [api.code(summary(cloud)) for _ in range(30)]

    first = run()
    assert first == run()
    assert 3 <= first.count(5000) <= 18 and first.count(0) > 0


def test_rate_unit() -> None:
    a, b = FaultInjector(seed=1), FaultInjector(seed=1)
    for inj in (a, b):
        inj.inject("code", code=5000, rate=0.5)
    picks_a = [a.pick("/x", "system_summary").outcome is not None for _ in range(50)]
    picks_b = [b.pick("/x", "system_summary").outcome is not None for _ in range(50)]
    assert picks_a == picks_b and 10 < sum(picks_a) < 40


def test_restricted_to_path_or_route(api: Api, cloud: FakeCloud) -> None:
    cloud.faults.inject_code(5000, route="system_energy:hourly")
    cloud.faults.inject_code(7003, path_contains="/devices/ecu/")
    energy = f"{USER}/systems/energy/{cloud.sid}"
    assert api.code(energy, energy_level="hourly", date_range="2026-06-14") == 5000
    assert api.code(energy, energy_level="daily") == 0
    assert api.code(summary(cloud)) == 0
    assert api.code(f"{USER}/systems/{cloud.sid}/devices/ecu/summary/{cloud.site.ecus[0].eid}") == 7003
    cloud.faults.clear()
    cloud.faults.inject_code(1000, route="system_energy")
    assert api.code(energy, energy_level="daily") == 1000
    assert api.code(summary(cloud)) == 0


def test_faulted_calls_count_towards_quota(api: Api, cloud: FakeCloud) -> None:
    cloud.faults.inject("http_status", times=1)
    cloud.faults.inject("drop", times=1)
    api.request("GET", summary(cloud))
    with pytest.raises(requests.ConnectionError):
        api.request("GET", summary(cloud))
    assert cloud.quota_used() == 2


def test_remove_single_fault(api: Api, cloud: FakeCloud) -> None:
    fault = cloud.faults.inject_code(5000)
    assert cloud.faults.remove(fault.id)
    assert not cloud.faults.remove(fault.id)
    assert api.code(summary(cloud)) == 0


def test_unknown_kind_rejected() -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        FaultInjector().inject("explode")
    with pytest.raises(ValueError):
        FaultInjector().inject("code", rate=2.0)


def test_hostile_answers_on_demand(api: Api, cloud: FakeCloud) -> None:
    """Redirect, deep nesting, inflation and garbage, as the client's bounds are tested against."""

    def raw(**kwargs: Any) -> requests.Response:
        path = summary(cloud)
        return api.session.get(cloud.url + path, headers=api.headers(path, "GET"), timeout=10, **kwargs)

    cloud.faults.from_dict({"kind": "redirect", "location": "https://collector.invalid/x", "times": 1})
    redirected = raw(allow_redirects=False)
    assert redirected.status_code == 302 and redirected.headers["Location"] == "https://collector.invalid/x"
    cloud.faults.inject("nest", size=1000, times=1)
    nested = api.request("GET", summary(cloud)).content
    assert nested.startswith(b'{"code":0,"data":' + b"[" * 1000) and nested.endswith(b"]" * 1000 + b"}")
    cloud.faults.inject("inflate", size=2_000_000, times=1)
    inflated = raw(stream=True)
    assert inflated.headers["Content-Encoding"] == "gzip" and int(inflated.headers["Content-Length"]) < 100_000
    assert len(inflated.content) >= 2_000_000 and json.loads(inflated.content)["code"] == 0
    cloud.faults.inject("corrupt", size=32, times=1)
    garbage = api.request("GET", summary(cloud)).content
    assert len(garbage) == 32
    with pytest.raises(ValueError):
        json.loads(garbage)
    assert cloud.calls.total == 4  # each counted by the fake's quota like any other call


def test_a_trickle_sends_one_byte_at_a_time(cloud: FakeCloud) -> None:
    fault = cloud.faults.inject("trickle", delay_s=0.01, times=1)
    assert fault.kind == "trickle" and fault.delay_s == 0.01
    assert cloud.faults.inject("trickle", times=1).delay_s == 3.0  # the default pace of issue 10


def test_absurd_faults_replace_every_number_of_the_answer(cloud: FakeCloud) -> None:
    from apsystems.api.client import ApsystemsClient  # noqa: PLC0415

    client = ApsystemsClient(cloud.app_id, cloud.app_secret, base_url=cloud.url)
    try:
        cloud.faults.inject("absurd_huge", times=1)
        huge = client.system_summary(cloud.sid)
        cloud.faults.inject("absurd_negative", times=1)
        negative = client.system_summary(cloud.sid)
        normal = client.system_summary(cloud.sid)
    finally:
        client.close()
    assert huge.lifetime == 1e308 and huge.today == 1e308
    assert negative.lifetime == -1_000_000
    assert normal.lifetime is not None and 0 < normal.lifetime < 1e6
