"""The unsigned /_fake control endpoints (for tests and demos in other processes)."""

from __future__ import annotations

import requests

from fakes.apsystems_cloud import FakeCloud, preset

from .conftest import USER, Api, control


def test_state_and_calls_are_not_counted(api: Api, cloud: FakeCloud) -> None:
    api.get(f"{USER}/systems/summary/{cloud.sid}")
    state = control(cloud, "GET", "state").json()
    assert state["primary_sid"] == cloud.sid and state["url"] == cloud.url
    assert state["clock"]["mode"] == "fixed"
    calls = control(cloud, "GET", "calls").json()
    assert calls["total"] == 1 and calls["by_route"] == {"system_summary": 1}
    assert calls["log"][0]["app_id"] == cloud.app_id
    assert control(cloud, "GET", "calls").json()["total"] == 1
    assert control(cloud, "GET", "log?limit=1").json()["log"][0]["route"] == "system_summary"
    assert control(cloud, "POST", "calls/reset").json() == {"reset": True}
    assert cloud.calls.total == 0
    assert cloud.quota_used() == 1


def test_faults_endpoint(api: Api, cloud: FakeCloud) -> None:
    resp = control(cloud, "POST", "faults", {"kind": "code", "code": 7002, "times": 1})
    assert resp.status_code == 200
    assert resp.json()["added"][0]["code"] == 7002
    assert api.code(f"{USER}/systems/summary/{cloud.sid}") == 7002
    control(cloud, "POST", "faults", {"faults": [{"kind": "http_status", "status": 503}, {"kind": "delay"}]})
    assert len(control(cloud, "GET", "faults").json()["faults"]) == 2
    assert control(cloud, "DELETE", "faults").json() == {"cleared": True}
    assert cloud.faults.rules == []
    assert control(cloud, "POST", "faults", {"kind": "nope"}).status_code == 400
    assert control(cloud, "POST", "faults", {"kind": "code", "colour": 1}).status_code == 400


def test_clock_endpoint(cloud: FakeCloud) -> None:
    resp = control(cloud, "POST", "clock", {"mode": "fixed", "now": "2026-01-10T09:00:00+00:00"})
    assert resp.json()["now"] == "2026-01-10T09:00:00+00:00"
    assert cloud.today().isoformat() == "2026-01-10"
    control(cloud, "POST", "clock", {"advance_s": 86400})
    assert cloud.today().isoformat() == "2026-01-11"
    assert (
        control(cloud, "POST", "clock", {"mode": "speed", "speed": 60, "start": "2026-02-01T00:00:00Z"}).json()["speed"]
        == 60
    )
    assert cloud.clock.mode == "speed"
    assert control(cloud, "POST", "clock", {"mode": "offset", "offset_s": -3600}).json()["mode"] == "offset"
    assert control(cloud, "POST", "clock", {"mode": "real"}).json()["mode"] == "real"
    assert control(cloud, "POST", "clock", {"mode": "warp"}).status_code == 400
    assert control(cloud, "POST", "clock", {"mode": "fixed", "now": "2026-01-10T09:00:00"}).status_code == 400


def test_quota_endpoint(api: Api, cloud: FakeCloud) -> None:
    snap = control(cloud, "POST", "quota", {"used": 1000}).json()
    assert snap["used"] == {cloud.app_id: 1000} and snap["month"] == "2026-06"
    assert api.code(f"{USER}/systems/summary/{cloud.sid}") == 2005
    control(cloud, "POST", "quota", {"limit": 5000})
    assert api.code(f"{USER}/systems/summary/{cloud.sid}") == 0
    assert control(cloud, "POST", "quota/reset").json()["used"] == {}
    assert control(cloud, "GET", "quota").json()["limit"] == 5000


def test_site_inverter_edits(api: Api, cloud: FakeCloud) -> None:
    uid = cloud.site.ecus[0].inverters[0].uid
    eid = cloud.site.ecus[0].eid
    listed = f"{USER}/systems/inverters/{cloud.sid}"
    assert control(cloud, "POST", "site/inverters", {"action": "remove", "uid": uid}).json() == {"removed": uid}
    assert len(api.data(listed)[0]["inverter"]) == 3
    assert control(cloud, "POST", "site/inverters", {"action": "restore", "uid": uid}).status_code == 200
    added = control(cloud, "POST", "site/inverters", {"action": "add", "eid": eid, "model": "QT2D"}).json()
    assert added["model"] == "QT2D" and len(added["panels_w"]) == 4
    assert len(api.data(listed)[0]["inverter"]) == 5
    assert control(cloud, "POST", "site/inverters", {"action": "empty"}).json() == {"empty_inverter_list": True}
    assert api.data(listed) == []
    control(cloud, "POST", "site/inverters", {"action": "normal"})
    assert len(api.data(listed)[0]["inverter"]) == 5
    assert control(cloud, "POST", "site/inverters", {"action": "remove", "uid": "000000000000"}).status_code == 400
    assert control(cloud, "POST", "site/inverters", {"action": "add", "eid": eid, "model": "X"}).status_code == 400
    assert control(cloud, "POST", "site/inverters", {"action": "dance"}).status_code == 400
    site = control(cloud, "GET", "site").json()
    assert site["sid"] == cloud.sid and len(site["ecus"][0]["inverters"]) == 5


def test_site_light_and_replace(api: Api, cloud: FakeCloud) -> None:
    control(cloud, "POST", "site/light", {"light": 3})
    assert api.data(f"{USER}/systems/details/{cloud.sid}")["light"] == 3
    spec = preset("large").to_dict()
    assert control(cloud, "POST", "site", {"site": spec}).json() == {"sid": "B0XD123A3BHJ"}
    assert api.code(f"{USER}/systems/summary/B0XD123A3BHJ") == 0


def test_options_auth_tokens_reset(api: Api, cloud: FakeCloud) -> None:
    assert control(cloud, "POST", "options", {"emit_ac_p": True}).json()["emit_ac_p"] is True
    assert control(cloud, "POST", "options", {"bogus": 1}).status_code == 400
    auth = control(cloud, "POST", "auth", {"credentials": {"a" * 32: "newsecret123"}, "skew_tolerance_s": 60}).json()
    assert "a" * 32 in auth["app_ids"] and auth["skew_tolerance_s"] == 60
    assert Api(cloud, "a" * 32, "newsecret123").code(f"{USER}/systems/summary/{cloud.sid}") == 4000  # skew
    control(cloud, "POST", "auth", {"skew_tolerance_s": None, "remove": ["a" * 32]})
    assert Api(cloud, "a" * 32, "newsecret123").code(f"{USER}/systems/summary/{cloud.sid}") == 2001
    token = control(cloud, "POST", "tokens", {"username": "bob"}).json()["token"]
    body = api.post("/installer/api/v2/getSystemsByToken", {"token": token})
    assert body["data"]["systems"][0]["username"] == "bob"
    cloud.faults.inject_code(5000)
    assert control(cloud, "POST", "reset").json() == {"reset": True}
    assert cloud.calls.total == 0 and cloud.faults.rules == [] and cloud.quota_used() == 0


def test_unknown_control_endpoint_and_bad_json(cloud: FakeCloud) -> None:
    assert control(cloud, "GET", "nothing").status_code == 404
    resp = requests.post(cloud.url + "/_fake/faults", data=b"{oops", timeout=10)
    assert resp.status_code == 400 and "error" in resp.json()
