"""A local stand-in for Charge HQ's Push API, for tests and the offline demo.

It is stricter than the real service on purpose: the real API accepts almost anything and
only shows errors on its home screen, which is how peers shipped misspelt keys, numbers as
strings and wrapped bodies for months. Here such a body is answered 400, a wrong key 401.
It records every push with its arrival time (the clock can be injected, so spacing can be
checked against a test's fake clock), can answer 500 or stall for the next N requests, and is
controlled from other processes through unauthenticated ``/_fake/...`` JSON endpoints.

Only loopback addresses are served; the server runs in daemon threads and stops on ``stop()``,
at the end of a ``with`` block, or after ``max_lifetime_s``.

Run for the demo: ``python -m fakes.chargehq_receiver --port 8765 --api-key K``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import math
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType, TracebackType
from typing import Any, TypeGuard

log = logging.getLogger(__name__)

PUSH_PATH = "/api/public/push-solar-data"
CONTROL_PREFIX = "/_fake/"
TOP_LEVEL_KEYS = frozenset({"apiKey", "tsms", "error", "siteMeters"})
SITE_METER_KEYS = frozenset(
    {
        "production_kw",
        "net_import_kw",
        "consumption_kw",
        "imported_kwh",
        "exported_kwh",
        "battery_discharge_kw",
        "battery_soc",
        "battery_energy_kwh",
    }
)
EQUATION_TOLERANCE_KW = 0.05
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost"})
MAX_BODY_BYTES = 64 * 1024
# tsms below this is seconds, not milliseconds (1e11 ms is March 1973).
MIN_TSMS = 100_000_000_000
REDACTED = "<redacted>"
DEFAULT_STALL_S = 30.0
_HINTS = {
    "sitesMeters": "the key is 'siteMeters'",
    "SiteMeterPush": "send the fields at the top level, not wrapped in 'SiteMeterPush'",
    "siteId": "siteId is deprecated; send 'apiKey'",
    "api_key": "the key is 'apiKey'",
    "apikey": "the key is 'apiKey'",
}


def _is_number(value: object) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _meter_problems(meters: object) -> list[str]:
    if not isinstance(meters, dict):
        return ["siteMeters must be an object"]
    problems: list[str] = []
    for key, value in meters.items():
        if key not in SITE_METER_KEYS:
            problems.append(f"unknown siteMeters key {key!r}")
        elif not _is_number(value):
            problems.append(f"siteMeters.{key} must be a JSON number, not {value!r}")
    soc = meters.get("battery_soc")
    if _is_number(soc) and not 0 <= soc <= 1:
        problems.append(f"siteMeters.battery_soc must be a fraction 0..1 (0.5 = 50%), not {soc!r}")
    return problems


def _schema_problems(body: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    for key in body:
        if key not in TOP_LEVEL_KEYS:
            hint = _HINTS.get(key)
            problems.append(f"unknown key {key!r}" + (f" ({hint})" if hint else ""))
    if "tsms" in body and (not _is_number(body["tsms"]) or body["tsms"] < MIN_TSMS):
        problems.append(f"tsms must be a number of milliseconds since the epoch, not {body['tsms']!r}")
    if "error" in body and (not isinstance(body["error"], str) or not body["error"].strip()):
        problems.append("error must be a non-empty string; leave it out when there is no error")
    if "siteMeters" in body:
        problems.extend(_meter_problems(body["siteMeters"]))
    if "error" in body and "siteMeters" in body:
        problems.append("send either error or siteMeters, not both")
    if "error" not in body and "siteMeters" not in body:
        problems.append("the push has neither siteMeters nor error")
    return problems


def validate_push(body: object, api_key: str) -> tuple[int, list[str]]:
    """``(HTTP status, problems)`` for a parsed push body; 200 and no problems when valid.

    Schema problems answer 400 before the key is looked at (so a wrapped body is explained);
    a missing or wrong ``apiKey`` answers 401.
    """
    if not isinstance(body, dict):
        return 400, [f"the body must be a JSON object, not {type(body).__name__}"]
    problems = _schema_problems(body)
    if problems:
        return 400, problems
    if "apiKey" not in body:
        return 401, ["apiKey is required"]
    if not isinstance(body["apiKey"], str):
        return 400, ["apiKey must be a string"]
    if body["apiKey"] != api_key:
        return 401, ["apiKey is not valid"]
    return 200, []


def equation_residual(meters: Mapping[str, object]) -> float | None:
    """``consumption - (production + net_import + battery_discharge)`` when all three are present."""
    terms = [meters.get(key) for key in ("consumption_kw", "production_kw", "net_import_kw", "battery_discharge_kw")]
    if terms[3] is None:
        terms[3] = 0.0
    numbers = [float(term) for term in terms if _is_number(term)]
    if len(numbers) < 4:
        return None
    consumption, production, net_import, battery = numbers
    return round(consumption - (production + net_import + battery), 6)


def redact_body(body: object, api_key: str) -> object:
    """The body with ``apiKey`` replaced (records and control answers never carry the key)."""
    if isinstance(body, dict):
        return {key: (REDACTED if key == "apiKey" else value) for key, value in body.items()}
    return body


@dataclass(frozen=True)
class ReceivedPush:
    """One request to the push path, as received and answered."""

    index: int
    monotonic: float
    """Arrival time on the receiver's clock (injectable; ``time.monotonic`` by default)."""
    wall: datetime
    body: object
    """The parsed body with the API key redacted, or None when it was not JSON."""
    raw: str
    """The raw text with the API key redacted (first 2,000 characters)."""
    status: int | None
    """What the receiver answered; None when it stalled and never answered."""
    problems: tuple[str, ...] = ()
    api_key_ok: bool = False
    fault: str | None = None
    """``fail`` or ``stall`` when an injected fault answered instead of the validator."""
    equation_residual_kw: float | None = None

    @property
    def accepted(self) -> bool:
        """Answered 2xx."""
        return self.status is not None and 200 <= self.status < 300

    @property
    def site_meters(self) -> dict[str, Any] | None:
        """The ``siteMeters`` object, if the body had one."""
        if isinstance(self.body, dict) and isinstance(self.body.get("siteMeters"), dict):
            return dict(self.body["siteMeters"])
        return None

    def as_json(self) -> dict[str, Any]:
        """The record as the control endpoint returns it."""
        return {
            "index": self.index,
            "monotonic": self.monotonic,
            "wall": self.wall.isoformat(),
            "body": self.body,
            "status": self.status,
            "accepted": self.accepted,
            "problems": list(self.problems),
            "api_key_ok": self.api_key_ok,
            "fault": self.fault,
            "equation_residual_kw": self.equation_residual_kw,
        }


@dataclass
class _Fault:
    kind: str  # "fail", "stall" or "trickle"
    remaining: int | None  # None: until cleared
    status: int = 500
    body: str = ""
    stall_s: float = DEFAULT_STALL_S
    release: threading.Event = field(default_factory=threading.Event)


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class ChargeHQReceiver:
    """The fake Charge HQ Push API on 127.0.0.1 (an ephemeral port unless ``port`` is given)."""

    def __init__(
        self,
        api_key: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = _utc_now,
        max_lifetime_s: float | None = None,
        on_push: Callable[[ReceivedPush], None] | None = None,
    ) -> None:
        if host not in LOOPBACK_HOSTS:
            raise ValueError(f"the fake Charge HQ receiver serves loopback only, not {host!r}")
        self.api_key = api_key
        self.host = host
        self._requested_port = port
        self._clock = clock
        self._wall_clock = wall_clock
        self._max_lifetime_s = max_lifetime_s
        self._on_push = on_push
        self._lock = threading.Lock()
        self._pushes: list[ReceivedPush] = []
        self._fault: _Fault | None = None
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._timer: threading.Timer | None = None
        self._stopped = threading.Event()

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> ChargeHQReceiver:
        """Bind and serve in a daemon thread; returns self."""
        if self._server is not None:
            return self
        server = _Server((self.host, self._requested_port), _Handler)
        server.receiver = self
        self._server = server
        self._stopped.clear()
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="chargehq-receiver", daemon=True
        )
        self._thread.start()
        if self._max_lifetime_s is not None:
            self._timer = threading.Timer(self._max_lifetime_s, self.stop)
            self._timer.daemon = True
            self._timer.start()
        log.info("fake Charge HQ receiver on %s", self.url)
        return self

    def stop(self) -> None:
        """Release stalled requests, stop serving and close the socket (idempotent)."""
        with self._lock:
            server, self._server = self._server, None
            fault = self._fault
            timer, self._timer = self._timer, None
        if fault is not None:
            fault.release.set()
        if timer is not None and timer is not threading.current_thread():
            timer.cancel()
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self._stopped.set()

    def wait_stopped(self, timeout: float | None = None) -> bool:
        """Block until stopped (the command-line mode waits here)."""
        return self._stopped.wait(timeout)

    def __enter__(self) -> ChargeHQReceiver:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (valid after ``start``)."""
        if self._server is None:
            raise RuntimeError("the receiver is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:40123``."""
        return f"http://{self.host}:{self.port}"

    @property
    def endpoint(self) -> str:
        """The push URL to configure as ``endpoint``."""
        return self.url + PUSH_PATH

    # --- faults -------------------------------------------------------------------------

    def fail_next(self, count: int | None = 1, *, status: int = 500, body: str = "") -> None:
        """Answer the next ``count`` pushes (None: all until cleared) with ``status`` and ``body``."""
        self._set_fault(_Fault("fail", count, status=status, body=body or json.dumps({"error": "injected fault"})))

    def stall_next(self, count: int | None = 1, *, seconds: float = DEFAULT_STALL_S) -> None:
        """Hold the next ``count`` pushes without answering for ``seconds`` (or until cleared/stopped)."""
        self._set_fault(_Fault("stall", count, stall_s=seconds))

    def trickle_next(self, count: int | None = 1, *, interval_s: float = 3.0) -> None:
        """Answer the next ``count`` pushes with 200 and a body sent one byte every ``interval_s``."""
        self._set_fault(_Fault("trickle", count, status=200, stall_s=interval_s))

    def clear_faults(self) -> None:
        """Answer normally again and release any stalled request."""
        self._set_fault(None)

    def _set_fault(self, fault: _Fault | None) -> None:
        with self._lock:
            old, self._fault = self._fault, fault
        if old is not None:
            old.release.set()

    def _take_fault(self) -> _Fault | None:
        with self._lock:
            fault = self._fault
            if fault is None:
                return None
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._fault = None
            return fault

    @property
    def fault_mode(self) -> dict[str, Any] | None:
        """The active fault, for the control endpoint."""
        with self._lock:
            fault = self._fault
            if fault is None:
                return None
            return {"mode": fault.kind, "remaining": fault.remaining, "status": fault.status, "seconds": fault.stall_s}

    # --- records ------------------------------------------------------------------------

    @property
    def pushes(self) -> list[ReceivedPush]:
        """Every request to the push path so far, in arrival order."""
        with self._lock:
            return list(self._pushes)

    @property
    def accepted_pushes(self) -> list[ReceivedPush]:
        """The pushes answered 2xx."""
        return [push for push in self.pushes if push.accepted]

    def min_spacing_s(self) -> float | None:
        """The smallest gap between two consecutive arrivals (all pushes, faults included); None below 2."""
        times = sorted(push.monotonic for push in self.pushes)
        if len(times) < 2:
            return None
        return min(later - earlier for earlier, later in itertools.pairwise(times))

    def reset(self) -> None:
        """Forget the pushes and clear the faults."""
        with self._lock:
            self._pushes.clear()
        self.clear_faults()

    def summary(self) -> dict[str, Any]:
        """Counts and spacing, for the control endpoint."""
        pushes = self.pushes
        return {
            "count": len(pushes),
            "accepted": sum(1 for push in pushes if push.accepted),
            "min_spacing_s": self.min_spacing_s(),
            "fault": self.fault_mode,
        }

    def _record(self, **fields: Any) -> ReceivedPush:
        with self._lock:
            push = ReceivedPush(index=len(self._pushes), **fields)
            self._pushes.append(push)
        if self._on_push is not None:
            try:
                self._on_push(push)
            except Exception:
                log.exception("on_push callback failed")
        return push

    # --- request handling (called from the handler threads) -----------------------------

    def handle_push(self, raw_bytes: bytes) -> tuple[int, dict[str, Any] | str]:
        """Record one push and decide the answer: ``(status, JSON object or raw text)``."""
        arrived, wall = self._clock(), self._wall_clock()
        raw = raw_bytes.decode("utf-8", errors="replace")
        raw_redacted = raw.replace(self.api_key, REDACTED) if self.api_key else raw
        try:
            body: object = json.loads(raw)
        except ValueError:
            body = None
        fault = self._take_fault()
        meters = body.get("siteMeters") if isinstance(body, dict) else None
        residual = equation_residual(meters) if isinstance(meters, dict) else None
        key_ok = isinstance(body, dict) and body.get("apiKey") == self.api_key
        common: dict[str, Any] = {
            "monotonic": arrived,
            "wall": wall,
            "body": redact_body(body, self.api_key),
            "raw": raw_redacted[:2000],
            "api_key_ok": key_ok,
            "equation_residual_kw": residual,
        }
        if fault is not None and fault.kind == "stall":
            self._record(status=None, fault="stall", **common)
            fault.release.wait(fault.stall_s)
            return 504, {"error": "stalled by the fake receiver"}
        if fault is not None and fault.kind == "trickle":
            self._record(status=fault.status, fault="trickle", **common)
            return fault.status, json.dumps({"success": True, "trickle_s": fault.stall_s})
        if fault is not None:
            self._record(status=fault.status, fault="fail", **common)
            return fault.status, fault.body
        if body is None:
            problems = ["the body is not valid JSON"]
            status = 400
        else:
            status, problems = validate_push(body, self.api_key)
        self._record(status=status, problems=tuple(problems), **common)
        if status != 200:
            return status, {"success": False, "error": "; ".join(problems)}
        answer: dict[str, Any] = {"success": True}
        if residual is not None and abs(residual) > EQUATION_TOLERANCE_KW:
            # Like Charge HQ: accepted, but flagged (the real one shows it on its home screen).
            answer["warning"] = f"power values are inconsistent (residual {residual:+.3f} kW)"
        return 200, answer

    def handle_control(self, method: str, path: str, request: object) -> tuple[int, dict[str, Any]]:
        """The ``/_fake/...`` endpoints (listed in the module docstring)."""
        name = path[len(CONTROL_PREFIX) :].strip("/")
        params: Mapping[str, Any] = request if isinstance(request, dict) else {}
        if method == "GET":
            views: dict[str, Callable[[], dict[str, Any]]] = {
                "health": lambda: {"ok": True},
                "summary": self.summary,
                "pushes": lambda: {**self.summary(), "pushes": [push.as_json() for push in self.pushes]},
            }
            view = views.get(name)
            return (200, view()) if view else (404, {"error": f"no control endpoint GET {path}"})
        actions: dict[str, Callable[[Mapping[str, Any]], str | None]] = {
            "fail": self._control_fail,
            "stall": self._control_stall,
            "clear": lambda _params: self.clear_faults(),
            "reset": lambda _params: self.reset(),
        }
        action = actions.get(name)
        if method != "POST" or action is None:
            return 404, {"error": f"no control endpoint {method} {path}"}
        problem = action(params)
        if problem:
            return 400, {"error": problem}
        return 200, {"ok": True, "fault": self.fault_mode}

    @staticmethod
    def _control_count(params: Mapping[str, Any]) -> int | str | None:
        count = params.get("count", 1)
        if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
            return "count must be a positive integer, or null for until cleared"
        return count

    def _control_fail(self, params: Mapping[str, Any]) -> str | None:
        count = self._control_count(params)
        if isinstance(count, str):
            return count
        status = params.get("status", 500)
        if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
            return "status must be an HTTP status code"
        self.fail_next(count, status=status, body=str(params.get("body", "")))
        return None

    def _control_stall(self, params: Mapping[str, Any]) -> str | None:
        count = self._control_count(params)
        if isinstance(count, str):
            return count
        seconds = params.get("seconds", DEFAULT_STALL_S)
        if not _is_number(seconds) or seconds <= 0:
            return "seconds must be a positive number"
        self.stall_next(count, seconds=float(seconds))
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    receiver: ChargeHQReceiver


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "FakeChargeHQ/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _read_body(self) -> bytes | None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY_BYTES:
            self._send(413 if length > MAX_BODY_BYTES else 400, {"error": "bad Content-Length"})
            return None
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, answer: Mapping[str, Any] | str) -> None:
        data = (answer if isinstance(answer, str) else json.dumps(answer)).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json" if not isinstance(answer, str) else "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the client gave up (e.g. its read timeout during a stall)

    def _trickle(self, data: bytes, interval_s: float) -> None:
        """A hostile answer: 200, then the body one byte at a time until done or the client leaves."""
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            for index in range(len(data)):
                self.wfile.write(data[index : index + 1])
                self.wfile.flush()
                time.sleep(interval_s)
        except OSError:
            self.close_connection = True

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        raw = self._read_body()
        if raw is None:
            return
        receiver = self.server.receiver
        if path == PUSH_PATH:
            status, answer = receiver.handle_push(raw)
            if isinstance(answer, str) and answer.startswith('{"success": true, "trickle_s"'):
                self._trickle(answer.encode("utf-8"), float(json.loads(answer)["trickle_s"]))
                return
            self._send(status, answer)
        elif path.startswith(CONTROL_PREFIX):
            try:
                request: object = json.loads(raw) if raw.strip() else {}
            except ValueError:
                self._send(400, {"error": "the control body must be JSON"})
                return
            self._send(*receiver.handle_control("POST", path, request))
        else:
            self._send(404, {"error": f"no such path {path}"})

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path.startswith(CONTROL_PREFIX):
            self._send(*self.server.receiver.handle_control("GET", path, None))
        elif path == PUSH_PATH:
            self._send(HTTPStatus.METHOD_NOT_ALLOWED, {"error": "POST a SiteMeterPush here"})
        else:
            self._send(404, {"error": f"no such path {path}"})


def describe(push: ReceivedPush) -> str:
    """One printable line per push (the API key is already redacted)."""
    answer = "stalled" if push.status is None else f"HTTP {push.status}"
    line = f"{push.wall.isoformat(timespec='seconds')} #{push.index} {answer}"
    if push.fault:
        line += f" (injected {push.fault})"
    line += " " + (json.dumps(push.body) if push.body is not None else repr(push.raw[:200]))
    if push.problems:
        line += " problems: " + "; ".join(push.problems)
    if push.equation_residual_kw is not None and abs(push.equation_residual_kw) > EQUATION_TOLERANCE_KW:
        line += f" equation residual {push.equation_residual_kw:+.3f} kW"
    return line


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until interrupted (or ``--exit-after``), printing every push."""
    parser = argparse.ArgumentParser(prog="python -m fakes.chargehq_receiver", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: an ephemeral one)")
    parser.add_argument("--api-key", required=True, help="the key pushes must carry")
    parser.add_argument("--exit-after", type=float, default=None, help="stop by itself after this many seconds")
    args = parser.parse_args(argv)

    def show(push: ReceivedPush) -> None:
        print(describe(push), flush=True)

    receiver = ChargeHQReceiver(args.api_key, port=args.port, max_lifetime_s=args.exit_after, on_push=show)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=receiver.stop, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    receiver.start()
    print(f"fake Charge HQ receiver listening on {receiver.endpoint}", flush=True)
    print(f"control: {receiver.url}{CONTROL_PREFIX}pushes | fail | stall | clear | reset", flush=True)
    while not receiver.wait_stopped(0.5):
        pass
    print("fake Charge HQ receiver stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
