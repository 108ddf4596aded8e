"""Authentication: the reference's signing vectors, header checks, App IDs, skew and replay."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from apsystems.api.signing import sign_request
from fakes.apsystems_cloud import (
    SECOND_APP_ID,
    SECOND_APP_SECRET,
    Authenticator,
    FakeCloud,
    expected_signature,
    last_path_segment,
)

from .conftest import NOON_ISH, USER, Api

APP_ID = "0123456789abcdef0123456789abcdef"
SECRET = "abcdef123456"
TS = "1700000000000"
NONCE = "5e36eab8295911ee90751eff13c2920b"

VECTORS = [
    ("GET", "/user/api/v2/systems/summary/AZ12649A3DFF", "HmacSHA256", "Oi9nquQLGDz60KEEsJ4ugdwebupoZcTgMNvE0sMs+PQ="),
    (
        "GET",
        "/user/api/v2/systems/AZ12649A3DFF/devices/inverter/batch/energy/203000001234"
        "?energy_level=power&date_range=2024-06-15",
        "HmacSHA256",
        "FVf2pQBRlkgh9cQZ/wTjzM1Dp5hC9s68Dn2so73xwas=",
    ),
    ("GET", "/user/api/v2/systems/summary/AZ12649A3DFF", "HmacSHA1", "AlKO1c0bN87Q4fYA4+Rke6+mVqo="),
    ("POST", "/installer/api/v2/systems", "HmacSHA256", "MN+kJzUu+t4IhcR7NR1hc8cDOANTdsLzn0DPGks0KSA="),
]


@pytest.mark.parametrize(("method", "path", "sig_method", "signature"), VECTORS)
def test_reference_vectors_verify_server_side(method: str, path: str, sig_method: str, signature: str) -> None:
    segment = last_path_segment(path)
    assert expected_signature(SECRET, TS, NONCE, APP_ID, segment, method, sig_method) == signature
    auth = Authenticator({APP_ID: SECRET})
    headers = {
        "x-ca-appid": APP_ID,
        "x-ca-timestamp": TS,
        "x-ca-nonce": NONCE,
        "x-ca-signature-method": sig_method,
        "x-ca-signature": signature,
    }
    assert auth.check(headers, method, path.split("?", 1)[0], 1_700_000_000.0).code == 0
    tampered = dict(headers, **{"x-ca-signature": signature[:-2] + ("A=" if signature[-2] != "A" else "B=")})
    assert auth.check(tampered, method, path, 1_700_000_000.0).code == 4000


def test_vector_1_by_plain_hmac() -> None:
    """Independent of both implementations: the documented string, HMAC-SHA256, Base64."""
    message = f"{TS}/{NONCE}/{APP_ID}/AZ12649A3DFF/GET/HmacSHA256"
    raw = hmac.new(SECRET.encode(), message.encode(), hashlib.sha256).digest()
    assert base64.b64encode(raw).decode() == VECTORS[0][3]


@pytest.mark.parametrize(
    ("path", "segment"),
    [
        ("/user/api/v2/systems/summary/AZ1", "AZ1"),
        ("/user/api/v2/systems/X/devices/ecu/energy/203000001234?energy_level=hourly", "203000001234"),
        ("/installer/api/v2/systems/", "systems"),
        ("/installer/api/v2/getSystemsByToken", "getSystemsByToken"),
    ],
)
def test_last_path_segment(path: str, segment: str) -> None:
    assert last_path_segment(path) == segment


def test_unknown_signature_method_is_4000() -> None:
    assert expected_signature(SECRET, TS, NONCE, APP_ID, "x", "GET", "HmacMD5") is None
    auth = Authenticator({APP_ID: SECRET})
    headers = {
        "x-ca-appid": APP_ID,
        "x-ca-timestamp": TS,
        "x-ca-nonce": NONCE,
        "x-ca-signature-method": "HmacMD5",
        "x-ca-signature": "abc",
    }
    assert auth.check(headers, "GET", "/x", 0.0).code == 4000


def test_good_request_passes(api: Api, cloud: FakeCloud) -> None:
    body = api.get(f"{USER}/systems/summary/{cloud.sid}")
    assert body["code"] == 0


def test_sha1_is_accepted(api: Api, cloud: FakeCloud) -> None:
    path = f"{USER}/systems/summary/{cloud.sid}"
    resp = api.request("GET", path, headers=api.headers(path, signature_method="HmacSHA1"))
    assert resp.json()["code"] == 0


def test_bad_signature_is_http_200_code_4000(api: Api, cloud: FakeCloud) -> None:
    path = f"{USER}/systems/summary/{cloud.sid}"
    headers = api.headers(path)
    headers["X-CA-Signature"] = "AAAA" + headers["X-CA-Signature"][4:]
    resp = api.request("GET", path, headers=headers)
    assert resp.status_code == 200
    assert resp.json() == {"data": None, "code": 4000}


def test_wrong_secret_is_4000(cloud: FakeCloud) -> None:
    wrong = Api(cloud, secret="wrongsecret1")
    assert wrong.code(f"{USER}/systems/summary/{cloud.sid}") == 4000


def test_signing_the_full_path_is_4000(api: Api, cloud: FakeCloud) -> None:
    path = f"{USER}/systems/summary/{cloud.sid}"
    headers = api.headers(path, segment=path)
    assert api.request("GET", path, headers=headers).json()["code"] == 4000


def test_signing_a_static_segment_is_4000(api: Api, cloud: FakeCloud) -> None:
    path = f"{USER}/systems/summary/{cloud.sid}"
    assert api.request("GET", path, headers=api.headers(path, segment="summary")).json()["code"] == 4000


def test_wrong_http_method_in_signature_is_4000(api: Api, cloud: FakeCloud) -> None:
    path = f"{USER}/systems/summary/{cloud.sid}"
    assert api.request("GET", path, headers=api.headers(path, "POST")).json()["code"] == 4000


def test_query_is_not_signed(api: Api, cloud: FakeCloud) -> None:
    path = f"{USER}/systems/energy/{cloud.sid}"
    headers = api.headers(path)
    resp = api.request("GET", path, params={"energy_level": "monthly", "date_range": "2026"}, headers=headers)
    assert resp.json()["code"] == 0


@pytest.mark.parametrize(
    "header", ["X-CA-AppId", "X-CA-Timestamp", "X-CA-Nonce", "X-CA-Signature-Method", "X-CA-Signature"]
)
def test_each_missing_header_is_4000(api: Api, cloud: FakeCloud, header: str) -> None:
    path = f"{USER}/systems/summary/{cloud.sid}"
    headers = api.headers(path)
    del headers[header]
    assert api.request("GET", path, headers=headers).json() == {"data": None, "code": 4000}


def test_unknown_app_id_is_2001(cloud: FakeCloud) -> None:
    stranger = Api(cloud, app_id="ffffffffffffffffffffffffffffffff", secret="abcdef123456")
    assert stranger.get(f"{USER}/systems/summary/{cloud.sid}") == {"data": None, "code": 2001}


def test_several_app_ids(cloud: FakeCloud) -> None:
    other = Api(cloud, SECOND_APP_ID, SECOND_APP_SECRET)
    assert other.code(f"{USER}/systems/summary/{cloud.sid}") == 0
    swapped = Api(cloud, SECOND_APP_ID, cloud.app_secret)
    assert swapped.code(f"{USER}/systems/summary/{cloud.sid}") == 4000


def test_skew_tolerance_off_by_default(api: Api, cloud: FakeCloud) -> None:
    path = f"{USER}/systems/summary/{cloud.sid}"
    assert api.request("GET", path, headers=api.headers(path, timestamp="1000")).json()["code"] == 0


def test_skew_tolerance_uses_the_fake_clock(api: Api, cloud: FakeCloud) -> None:
    cloud.auth.skew_tolerance_s = 300
    path = f"{USER}/systems/summary/{cloud.sid}"
    fake_ms = int(NOON_ISH.timestamp() * 1000)
    ok = api.headers(path, timestamp=str(fake_ms + 299_000))
    late = api.headers(path, timestamp=str(fake_ms - 301_000))
    garbage = api.headers(path, timestamp="yesterday")
    assert api.request("GET", path, headers=ok).json()["code"] == 0
    assert api.request("GET", path, headers=late).json()["code"] == 4000
    assert api.request("GET", path, headers=garbage).json()["code"] == 4000


def test_nonce_replay_rejected_when_enabled(api: Api, cloud: FakeCloud) -> None:
    path = f"{USER}/systems/summary/{cloud.sid}"
    headers = api.headers(path, nonce="5e36eab8295911ee90751eff13c2920b")
    assert api.request("GET", path, headers=headers).json()["code"] == 0
    assert api.request("GET", path, headers=headers).json()["code"] == 0  # off by default
    cloud.auth.reject_replayed_nonces = True
    fresh = api.headers(path)
    assert api.request("GET", path, headers=fresh).json()["code"] == 0
    assert api.request("GET", path, headers=fresh).json()["code"] == 4000


def test_replay_window_expires_with_the_fake_clock(api: Api, cloud: FakeCloud) -> None:
    cloud.auth.reject_replayed_nonces = True
    path = f"{USER}/systems/summary/{cloud.sid}"
    headers = api.headers(path)
    assert api.request("GET", path, headers=headers).json()["code"] == 0
    cloud.clock.advance(cloud.auth.nonce_ttl_s + 1)
    assert api.request("GET", path, headers=headers).json()["code"] == 0


def test_client_signing_module_matches_the_server() -> None:
    for method, path, sig_method, signature in VECTORS:
        client = sign_request(APP_ID, SECRET, path, method, sig_method, timestamp=TS, nonce=NONCE)
        assert client.signature == signature
