"""Every response code maps to the exception type a caller acts on."""

import pytest

from apsystems.api.client import _parse_envelope
from apsystems.api.errors import (
    CODE_MEANINGS,
    ApiError,
    AuthError,
    NoDataError,
    QuotaExhaustedError,
    RateLimitedError,
    ResponseFormatError,
    TransientApiError,
    TransientError,
    error_for_code,
)

EXPECTED = {
    1000: TransientApiError,
    1001: NoDataError,
    2000: AuthError,
    2001: AuthError,
    2002: AuthError,
    2003: AuthError,
    2004: AuthError,
    2005: QuotaExhaustedError,
    3000: AuthError,
    3001: AuthError,
    3002: AuthError,
    3003: AuthError,
    3004: AuthError,
    4000: AuthError,
    4001: ApiError,
    5000: TransientApiError,
    6000: TransientApiError,
    7000: RateLimitedError,
    7001: RateLimitedError,
    7002: RateLimitedError,
    7003: RateLimitedError,
}


def test_every_documented_code_is_mapped() -> None:
    assert set(EXPECTED) == set(CODE_MEANINGS) - {0}


@pytest.mark.parametrize(("code", "kind"), sorted(EXPECTED.items()))
def test_code_maps_to_type_and_carries_meaning(code: int, kind: type) -> None:
    error = error_for_code(code, "/user/api/v2/systems/summary/AZ1")
    assert type(error) is kind
    assert error.code == code
    assert CODE_MEANINGS[code] in str(error)
    assert "/user/api/v2/systems/summary/AZ1" in str(error)


def test_transient_codes_are_transient_and_others_are_not() -> None:
    transient = {c for c in EXPECTED if isinstance(error_for_code(c), TransientError)}
    assert transient == {1000, 5000, 6000}


def test_auth_error_names_the_likely_causes() -> None:
    text = str(error_for_code(4000))
    for cause in ("clock", "App ID", "App Secret", "segment"):
        assert cause in text


def test_unknown_code_is_a_generic_api_error() -> None:
    error = error_for_code(8123)
    assert type(error) is ApiError and error.code == 8123 and "Unknown response code 8123" in str(error)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('{"data":{"a":1},"code":0}', (0, {"a": 1})),
        ('{"code":2005,"data":null}', (2005, None)),
        ('{"code":"1001"}', (1001, None)),
        ('{"code":0,"data":[],"msg":"ok"}', (0, [])),
    ],
)
def test_envelope_in_any_key_order(body: str, expected: tuple[int, object]) -> None:
    assert _parse_envelope(body) == expected


@pytest.mark.parametrize("body", ["", "{not json", "[1,2]", '{"data":1}', '{"code":null}', '{"code":true}', "null"])
def test_bad_envelopes_are_format_errors(body: str) -> None:
    with pytest.raises(ResponseFormatError):
        _parse_envelope(body)
