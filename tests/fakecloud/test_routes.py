"""Every documented route answers with the documented shape; numbers travel as strings."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests

from fakes.apsystems_cloud import FakeCloud, preset

from .conftest import INSTALLER, USER, Api

NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
HHMM = re.compile(r"^\d{2}:\d{2}$")


def assert_numeric_strings(values: list[Any]) -> None:
    assert values, "empty list"
    for v in values:
        assert isinstance(v, str) and NUMBER.match(v), v


def test_system_details(api: Api, cloud: FakeCloud) -> None:
    data = api.data(f"{USER}/systems/details/{cloud.sid}")
    assert data == {
        "sid": "AZ12649A3DFF",
        "create_date": "2023-04-01",
        "capacity": "3.20",
        "type": 1,
        "timezone": "Europe/London",
        "ecu": ["203000001234"],
        "light": 1,
        "authorization_code": "ff8080815501b29d0155088b2ebb06ad",
    }


def test_inverters(api: Api, cloud: FakeCloud) -> None:
    data = api.data(f"{USER}/systems/inverters/{cloud.sid}")
    assert data == [
        {
            "eid": "203000001234",
            "type": 0,
            "timezone": "Europe/London",
            "inverter": [{"uid": f"70300000100{i}", "type": "DS3"} for i in range(1, 5)],
        }
    ]


def test_raw_envelope_bytes_and_content_type(api: Api, cloud: FakeCloud) -> None:
    resp = api.request("GET", f"{USER}/systems/meters/{cloud.sid}")
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.text == '{"data":[],"code":0}'


def test_summary(api: Api, cloud: FakeCloud) -> None:
    data = api.data(f"{USER}/systems/summary/{cloud.sid}")
    assert list(data) == ["today", "month", "year", "lifetime"]
    assert_numeric_strings(list(data.values()))
    assert all(re.match(r"^\d+\.\d{2}$", v) for v in data.values())


@pytest.mark.parametrize(
    ("level", "date_range", "length"),
    [
        ("hourly", "2026-06-14", 24),
        ("daily", "2026-02", 28),
        ("daily", "2026-06", 30),
        ("monthly", "2025", 12),
        ("yearly", None, 4),
    ],
)
def test_system_energy_lengths(api: Api, cloud: FakeCloud, level: str, date_range: str | None, length: int) -> None:
    params = {"energy_level": level} | ({"date_range": date_range} if date_range else {})
    data = api.data(f"{USER}/systems/energy/{cloud.sid}", **params)
    assert len(data) == length
    assert_numeric_strings(data)


def test_system_energy_rejects_minutely_and_bad_levels(api: Api, cloud: FakeCloud) -> None:
    path = f"{USER}/systems/energy/{cloud.sid}"
    assert api.get(path, energy_level="minutely") == {"data": None, "code": 4001}
    assert api.code(path, energy_level="weekly") == 4001
    assert api.code(path) == 4001
    assert api.code(path, energy_level="hourly", date_range="15/06/2026") == 4001
    assert api.code(path, energy_level="daily", date_range="2026-06-01") == 4001


def test_invalid_level_code_configurable(api: Api, cloud: FakeCloud) -> None:
    cloud.options.invalid_level_code = 4000
    assert api.code(f"{USER}/systems/energy/{cloud.sid}", energy_level="weekly") == 4000


def test_ecu_summary_and_energy(api: Api, cloud: FakeCloud) -> None:
    eid = cloud.site.ecus[0].eid
    base = f"{USER}/systems/{cloud.sid}/devices/ecu"
    summary = api.data(f"{base}/summary/{eid}")
    assert list(summary) == ["today", "month", "year", "lifetime"]
    minutely = api.data(f"{base}/energy/{eid}", energy_level="minutely")
    assert set(minutely) == {"time", "energy", "power", "today"}
    n = len(minutely["time"])
    assert n > 50 and len(minutely["energy"]) == n and len(minutely["power"]) == n
    assert all(HHMM.match(t) for t in minutely["time"])
    assert_numeric_strings(minutely["energy"])
    assert all(p.isdigit() for p in minutely["power"])
    assert isinstance(minutely["today"], str)
    for level, rng, length in (("hourly", "2026-06-15", 24), ("daily", "2026-06", 30), ("monthly", "2026", 12)):
        data = api.data(f"{base}/energy/{eid}", energy_level=level, date_range=rng)
        assert len(data) == length
        assert_numeric_strings(data)


def test_inverter_summary_and_energy(api: Api, cloud: FakeCloud) -> None:
    uid = cloud.site.ecus[0].inverters[0].uid
    base = f"{USER}/systems/{cloud.sid}/devices/inverter"
    summary = api.data(f"{base}/summary/{uid}")
    assert list(summary) == ["d1", "m1", "y1", "t1", "d2", "m2", "y2", "t2"]
    assert_numeric_strings(list(summary.values()))
    minutely = api.data(f"{base}/energy/{uid}", energy_level="minutely", date_range="2026-06-15")
    expected = {"t", "ac_v1", "ac_f", "ac_t", "ac_p1"} | {f"dc_{q}{c}" for q in ("p", "i", "v", "e") for c in (1, 2)}
    assert set(minutely) == expected
    n = len(minutely["t"])
    for key, values in minutely.items():
        assert len(values) == n, key
        if key != "t":
            assert_numeric_strings(values)
    hourly = api.data(f"{base}/energy/{uid}", energy_level="hourly", date_range="2026-06-14")
    assert set(hourly) == {"e1", "e2"} and len(hourly["e1"]) == 24
    yearly = api.data(f"{base}/energy/{uid}", energy_level="yearly")
    assert len(yearly["e2"]) == 4


def test_emit_ac_p_option(api: Api, cloud: FakeCloud) -> None:
    cloud.options.emit_ac_p = True
    uid = cloud.site.ecus[0].inverters[0].uid
    data = api.data(f"{USER}/systems/{cloud.sid}/devices/inverter/energy/{uid}", energy_level="minutely")
    assert data["ac_p"] == data["ac_p1"]


def test_four_channel_and_three_phase_models(large: FakeCloud) -> None:
    api = Api(large)
    by_model = {inv.model: inv for _, inv in large.site.all_inverters()}
    base = f"{USER}/systems/{large.sid}/devices/inverter"
    qs1 = api.data(f"{base}/energy/{by_model['QS1'].uid}", energy_level="minutely")
    assert {"dc_p4", "dc_v4", "dc_i4", "dc_e4"} <= set(qs1) and "ac_v2" not in qs1
    qt2 = api.data(f"{base}/energy/{by_model['QT2'].uid}", energy_level="minutely")
    assert {"ac_v1", "ac_v2", "ac_v3", "dc_p4"} <= set(qt2)
    summary = api.data(f"{base}/summary/{by_model['QT2'].uid}")
    assert "t4" in summary and "t5" not in summary
    inv_list = api.data(f"{USER}/systems/inverters/{large.sid}")
    assert [e["type"] for e in inv_list] == [1, 0, 0]
    assert sum(len(e["inverter"]) for e in inv_list) == 30
    assert api.data(f"{USER}/systems/meters/{large.sid}") == ["216000000101"]


def test_batch_power_and_energy(api: Api, cloud: FakeCloud) -> None:
    eid = cloud.site.ecus[0].eid
    path = f"{USER}/systems/{cloud.sid}/devices/inverter/batch/energy/{eid}"
    power = api.data(path, energy_level="power", date_range="2026-06-14")
    assert set(power) == {"time", "power"}
    assert len(power["power"]) == 8
    for key, values in power["power"].items():
        assert re.match(r"^\d{12}-[12]$", key)
        assert len(values) == len(power["time"])
        assert all(isinstance(v, int) for v in values)
    energy = api.data(path, energy_level="energy", date_range="2026-06-14")
    assert len(energy["energy"]) == 8
    assert all(re.match(r"^\d{12}-[12]-\d+\.\d{2}$", e) for e in energy["energy"])


def test_batch_requires_date_range_and_a_batch_level(api: Api, cloud: FakeCloud) -> None:
    path = f"{USER}/systems/{cloud.sid}/devices/inverter/batch/energy/{cloud.site.ecus[0].eid}"
    assert api.get(path, energy_level="power") == {"data": None, "code": 4001}
    assert api.code(path, energy_level="hourly", date_range="2026-06-14") == 4001


def test_unknown_ids(api: Api, cloud: FakeCloud) -> None:
    sid = cloud.sid
    assert api.get(f"{USER}/systems/summary/ZZZZZZZZZZZZ") == {"data": None, "code": 4001}
    assert api.code(f"{USER}/systems/{sid}/devices/ecu/summary/999999999999") == 4001
    assert api.code(f"{USER}/systems/{sid}/devices/inverter/summary/999999999999") == 4001
    assert api.code(f"{USER}/systems/{sid}/devices/meter/summary/203000001234") == 4001
    assert api.code(f"{USER}/systems/{sid}/devices/storage/latest/203000001234") == 4001


def test_unknown_path_is_http_404_and_logged(api: Api, cloud: FakeCloud) -> None:
    resp = api.request("GET", f"{USER}/systems/nothing/{cloud.sid}")
    assert resp.status_code == 404
    wrong_method = api.request("POST", f"{USER}/systems/summary/{cloud.sid}")
    assert wrong_method.status_code == 405
    assert cloud.calls.by_route["unknown"] == 2
    assert cloud.quota_used() == 0


def test_user_routes_also_under_installer_prefix(api: Api, cloud: FakeCloud) -> None:
    assert api.code(f"{INSTALLER}/systems/summary/{cloud.sid}") == 0


def test_installer_only_routes_not_under_user(api: Api, cloud: FakeCloud) -> None:
    assert api.request("GET", f"{USER}/systems/storages/{cloud.sid}").status_code == 404
    assert api.request("POST", f"{USER}/systems").status_code == 404


def test_meter_routes(southern: FakeCloud) -> None:
    api = Api(southern)
    eid = southern.site.meter_eid
    base = f"{USER}/systems/{southern.sid}/devices/meter"
    summary = api.data(f"{base}/summary/{eid}")
    assert list(summary) == ["today", "month", "year", "lifetime"]
    for span in summary.values():
        assert list(span) == ["consumed", "exported", "imported", "produced"]
        assert all(re.match(r"^\d+\.\d{6}$", v) for v in span.values())
    minutely = api.data(f"{base}/period/{eid}", energy_level="minutely")
    assert set(minutely) == {"today", "time", "power", "energy"}
    assert set(minutely["power"]) == {"consumed", "imported_exported", "produced"}
    assert set(minutely["energy"]) == {"consumed", "exported", "imported", "produced"}
    assert minutely["time"][0] == "00:00" and len(minutely["time"]) == 22 * 12 + 2
    hourly = api.data(f"{base}/period/{eid}", energy_level="hourly", date_range="2026-06-14")
    assert hourly["time"] == [f"{h:02d}" for h in range(24)]
    assert set(hourly) == {"time", "produced", "consumed", "imported", "exported"}
    yearly = api.data(f"{base}/period/{eid}", energy_level="yearly")
    assert yearly["time"] == ["2024", "2025", "2026"]
    assert api.data(f"{USER}/systems/meters/{southern.sid}") == [eid]


@pytest.mark.parametrize("prefix", [USER, INSTALLER])
def test_storage_routes_under_both_prefixes(southern: FakeCloud, prefix: str) -> None:
    api = Api(southern)
    assert southern.site.storage is not None
    eid = southern.site.storage.eid
    base = f"{prefix}/systems/{southern.sid}/devices/storage"
    latest = api.data(f"{base}/latest/{eid}")
    assert list(latest) == [
        "mode",
        "soc",
        "time",
        "discharge",
        "charge",
        "produced",
        "consumed",
        "exported",
        "imported",
    ]
    assert latest["time"] == "22:05" and latest["soc"].isdigit()
    summary = api.data(f"{base}/summary/{eid}")
    assert set(summary["lifetime"]) == {"discharge", "charge", "produced", "consumed", "exported", "imported"}
    period = api.data(f"{base}/period/{eid}", energy_level="minutely", date_range="2026-06-14")
    assert len(period["time"]) == 288 and set(period["power"]) == set(summary["today"])
    daily = api.data(f"{base}/period/{eid}", energy_level="daily", date_range="2026-05")
    assert len(daily["time"]) == 31 and set(daily) == {"time", *summary["today"]}


def test_storage_list_and_ecu_types(southern: FakeCloud) -> None:
    api = Api(southern)
    assert api.data(f"{INSTALLER}/systems/storages/{southern.sid}") == ["215000004403"]
    ecus = api.data(f"{USER}/systems/inverters/{southern.sid}")
    assert [(e["eid"], e["type"]) for e in ecus] == [
        ("215000004401", 0),
        ("215000004402", 1),
        ("215000004403", 2),
    ]
    assert ecus[2]["model"] and ecus[2]["capacity"] == "5.00"
    assert api.data(f"{USER}/systems/details/{southern.sid}")["type"] == 3


def test_shared_main_virtual_ecu() -> None:
    with FakeCloud(site=preset("shared")) as cloud:
        api = Api(cloud)
        details = api.data(f"{USER}/systems/details/{cloud.sid}")
        assert details["ecu"] == ["203000001236-002405253708"]
        base = f"{USER}/systems/{cloud.sid}/devices/ecu/summary"
        assert api.code(f"{base}/002405253708") == 0
        assert api.code(f"{base}/203000001236") == 4001


def installer_post(api: Api, name: str, body: Any = None, **params: Any) -> dict[str, Any]:
    return api.post(f"{INSTALLER}/{name}", body, **params)


def test_installer_systems_json_body_and_query(cloud: FakeCloud, api: Api) -> None:
    cloud.put_site(preset("large"))
    cloud.put_site(preset("southern"))
    body = installer_post(api, "systems", {"page": 1, "size": 10})
    assert body["code"] == 0
    data = body["data"]
    assert data["total"] == 3 and data["page"] == 1 and data["size"] == 10
    assert [s["sid"] for s in data["systems"]] == ["AU35S149E001", "AZ12649A3DFF", "B0XD123A3BHJ"]
    assert "light" in data["systems"][0] and "authorization_code" in data["systems"][0]
    by_query = installer_post(api, "systems", None, page="1", size="20", sort="-sid")["data"]
    assert by_query["size"] == 20
    assert [s["sid"] for s in by_query["systems"]] == ["B0XD123A3BHJ", "AZ12649A3DFF", "AU35S149E001"]
    filtered = installer_post(api, "systems", {"query": {"sid": "AZ12649A3DFF", "type": 1}})["data"]
    assert [s["sid"] for s in filtered["systems"]] == ["AZ12649A3DFF"]
    by_date = installer_post(api, "systems", {"sort": "create_date"})["data"]
    assert by_date["systems"][0]["sid"] == "B0XD123A3BHJ"
    assert installer_post(api, "systems", {"size": 5})["data"]["size"] == 10
    assert installer_post(api, "systems", {"page": 2})["data"]["systems"] == []
    assert installer_post(api, "systems", {"sort": "capacity"})["code"] == 4001


def test_partner_systems_omit_light_and_code(api: Api) -> None:
    data = installer_post(api, "partnerSystems", {"page": 1})["data"]
    assert data["systems"] and all("light" not in s and "authorization_code" not in s for s in data["systems"])


def test_malformed_json_body_is_4001(api: Api, cloud: FakeCloud) -> None:
    path = f"{INSTALLER}/systems"
    headers = api.headers(path, "POST") | {"Content-Type": "application/json"}
    resp = requests.post(cloud.url + path, data=b"{not json", headers=headers, timeout=10)
    assert resp.json() == {"data": None, "code": 4001}


def test_get_systems_by_token(api: Api, cloud: FakeCloud) -> None:
    token = cloud.issue_token(username="Test001")
    data = installer_post(api, "getSystemsByToken", {"token": token})["data"]
    assert data["systems"][0]["sid"] == cloud.sid and data["systems"][0]["username"] == "Test001"
    assert installer_post(api, "getSystemsByToken", None, token=token)["code"] == 0
    cloud.clock.advance(301)
    assert installer_post(api, "getSystemsByToken", {"token": token})["code"] == 4001
    assert installer_post(api, "getSystemsByToken", {"token": "nope"})["code"] == 4001
