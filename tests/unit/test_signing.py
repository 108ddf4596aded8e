"""The reference's four signing vectors (apsystems-openapi.md §4) and the segment rule."""

import pytest

from apsystems.api.signing import compute_signature, sign_request, signing_segment, string_to_sign

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


@pytest.mark.parametrize(("method", "path", "sig_method", "expected"), VECTORS)
def test_reference_vectors(method: str, path: str, sig_method: str, expected: str) -> None:
    headers = sign_request(APP_ID, SECRET, path, method, sig_method, timestamp=TS, nonce=NONCE)
    assert headers.signature == expected
    assert headers.as_dict() == {
        "X-CA-AppId": APP_ID,
        "X-CA-Timestamp": TS,
        "X-CA-Nonce": NONCE,
        "X-CA-Signature-Method": sig_method,
        "X-CA-Signature": expected,
    }


def test_full_string_for_vector_1() -> None:
    assert string_to_sign(TS, NONCE, APP_ID, "AZ12649A3DFF", "get", "HmacSHA256") == (
        "1700000000000/5e36eab8295911ee90751eff13c2920b/0123456789abcdef0123456789abcdef/AZ12649A3DFF/GET/HmacSHA256"
    )


@pytest.mark.parametrize(
    ("path", "segment"),
    [
        ("/user/api/v2/systems/summary/AZ12649A3DFF", "AZ12649A3DFF"),
        ("/user/api/v2/systems/X/devices/ecu/energy/203000001234?energy_level=hourly", "203000001234"),
        ("https://api.apsystemsema.com:9282/user/api/v2/systems/details/AZ1?x=/y", "AZ1"),
        ("/installer/api/v2/systems/", "systems"),
    ],
)
def test_signing_segment_is_last_path_segment_without_query(path: str, segment: str) -> None:
    assert signing_segment(path) == segment


def test_segment_override_and_signing_full_path_differs() -> None:
    path = "/user/api/v2/systems/summary/AZ12649A3DFF"
    overridden = sign_request(APP_ID, SECRET, path, segment="summary", timestamp=TS, nonce=NONCE)
    assert overridden.signature != VECTORS[0][3]


def test_unknown_signature_method_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="HmacMD5"):
        compute_signature(SECRET, "x", "HmacMD5")


def test_defaults_are_millis_and_hex_nonce() -> None:
    headers = sign_request(APP_ID, SECRET, "/user/api/v2/systems/summary/AZ1")
    assert headers.timestamp.isdigit() and len(headers.timestamp) == 13
    assert len(headers.nonce) == 32 and int(headers.nonce, 16) >= 0
