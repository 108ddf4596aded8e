"""HTTP client for the APsystems OpenAPI (end-user endpoints).

Every request goes through ``ApsystemsClient._get`` so that signing, timeouts, the
envelope check and the call hook (which the budget ledger counts through) cannot be
bypassed. Nothing here retries: a retry spends quota, so the caller decides.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

import requests
from urllib3.exceptions import NewConnectionError

from apsystems.api import records as rec
from apsystems.api.bounded_http import (
    DEFAULT_DEADLINE_S,
    DEFAULT_MAX_BODY_BYTES,
    MAX_DEADLINE_S,
    BodyTooLarge,
    DeadlineExceeded,
    RedirectRefused,
    bounded_request,
    insecure_url_warning,
    prepare_session,
)
from apsystems.api.errors import (
    ApsystemsError,
    BodyTooLargeError,
    DeadlineError,
    HttpStatusError,
    NetworkError,
    RedirectError,
    ResponseFormatError,
    ServerHttpError,
    error_for_code,
)
from apsystems.api.signing import DEFAULT_SIGNATURE_METHOD, SIGNATURE_METHODS, sign_request

_LOGGER = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.apsystemsema.com:9282"
USER_PREFIX = "/user/api/v2"
MAX_CONNECT_TIMEOUT_S = 5.0
MAX_READ_TIMEOUT_S = 8.0
# Defaults keep one failed call (connect + read) under AppDaemon's 10 s callback warning.
DEFAULT_CONNECT_TIMEOUT_S = 3.05
DEFAULT_READ_TIMEOUT_S = 6.0
PREVIEW_CHARS = 160

# energy_level -> how date_range is written for it (None: not sent).
LEVEL_DATE_FORMATS: dict[str, str | None] = {
    "minutely": "%Y-%m-%d",
    "hourly": "%Y-%m-%d",
    "daily": "%Y-%m",
    "monthly": "%Y",
    "yearly": None,
}
PERIOD_LEVELS = ("hourly", "daily", "monthly", "yearly")

T = TypeVar("T")


@dataclass(frozen=True)
class RequestRecord:
    """What the call hook receives for every request that reached the network."""

    method: str
    path: str
    params: Mapping[str, str]
    sent_at: float
    duration_s: float
    http_status: int | None
    code: int | None
    error: str | None


CallHook = Callable[[RequestRecord], None]


def format_date_range(level: str, when: date | str | None) -> str | None:
    """Write ``when`` as the API expects for ``level``; strings pass through unchanged."""
    if level not in LEVEL_DATE_FORMATS:
        raise ValueError(f"energy_level {level!r} is not one of {', '.join(LEVEL_DATE_FORMATS)}")
    fmt = LEVEL_DATE_FORMATS[level]
    if when is None or fmt is None:
        return None
    return when if isinstance(when, str) else when.strftime(fmt)


def _preview(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= PREVIEW_CHARS else flat[:PREVIEW_CHARS] + "…"


def _never_connected(exc: requests.RequestException) -> bool:
    """True when the request cannot have reached the server, so it cannot have cost quota."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    inner = getattr(reason, "reason", reason)
    return isinstance(inner, NewConnectionError)


class _Failed(Exception):
    """Internal: carries the typed error out of ``_exchange`` with what the call hook records."""

    def __init__(self, error: ApsystemsError, status: int | None, label: str, *, reached_network: bool = True) -> None:
        super().__init__(str(error))
        self.error = error
        self.status = status
        self.label = label
        self.reached_network = reached_network


class ApsystemsClient:
    """One App ID's access to the OpenAPI; thread-safe enough for AppDaemon's worker threads.

    ``on_request`` is called once for every request that reached the network, success or
    not, so a ledger counting through it matches what the server counts.
    """

    def __init__(
        self,
        app_id: str,
        app_secret: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        signature_method: str = DEFAULT_SIGNATURE_METHOD,
        storage_prefix: str = "/user",
        connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
        read_timeout_s: float = DEFAULT_READ_TIMEOUT_S,
        deadline_s: float = DEFAULT_DEADLINE_S,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        on_request: CallHook | None = None,
        session: requests.Session | None = None,
        segment_overrides: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not app_id or not app_id.strip():
            raise ValueError("app_id is empty: set aps_app_id in secrets.yaml (32 characters from the EMA app)")
        if not app_secret or not app_secret.strip():
            raise ValueError("app_secret is empty: set aps_app_secret in secrets.yaml (12 characters)")
        if signature_method not in SIGNATURE_METHODS:
            raise ValueError(f"signature_method {signature_method!r} must be one of {', '.join(SIGNATURE_METHODS)}")
        if not 0 < connect_timeout_s <= MAX_CONNECT_TIMEOUT_S:
            raise ValueError(f"connect_timeout_s {connect_timeout_s} must be in (0, {MAX_CONNECT_TIMEOUT_S}]")
        if not 0 < read_timeout_s <= MAX_READ_TIMEOUT_S:
            raise ValueError(f"read_timeout_s {read_timeout_s} must be in (0, {MAX_READ_TIMEOUT_S}]")
        if not 0 < deadline_s <= MAX_DEADLINE_S:
            raise ValueError(f"deadline_s {deadline_s} must be in (0, {MAX_DEADLINE_S}]")
        if max_body_bytes < 1024:
            raise ValueError(f"max_body_bytes {max_body_bytes} must be at least 1024")
        if not base_url.startswith(("https://", "http://")):
            raise ValueError(f"base_url {base_url!r} must start with https:// (or http:// for a local test server)")
        self._app_id = app_id.strip()
        self._app_secret = app_secret.strip()
        self.base_url = base_url.rstrip("/")
        self.signature_method = signature_method
        self.storage_root = f"/{storage_prefix.strip('/')}/api/v2"
        self.timeout = (connect_timeout_s, read_timeout_s)
        self.on_request = on_request
        self._segment_overrides = dict(segment_overrides or {})
        self._clock = clock
        self.deadline_s = deadline_s
        self.max_body_bytes = max_body_bytes
        self._session = prepare_session(session)
        warning = insecure_url_warning(self.base_url, "APsystems base_url")
        if warning:
            _LOGGER.warning("%s", warning)

    @property
    def app_id(self) -> str:
        return self._app_id

    def __repr__(self) -> str:  # never show the secret
        return f"ApsystemsClient(app_id={self._app_id[:6]}…, base_url={self.base_url!r})"

    def close(self) -> None:
        self._session.close()

    # ---- transport -------------------------------------------------------------------

    def _get(self, path: str, params: Mapping[str, str | None] | None = None) -> Any:
        """Send one signed GET and return the envelope's ``data``, or raise a typed error."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        route = path.rsplit("/", 1)[0]
        headers = sign_request(
            self._app_id,
            self._app_secret,
            path,
            "GET",
            self.signature_method,
            segment=self._segment_overrides.get(route),
            timestamp=str(int(self._clock() * 1000)),
        ).as_dict()
        headers["Content-Type"] = "application/json"
        started = time.monotonic()
        sent_at = self._clock()
        _LOGGER.debug("APsystems GET %s params=%s", path, query)
        # Whatever happens once the request may have reached the server, it is reported exactly once.
        result: tuple[int | None, int | None, str | None] = (None, None, "failed while reading the answer")
        reached = True
        try:
            status, code, data = self._exchange(path, query, headers)
            result = (status, code, None)
        except _Failed as failed:
            reached = failed.reached_network
            result = (failed.status, None, failed.label)
            raise failed.error from None
        finally:
            if reached:
                self._report(path, query, sent_at, started, *result)
        if code != 0:
            raise error_for_code(code, path)
        return data

    def _exchange(self, path: str, query: Mapping[str, str], headers: Mapping[str, str]) -> tuple[int, int, Any]:
        """The bounded request and the envelope: ``(status, code, data)``; every failure a typed error."""
        try:
            response = bounded_request(
                self._session,
                "GET",
                self.base_url + path,
                params=query,
                headers=headers,
                timeout=self.timeout,
                deadline_s=self.deadline_s,
                max_body_bytes=self.max_body_bytes,
            )
        except DeadlineExceeded as exc:
            _LOGGER.debug("APsystems GET %s: %s", path, exc)
            late = DeadlineError(f"DeadlineExceeded calling APsystems {path}: {exc}")
            raise _Failed(late, None, "deadline") from None
        except RedirectRefused as exc:
            _LOGGER.warning("APsystems GET %s: %s", path, exc)
            raise _Failed(RedirectError(exc.status, path, exc.target_host), exc.status, "redirect") from None
        except BodyTooLarge as exc:
            _LOGGER.warning("APsystems GET %s: %s", path, exc)
            raise _Failed(BodyTooLargeError(f"{exc} (request {path})"), None, "body too large") from None
        except requests.RequestException as exc:
            kind = type(exc).__name__
            _LOGGER.debug("APsystems GET %s failed: %s", path, kind)
            message = f"{kind} calling APsystems {path}: {_describe_network_error(exc)}"
            raise _Failed(NetworkError(message), None, kind, reached_network=not _never_connected(exc)) from None
        text, status = response.text, response.status
        if not 200 <= status < 300:
            _LOGGER.debug("APsystems GET %s -> HTTP %s body=%s", path, status, _preview(text))
            error_type = ServerHttpError if status >= 500 else HttpStatusError
            raise _Failed(error_type(status, path, _preview(text)), status, f"HTTP {status}")
        try:
            code, data = _parse_envelope(text)
        except ResponseFormatError as exc:
            _LOGGER.debug("APsystems GET %s -> HTTP %s unreadable body=%s", path, status, _preview(text))
            unreadable = ResponseFormatError(f"{exc} (request {path}, body {_preview(text)!r})")
            raise _Failed(unreadable, status, "bad envelope") from None
        _LOGGER.debug("APsystems GET %s -> HTTP %s code=%s body=%s", path, status, code, _preview(text))
        return status, code, data

    def _report(
        self,
        path: str,
        params: Mapping[str, str],
        sent_at: float,
        started: float,
        status: int | None,
        code: int | None,
        error: str | None,
    ) -> None:
        if self.on_request is None:
            return
        record = RequestRecord("GET", path, dict(params), sent_at, time.monotonic() - started, status, code, error)
        try:
            self.on_request(record)
        except Exception:  # a broken hook must not turn a good answer into a failure
            _LOGGER.exception("APsystems call hook failed for %s", path)

    def _parse(self, parser: Callable[[Any], T], data: Any, path: str) -> T:
        try:
            return parser(data)
        except ResponseFormatError as exc:
            raise ResponseFormatError(f"{exc} (request {path})") from None

    def _plain(self, path: str, parser: Callable[[Any], T]) -> T:
        """A request without parameters (details, lists, summaries)."""
        return self._parse(parser, self._get(path), path)

    def _leveled(self, path: str, level: str, date_range: date | str | None, parser: Callable[[Any, str], T]) -> T:
        """An hourly/daily/monthly/yearly request; the level picks the date_range format."""
        _require_period_level(level)
        data = self._get(path, {"energy_level": level, "date_range": format_date_range(level, date_range)})
        return self._parse(lambda d: parser(d, level), data, path)

    def _minutely(self, path: str, day: date | str, parser: Callable[[Any], T]) -> T:
        """A 5-minute series for one day."""
        data = self._get(path, {"energy_level": "minutely", "date_range": format_date_range("minutely", day)})
        return self._parse(parser, data, path)

    def _batch(self, sid: str, eid: str, kind: str, day: date | str, parser: Callable[[Any], T]) -> T:
        """One ECU's whole day for every inverter channel: ``kind`` is ``power`` or ``energy``."""
        path = f"{USER_PREFIX}/systems/{sid}/devices/inverter/batch/energy/{eid}"
        data = self._get(path, {"energy_level": kind, "date_range": format_date_range("hourly", day)})
        return self._parse(parser, data, path)

    # ---- system ----------------------------------------------------------------------

    def system_details(self, sid: str) -> rec.SystemDetails:
        return self._plain(f"{USER_PREFIX}/systems/details/{sid}", rec.parse_system_details)

    def inverters(self, sid: str) -> tuple[rec.EcuDevices, ...]:
        return self._plain(f"{USER_PREFIX}/systems/inverters/{sid}", rec.parse_inverter_list)

    def meters(self, sid: str) -> tuple[str, ...]:
        return self._plain(f"{USER_PREFIX}/systems/meters/{sid}", rec.parse_id_list)

    def system_summary(self, sid: str) -> rec.EnergySummary:
        return self._plain(f"{USER_PREFIX}/systems/summary/{sid}", rec.parse_energy_summary)

    def system_energy(self, sid: str, level: str, date_range: date | str | None = None) -> rec.EnergySeries:
        """hourly (a day), daily (a month), monthly (a year) or yearly; minutely is not offered here."""
        return self._leveled(f"{USER_PREFIX}/systems/energy/{sid}", level, date_range, rec.parse_energy_series)

    # ---- ECU -------------------------------------------------------------------------

    def ecu_summary(self, sid: str, eid: str) -> rec.EnergySummary:
        return self._plain(f"{USER_PREFIX}/systems/{sid}/devices/ecu/summary/{eid}", rec.parse_energy_summary)

    def ecu_energy(self, sid: str, eid: str, level: str, date_range: date | str | None = None) -> rec.EnergySeries:
        return self._leveled(
            f"{USER_PREFIX}/systems/{sid}/devices/ecu/energy/{eid}", level, date_range, rec.parse_energy_series
        )

    def ecu_energy_minutely(self, sid: str, eid: str, day: date | str) -> rec.EcuMinutely:
        return self._minutely(f"{USER_PREFIX}/systems/{sid}/devices/ecu/energy/{eid}", day, rec.parse_ecu_minutely)

    # ---- inverters -------------------------------------------------------------------

    def inverter_summary(self, sid: str, uid: str) -> rec.InverterSummary:
        return self._plain(f"{USER_PREFIX}/systems/{sid}/devices/inverter/summary/{uid}", rec.parse_inverter_summary)

    def inverter_energy(
        self, sid: str, uid: str, level: str, date_range: date | str | None = None
    ) -> rec.InverterEnergy:
        return self._leveled(
            f"{USER_PREFIX}/systems/{sid}/devices/inverter/energy/{uid}", level, date_range, rec.parse_inverter_energy
        )

    def inverter_energy_minutely(self, sid: str, uid: str, day: date | str) -> rec.InverterMinutely:
        return self._minutely(
            f"{USER_PREFIX}/systems/{sid}/devices/inverter/energy/{uid}", day, rec.parse_inverter_minutely
        )

    def batch_power(self, sid: str, eid: str, day: date | str) -> rec.BatchPower:
        """Every inverter channel's power on one ECU for a whole day: one call."""
        return self._batch(sid, eid, "power", day, rec.parse_batch_power)

    def batch_energy(self, sid: str, eid: str, day: date | str) -> rec.BatchEnergy:
        return self._batch(sid, eid, "energy", day, rec.parse_batch_energy)

    # ---- meter -----------------------------------------------------------------------

    def meter_summary(self, sid: str, eid: str) -> rec.MeterSummary:
        return self._plain(f"{USER_PREFIX}/systems/{sid}/devices/meter/summary/{eid}", rec.parse_meter_summary)

    def meter_period(self, sid: str, eid: str, level: str, date_range: date | str | None = None) -> rec.MeterPeriod:
        return self._leveled(
            f"{USER_PREFIX}/systems/{sid}/devices/meter/period/{eid}", level, date_range, rec.parse_meter_period
        )

    def meter_period_minutely(self, sid: str, eid: str, day: date | str) -> rec.MeterMinutely:
        return self._minutely(f"{USER_PREFIX}/systems/{sid}/devices/meter/period/{eid}", day, rec.parse_meter_minutely)

    # ---- storage (prefix configurable: the manual prints /installer, /user works) ------

    def storage_latest(self, sid: str, eid: str) -> rec.StorageLatest:
        return self._plain(f"{self.storage_root}/systems/{sid}/devices/storage/latest/{eid}", rec.parse_storage_latest)

    def storage_summary(self, sid: str, eid: str) -> rec.StorageSummary:
        return self._plain(
            f"{self.storage_root}/systems/{sid}/devices/storage/summary/{eid}", rec.parse_storage_summary
        )

    def storage_period(self, sid: str, eid: str, level: str, date_range: date | str | None = None) -> rec.StoragePeriod:
        return self._leveled(
            f"{self.storage_root}/systems/{sid}/devices/storage/period/{eid}",
            level,
            date_range,
            rec.parse_storage_period,
        )

    def storage_period_minutely(self, sid: str, eid: str, day: date | str) -> rec.StorageMinutely:
        return self._minutely(
            f"{self.storage_root}/systems/{sid}/devices/storage/period/{eid}", day, rec.parse_storage_minutely
        )


def _require_period_level(level: str) -> None:
    if level not in PERIOD_LEVELS:
        raise ValueError(
            f"energy_level {level!r} is not one of {', '.join(PERIOD_LEVELS)}; use the *_minutely method for minutely"
        )


def _parse_envelope(text: str) -> tuple[int, Any]:
    """Read ``{"code": N, "data": …}`` from the body text, whatever the Content-Type said."""
    try:
        body = json.loads(text)
    except ValueError:
        raise ResponseFormatError("the response body is not JSON") from None
    except RecursionError:
        raise ResponseFormatError("the response body is JSON nested too deeply to read") from None
    if not isinstance(body, dict) or "code" not in body:
        raise ResponseFormatError("the response is not the {code, data} envelope")
    code = body["code"]
    if isinstance(code, str) and code.strip().lstrip("-").isdigit():
        code = int(code.strip())
    if not isinstance(code, int) or isinstance(code, bool):
        raise ResponseFormatError(f"the response code {code!r} is not a number")
    return code, body.get("data")


def _describe_network_error(exc: requests.RequestException) -> str:
    """A short reason without the URL's query or any header (nothing secret is in them, but keep it short)."""
    if isinstance(exc, requests.Timeout):
        return "no answer in time"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS certificate verification failed"
    if isinstance(exc, requests.ConnectionError):
        return "connection failed or was dropped"
    return "request failed"
