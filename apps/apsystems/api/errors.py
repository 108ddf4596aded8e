"""Typed errors for the APsystems OpenAPI.

The API answers HTTP 200 with a non-zero ``code`` for most failures; callers decide what
to do by exception type (stop on auth, pause on quota, wait on transient), never by code.
"""

from __future__ import annotations

# The manual's Annex 1 meanings, plus what each code means for a user in practice.
CODE_MEANINGS: dict[int, str] = {
    0: "Succeed to request.",
    1000: "Data exception.",
    1001: "No data.",
    2000: "Application account exception.",
    2001: "Invalid application account.",
    2002: "The application account is not authorized.",
    2003: "Application account authorization expires.",
    2004: "The application account has no permission.",
    2005: "The access limit of the application account was exceeded.",
    3000: "Access token exception.",
    3001: "Missing Access token.",
    3002: "Unable to verify Access token.",
    3003: "Access token timeout.",
    3004: "Refresh token timeout.",
    4000: "Request parameter exception.",
    4001: "Invalid request parameter.",
    5000: "Internal server exception.",
    6000: "Communication exception.",
    7000: "Server access restriction exception.",
    7001: "Server access limit exceeded.",
    7002: "Too many requests, please request later.",
    7003: "The system is busy, please request later.",
}

# What the user should check, by code; shown by the CLI and in notifications.
CODE_ADVICE: dict[int, str] = {
    1001: "Normal at night, before the first upload of the day, and for future dates; values are kept.",
    2000: "The APsystems account behind this App ID has a problem; contact APsystems support.",
    2001: "The App ID is not known: copy it again from the EMA app (Settings > OpenAPI Service).",
    2002: "The App ID is not authorised: request the OpenAPI service again in the EMA app.",
    2003: "The OpenAPI authorisation has expired: renew it in the EMA app.",
    2004: "This account may not use this endpoint; the feature that needs it is disabled.",
    2005: "The monthly call quota is used up; calls stop until the counter resets next month.",
    4000: (
        "The server rejected the signature or a parameter. Check: the clock of this machine"
        " (drift of more than a few minutes breaks the signature), the App ID and App Secret"
        " (copy them again, no spaces), and the signed path segment (the last segment of the path)."
    ),
    4001: "A request parameter is invalid (energy_level or date_range); please report this as a bug.",
    5000: "A transient server error (common for hourly data that is not ready yet); retried at the next poll.",
    6000: "A transient communication error at APsystems; retried at the next poll.",
    7000: "The server restricts access for now; polling backs off.",
    7001: "The server's access limit is exceeded; polling backs off.",
    7002: "Too many requests; polling backs off.",
    7003: "The APsystems server is busy; polling backs off.",
}

AUTH_CODES = frozenset({2000, 2001, 2002, 2003, 2004, 3000, 3001, 3002, 3003, 3004, 4000})
RATE_LIMIT_CODES = frozenset({7000, 7001, 7002, 7003})
QUOTA_CODE = 2005
NO_DATA_CODE = 1001
TRANSIENT_CODES = frozenset({1000, 5000, 6000})


def describe_code(code: int) -> str:
    """The manual's meaning for ``code``, or a plain 'unknown code' line."""
    return CODE_MEANINGS.get(code, f"Unknown response code {code}.")


class ApsystemsError(Exception):
    """Base class of everything the client raises."""

    code: int | None = None

    @property
    def advice(self) -> str:
        return CODE_ADVICE.get(self.code, "") if self.code is not None else ""


class ApiError(ApsystemsError):
    """The API answered with a non-zero code; carries the code and the manual's meaning."""

    def __init__(self, code: int, path: str = "", message: str | None = None) -> None:
        self.code = code
        self.path = path
        self.meaning = describe_code(code)
        text = message or f"APsystems API code {code}: {self.meaning}"
        if path:
            text = f"{text} (request {path})"
        super().__init__(text)


class NoDataError(ApiError):
    """1001: a normal state (night, future date, day rollover); keep the last values."""


class AuthError(ApiError):
    """4000 and 2000–2004 (and the legacy 3000s): signing, credentials or clock drift."""

    def __init__(self, code: int, path: str = "") -> None:
        advice = CODE_ADVICE.get(code, "Check the App ID, the App Secret and this machine's clock.")
        super().__init__(code, path, f"APsystems API code {code}: {describe_code(code)} {advice}")


class QuotaExhaustedError(ApiError):
    """2005: the monthly call quota is used up."""


class RateLimitedError(ApiError):
    """7000–7003: the server asks us to slow down."""


class TransientError(ApsystemsError):
    """Worth trying again at the next poll: 1000/5000/6000, HTTP 5xx, network errors, timeouts."""

    def __init__(self, message: str, code: int | None = None) -> None:
        self.code = code
        super().__init__(message)


class TransientApiError(TransientError, ApiError):
    """A transient failure reported by the API itself with a code (1000, 5000, 6000)."""

    def __init__(self, code: int, path: str = "") -> None:
        ApiError.__init__(self, code, path)


class HttpStatusError(ApsystemsError):
    """A non-2xx HTTP status: undocumented by APsystems, so a 4xx points at our side or a proxy."""

    def __init__(self, status: int, path: str, preview: str) -> None:
        self.status = status
        self.path = path
        ApsystemsError.__init__(self, f"HTTP {status} from APsystems for {path}: {preview!r}")


class ServerHttpError(HttpStatusError, TransientError):
    """HTTP 5xx: the server or a gateway failed; worth trying again at the next poll."""


class ResponseFormatError(TransientError):
    """The body was not the documented JSON envelope (malformed JSON, wrong shape)."""


def error_for_code(code: int, path: str = "") -> ApiError:
    """Map a non-zero response code to the exception type callers act on."""
    if code == NO_DATA_CODE:
        return NoDataError(code, path)
    if code == QUOTA_CODE:
        return QuotaExhaustedError(code, path)
    if code in RATE_LIMIT_CODES:
        return RateLimitedError(code, path)
    if code in AUTH_CODES:
        return AuthError(code, path)
    if code in TRANSIENT_CODES:
        return TransientApiError(code, path)
    return ApiError(code, path)


class NetworkError(TransientError):
    """The request failed on the way: connection refused or dropped, DNS, TLS, or a timeout."""


class DeadlineError(NetworkError):
    """No complete answer within the request's total deadline (a slow or trickling server)."""


class BodyTooLargeError(ResponseFormatError):
    """The answer was larger than the size cap; it was not read further."""


class RedirectError(HttpStatusError):
    """The server answered with a redirect: never followed, since it would carry the signed headers away."""

    def __init__(self, status: int, path: str, target_host: str) -> None:
        self.target_host = target_host
        super().__init__(status, path, f"redirect to host {target_host!r} refused")
