"""The FakeCloud object itself: lifecycle, the transport-free pipeline, pre-warming."""

from __future__ import annotations

import pytest
import requests

from apsystems.api.signing import sign_request
from fakes.apsystems_cloud import DEFAULT_APP_ID, DEFAULT_APP_SECRET, FakeCloud, FakeRequest, preset

from .conftest import NOON_ISH


def signed(path: str, method: str = "GET") -> dict[str, str]:
    return {k.lower(): v for k, v in sign_request(DEFAULT_APP_ID, DEFAULT_APP_SECRET, path, method).as_dict().items()}


def test_process_without_http() -> None:
    cloud = FakeCloud(site=preset("demo"))
    cloud.clock.set_fixed(NOON_ISH)
    path = f"/user/api/v2/systems/energy/{cloud.sid}"
    resp = cloud.process(FakeRequest("GET", path, "energy_level=monthly&date_range=2026", signed(path)))
    assert resp.status == 200 and resp.content_type == "application/json"
    assert len(resp.json()["data"]) == 12
    assert cloud.calls.by_route == {"system_energy:monthly": 1}
    assert not cloud.running
    with pytest.raises(RuntimeError):
        _ = cloud.url


def test_start_stop_idempotent_and_ephemeral_port() -> None:
    cloud = FakeCloud(site="demo")
    assert cloud.start() is cloud.start()
    url = cloud.url
    assert url.startswith("http://127.0.0.1:") and cloud.port > 0
    assert requests.get(url + "/_fake/state", timeout=10).status_code == 200
    cloud.stop()
    cloud.stop()
    assert not cloud.running
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/_fake/state", timeout=2)


def test_two_clouds_side_by_side() -> None:
    with FakeCloud(site="demo") as a, FakeCloud(site="southern") as b:
        assert a.port != b.port
        assert requests.get(b.url + "/_fake/state", timeout=10).json()["primary_sid"] == "AU35S149E001"


def test_prewarm_and_defaults() -> None:
    cloud = FakeCloud(site="southern")
    cloud.clock.set_fixed(NOON_ISH)
    cloud.prewarm()
    assert cloud.app_id == DEFAULT_APP_ID and cloud.app_secret == DEFAULT_APP_SECRET
    assert cloud.today().isoformat() == "2026-06-15"
    assert cloud.quota.tz is not None and str(cloud.quota.tz) == "Australia/Sydney"


def test_unknown_preset() -> None:
    with pytest.raises(ValueError, match="unknown site"):
        FakeCloud(site="atlantis")
