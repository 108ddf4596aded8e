"""``FakeCloud``: the request pipeline (auth → quota → faults → handler) and its HTTP server.

``process`` is transport-free (tests may call it directly); ``start`` serves it on
127.0.0.1 with a stdlib ``ThreadingHTTPServer`` on daemon threads, so a forgotten server
never keeps the interpreter alive.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import logging
import socket
import threading
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from .auth import Authenticator
from .clock import FakeClock
from .control import handle_control
from .faults import ABSURD_VALUES, HOSTILE_KINDS, Fault, FaultInjector
from .presets import DEFAULT_CREDENTIALS, preset
from .production import CENTI
from .quota import DEFAULT_MONTHLY_QUOTA, QuotaLedger
from .routes import ApiFailure, Ctx, Flows, RouteTable, build_routes
from .site import InverterSpec, SiteSpec
from .state import Options, SiteState, new_token
from .stats import CallStats, LoggedRequest

log = logging.getLogger(__name__)

JSON_TYPE = "application/json"
OCTET_TYPE = "application/octet-stream"
CONTROL_PREFIX = "/_fake"


@dataclass(frozen=True)
class FakeRequest:
    """A request independent of the transport; header names lower-case."""

    method: str
    path: str
    query: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True)
class FakeResponse:
    """What to send back; ``drop`` means close the connection without answering."""

    status: int = 200
    body: bytes = b""
    content_type: str = JSON_TYPE
    drop: bool = False
    delay_s: float = 0.0
    trickle_s: float = 0.0
    """Send the body one byte at a time, this many seconds apart (a hostile server)."""
    headers: Mapping[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body)


def hostile_response(fault: Fault, body: bytes, delay_s: float) -> FakeResponse:
    """The answer of a hostile fault (see ``faults.HOSTILE_KINDS``) instead of ``body``."""
    if fault.kind == "trickle":
        return FakeResponse(200, body, JSON_TYPE, delay_s=delay_s, trickle_s=fault.delay_s)
    if fault.kind == "redirect":
        return FakeResponse(fault.status, b"", "text/html", delay_s=delay_s, headers={"Location": fault.location})
    if fault.kind == "nest":
        return FakeResponse(200, b'{"code":0,"data":' + b"[" * fault.size + b"]" * fault.size + b"}", delay_s=delay_s)
    if fault.kind == "inflate":
        padding = b" " * max(0, fault.size - len(body))
        inflated = gzip.compress(body[:-1] + padding + body[-1:], compresslevel=9)
        return FakeResponse(200, inflated, JSON_TYPE, delay_s=delay_s, headers={"Content-Encoding": "gzip"})
    garbage = bytes((index * 151 + 7) % 256 for index in range(fault.size))
    return FakeResponse(200, garbage, JSON_TYPE, delay_s=delay_s)


def absurd(data: Any, value: object) -> Any:
    """``data`` with every number (and every string that reads as one) replaced by ``value``."""
    if isinstance(data, dict):
        return {key: absurd(item, value) for key, item in data.items()}
    if isinstance(data, list):
        return [absurd(item, value) for item in data]
    return value if _reads_as_number(data) else data


def _reads_as_number(item: Any) -> bool:
    if isinstance(item, bool):
        return False
    if isinstance(item, (int, float)):
        return True
    try:
        float(item)
    except (TypeError, ValueError):
        return False
    return isinstance(item, str)


def envelope(data: Any, code: int) -> bytes:
    return json.dumps({"data": data, "code": code}, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def parse_args(query: str, body: bytes, content_type: str) -> dict[str, Any]:
    """Query parameters, overlaid by a JSON object body (installer POSTs accept either)."""
    args: dict[str, Any] = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
    if body.strip():
        try:
            parsed = json.loads(body)
        except ValueError:
            if "json" in content_type:
                raise ApiFailure(4001, "body is not valid JSON") from None
            parsed = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        if isinstance(parsed, dict):
            args.update(parsed)
    return args


class FakeCloud:
    """An APsystems OpenAPI cloud on 127.0.0.1, with the knobs tests need.

    >>> with FakeCloud(site=preset("demo")) as cloud:   # doctest: +SKIP
    ...     cloud.clock.set_fixed(datetime(2026, 6, 15, 12, tzinfo=timezone.utc))
    ...     requests.get(cloud.url + "/user/api/v2/systems/summary/" + cloud.sid, headers=...)
    """

    def __init__(
        self,
        site: SiteSpec | str | None = None,
        credentials: Mapping[str, str] | None = None,
        *,
        sites: Sequence[SiteSpec] = (),
        host: str = "127.0.0.1",
        port: int = 0,
        clock: FakeClock | None = None,
        quota_limit: int = DEFAULT_MONTHLY_QUOTA,
        quota_timezone: str | None = None,
        skew_tolerance_s: float | None = None,
        reject_replayed_nonces: bool = False,
        fault_seed: int = 0,
        options: Options | None = None,
    ) -> None:
        primary = preset(site) if isinstance(site, str) else (site or preset("demo"))
        self.sites: dict[str, SiteState] = {}
        for spec in (primary, *sites):
            self.sites[spec.sid] = SiteState(spec)
        self.primary_sid = primary.sid
        self.clock = clock or FakeClock()
        self.auth = Authenticator(
            DEFAULT_CREDENTIALS if credentials is None else credentials,
            skew_tolerance_s=skew_tolerance_s,
            reject_replayed_nonces=reject_replayed_nonces,
        )
        self.quota = QuotaLedger(quota_limit, ZoneInfo(quota_timezone) if quota_timezone else primary.tz)
        self.faults = FaultInjector(fault_seed)
        self.calls = CallStats()
        self.options = options or Options()
        self.tokens: dict[str, tuple[str, str, float]] = {}
        self.internal_errors: list[str] = []
        self.routes: RouteTable = build_routes()
        self.host = host
        self._port = port
        self._server: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    # --- convenience -----------------------------------------------------------------------
    @property
    def site_state(self) -> SiteState:
        return self.sites[self.primary_sid]

    @property
    def site(self) -> SiteSpec:
        return self.site_state.spec

    @property
    def sid(self) -> str:
        return self.primary_sid

    @property
    def app_id(self) -> str:
        """The first configured App ID (the one to use when a test has only one)."""
        return next(iter(self.auth.credentials))

    @property
    def app_secret(self) -> str:
        return self.auth.credentials[self.app_id]

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the fake cloud is not running; call start()")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL to give the client instead of https://api.apsystemsema.com:9282."""
        return f"http://{self.host}:{self.port}"

    base_url = url

    def today(self, sid: str | None = None) -> date:
        """The fake's local date at the site."""
        return self.sites[sid or self.primary_sid].production.local_date(self.clock.timestamp())

    def set_quota_used(self, used: int, app_id: str | None = None, month: str | None = None) -> None:
        self.quota.set_used(app_id or self.app_id, used, now=self.clock.now(), month=month)

    def quota_used(self, app_id: str | None = None) -> int:
        return self.quota.used(app_id or self.app_id, self.clock.now())

    def issue_token(self, sid: str | None = None, username: str | None = None, ttl_s: float = 300.0) -> str:
        """A third-party authorisation token for getSystemsByToken, valid ``ttl_s`` fake seconds."""
        state = self.sites[sid or self.primary_sid]
        token = new_token()
        self.tokens[token] = (state.spec.sid, username or state.spec.username, self.clock.timestamp() + ttl_s)
        return token

    def remove_inverter(self, uid: str, sid: str | None = None) -> InverterSpec:
        return self.sites[sid or self.primary_sid].remove_inverter(uid, self.today(sid))

    def add_inverter(
        self,
        eid: str,
        model: str = "DS3",
        *,
        uid: str | None = None,
        panels_w: Sequence[float] | float = 400.0,
        sid: str | None = None,
    ) -> InverterSpec:
        return self.sites[sid or self.primary_sid].add_inverter(eid, model, self.today(sid), uid=uid, panels_w=panels_w)

    def restore_inverter(self, uid: str, sid: str | None = None) -> InverterSpec:
        return self.sites[sid or self.primary_sid].restore_inverter(uid)

    def correct_day(self, day: date, factor: float, sid: str | None = None) -> None:
        """Apply EMA's later correction of one past day (factor on that day's production)."""
        self.sites[sid or self.primary_sid].correct_day(day, factor, self.today(sid))

    def set_empty_inverter_list(self, empty: bool = True, sid: str | None = None) -> None:
        self.sites[sid or self.primary_sid].empty_inverter_list = empty

    def put_site(self, spec: SiteSpec) -> None:
        """Add a site, or replace the one with the same sid."""
        self.sites[spec.sid] = SiteState(spec)

    def prewarm(self) -> None:
        """Compute every site's history once (a few hundred ms per site) so later calls are fast."""
        now = self.clock.timestamp()
        for state in list(self.sites.values()):
            for ecu in state.spec.ecus:
                key, rating = state.production.ecu_rating(ecu)
                state.production.summary(key, ecu.eid, rating, now, CENTI)
            if state.spec.meter_eid or state.spec.storage:
                Flows(state, now).summary()

    def reset(self) -> None:
        """Forget calls, faults, quota usage, seen nonces and tokens (not the clock or the site)."""
        self.calls.reset()
        self.faults.clear()
        self.quota.reset()
        self.auth.forget_nonces()
        self.tokens.clear()
        self.internal_errors.clear()

    # --- the pipeline ------------------------------------------------------------------------
    def process(self, req: FakeRequest) -> FakeResponse:
        """Answer one API request (not a control request) and record it.

        Order: route → authentication (4000/2001) → quota (counts, then 2005) → faults → handler.
        """
        now = self.clock.timestamp()
        now_dt = datetime.fromtimestamp(now, tz=timezone.utc)
        found = self.routes.match(req.method, req.path)
        if found is None:
            return self._not_found(now_dt, req)
        route, params = found
        try:
            args = parse_args(req.query, req.body, req.headers.get("content-type", ""))
            body_error: int | None = None
        except ApiFailure as exc:
            args, body_error = {}, exc.code
        kind = route.route_kind(args)
        outcome = self.auth.check(req.headers, req.method, req.path, now)
        if outcome.code or outcome.app_id is None:
            return self._answer(now_dt, req, outcome.app_id, kind, outcome.code or 4000)
        app_id = outcome.app_id
        allowed, _used = self.quota.consume(app_id, now_dt)
        if not allowed:
            return self._answer(now_dt, req, app_id, kind, 2005)
        applied = self.faults.pick(req.path, kind)
        fault, label, delay = applied.outcome, applied.label, applied.delay_s
        if fault is not None and fault.kind in ("drop", "http_status", "code"):
            return self._faulted(now_dt, req, app_id, kind, fault, label, delay)
        if body_error is not None:
            return self._answer(now_dt, req, app_id, kind, body_error, label, delay)
        try:
            data, code = route.handler(Ctx(self, params, args, now)), 0
        except ApiFailure as exc:
            data, code = None, exc.code
        except Exception:
            self.internal_errors.append(traceback.format_exc())
            log.exception("fake cloud handler failed for %s %s", req.method, req.path)
            data, code = None, 5000
        if fault is not None and fault.kind in ABSURD_VALUES:
            data = absurd(data, ABSURD_VALUES[fault.kind])
        body = envelope(data, code)
        content_type = OCTET_TYPE if self.options.octet_stream else JSON_TYPE
        if fault is not None and fault.kind == "octet_stream":
            content_type = OCTET_TYPE
        if fault is not None and fault.kind == "malformed_json":
            body = body[: max(1, len(body) // 2)]
        resp = FakeResponse(200, body, content_type, delay_s=delay)
        if fault is not None and fault.kind in HOSTILE_KINDS:
            resp = hostile_response(fault, body, delay)
        self._record(now_dt, req, app_id, kind, resp, code, label)
        return resp

    def _not_found(self, now_dt: datetime, req: FakeRequest) -> FakeResponse:
        """Undocumented paths: a Spring-style 404 (405 for a known path with the wrong method)."""
        status = 405 if self.routes.path_exists(req.path) else 404
        body = {
            "timestamp": now_dt.isoformat(),
            "status": status,
            "error": "Not Found" if status == 404 else "Method Not Allowed",
            "path": req.path,
        }
        resp = FakeResponse(status, json.dumps(body).encode())
        self._record(now_dt, req, req.headers.get("x-ca-appid") or None, "unknown", resp, None, None)
        return resp

    def _faulted(
        self, now_dt: datetime, req: FakeRequest, app_id: str, kind: str, fault: Fault, label: str | None, delay: float
    ) -> FakeResponse:
        if fault.kind == "code":
            return self._answer(now_dt, req, app_id, kind, fault.code, label, delay)
        if fault.kind == "drop":
            resp = FakeResponse(drop=True, delay_s=delay)
        else:
            page = f"<html><body><h1>{fault.status} Error</h1></body></html>".encode()
            resp = FakeResponse(fault.status, page, "text/html", delay_s=delay)
        self._record(now_dt, req, app_id, kind, resp, None, label)
        return resp

    def _answer(
        self,
        now_dt: datetime,
        req: FakeRequest,
        app_id: str | None,
        kind: str,
        code: int,
        fault: str | None = None,
        delay_s: float = 0.0,
    ) -> FakeResponse:
        """An error envelope ``{"data": null, "code": code}``."""
        content_type = OCTET_TYPE if self.options.octet_stream else JSON_TYPE
        resp = FakeResponse(200, envelope(None, code), content_type, delay_s=delay_s)
        self._record(now_dt, req, app_id, kind, resp, code, fault)
        return resp

    def _record(
        self,
        now_dt: datetime,
        req: FakeRequest,
        app_id: str | None,
        kind: str,
        resp: FakeResponse,
        code: int | None,
        fault: str | None,
    ) -> None:
        self.calls.record(
            LoggedRequest(
                time=now_dt.isoformat(),
                app_id=app_id,
                method=req.method,
                path=req.path,
                query=req.query,
                route=kind,
                http_status=0 if resp.drop else resp.status,
                code=code,
                fault=fault,
            )
        )

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> FakeCloud:
        """Bind and serve in a daemon thread; returns self so ``FakeCloud(...).start()`` reads well."""
        if self._server is not None:
            return self
        server = _HttpServer((self.host, self._port), self)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name=f"fake-apsystems:{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._server is not None

    def __enter__(self) -> FakeCloud:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], cloud: FakeCloud) -> None:
        self.cloud = cloud
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeAPsystemsCloud/1.0"
    timeout = 60
    # Headers and body go out in two writes; without TCP_NODELAY, Nagle's algorithm and the
    # client's delayed ACK add ~40 ms to every keep-alive response.
    disable_nagle_algorithm = True
    server: _HttpServer

    def handle(self) -> None:
        try:
            super().handle()
        except ConnectionResetError:  # a client that stopped reading a capped answer hung up: expected
            self.close_connection = True

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)

    def _handle(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        split = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        cloud = self.server.cloud
        if split.path == CONTROL_PREFIX or split.path.startswith(CONTROL_PREFIX + "/"):
            status, payload = handle_control(cloud, method, split.path, split.query, body)
            self._send(FakeResponse(status, json.dumps(payload, indent=None).encode()))
            return
        resp = cloud.process(FakeRequest(method, split.path, split.query, headers, body))
        if resp.delay_s > 0:
            time.sleep(resp.delay_s)
        if resp.drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._send(resp)

    def _send(self, resp: FakeResponse) -> None:
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(resp.body)))
        for name, value in resp.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if resp.trickle_s <= 0:
            try:
                self.wfile.write(resp.body)
            except OSError:  # the client stopped reading (a capped answer): nothing to report
                self.close_connection = True
            return
        self.wfile.flush()
        for index in range(len(resp.body)):  # until the client gives up (broken pipe) or the body ends
            try:
                self.wfile.write(resp.body[index : index + 1])
                self.wfile.flush()
            except OSError:
                self.close_connection = True
                return
            time.sleep(resp.trickle_s)
