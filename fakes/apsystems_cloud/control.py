"""Unsigned JSON control endpoints under ``/_fake``, for tests and demos in other processes.

They mirror the Python API (faults, clock, quota, call counts, site edits) and are never
counted as API calls.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from .clock import parse_datetime
from .site import site_from_dict

if TYPE_CHECKING:
    from .server import FakeCloud

ControlResult = tuple[int, Any]


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _body(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        raise ControlError(400, f"body is not JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise ControlError(400, "body must be a JSON object")
    return parsed


def state_payload(cloud: FakeCloud) -> dict[str, Any]:
    now = cloud.clock.now()
    return {
        "url": cloud.url if cloud.running else None,
        "primary_sid": cloud.primary_sid,
        "sites": sorted(cloud.sites),
        "app_ids": sorted(cloud.auth.credentials),
        "clock": cloud.clock.describe(),
        "quota": cloud.quota.snapshot(now),
        "faults": [f.to_dict() for f in cloud.faults.rules],
        "options": cloud.options.to_dict(),
        "auth": {
            "skew_tolerance_s": cloud.auth.skew_tolerance_s,
            "reject_replayed_nonces": cloud.auth.reject_replayed_nonces,
        },
        "calls": {"total": cloud.calls.total},
        "internal_errors": len(cloud.internal_errors),
    }


def _clock(cloud: FakeCloud, body: dict[str, Any]) -> Any:
    clock = cloud.clock
    mode = body.get("mode")
    if mode == "fixed":
        clock.set_fixed(parse_datetime(str(body["now"])))
    elif mode == "offset":
        clock.set_offset(float(body.get("offset_s", 0.0)))
    elif mode == "speed":
        start = body.get("start") or body.get("now")
        clock.set_speed(float(body["speed"]), parse_datetime(str(start)) if start else None)
    elif mode == "real":
        clock.set_real()
    elif mode is not None:
        raise ControlError(400, f"unknown clock mode {mode!r}; use fixed, offset, speed or real")
    if "advance_s" in body:
        clock.advance(timedelta(seconds=float(body["advance_s"])))
    return clock.describe()


def _quota(cloud: FakeCloud, body: dict[str, Any]) -> Any:
    app_id = body.get("app_id")
    if "limit" in body:
        cloud.quota.set_limit(int(body["limit"]), app_id)
    if "used" in body:
        cloud.set_quota_used(int(body["used"]), app_id, body.get("month"))
    return cloud.quota.snapshot(cloud.clock.now())


def _inverters(cloud: FakeCloud, body: dict[str, Any]) -> Any:
    action = body.get("action")
    sid = body.get("sid")
    if sid is not None and sid not in cloud.sites:
        raise ControlError(404, f"unknown sid {sid}")
    if action == "remove":
        inv = cloud.remove_inverter(str(body["uid"]), sid)
        return {"removed": inv.uid}
    if action == "restore":
        inv = cloud.restore_inverter(str(body["uid"]), sid)
        return {"restored": inv.uid}
    if action == "add":
        inv = cloud.add_inverter(
            str(body["eid"]),
            str(body.get("model", "DS3")),
            uid=body.get("uid"),
            panels_w=body.get("panels_w", 400.0),
            sid=sid,
        )
        return {"added": inv.uid, "model": inv.model, "panels_w": list(inv.panels_w)}
    if action in ("empty", "normal"):
        cloud.set_empty_inverter_list(action == "empty", sid)
        return {"empty_inverter_list": action == "empty"}
    raise ControlError(400, "action must be remove, restore, add, empty or normal")


def _site_get(cloud: FakeCloud, query: dict[str, str]) -> Any:
    sid = query.get("sid", cloud.primary_sid)
    state = cloud.sites.get(sid)
    if state is None:
        raise ControlError(404, f"unknown sid {sid}")
    return {**state.spec.to_dict(), "empty_inverter_list": state.empty_inverter_list}


def _auth(cloud: FakeCloud, body: dict[str, Any]) -> Any:
    if "skew_tolerance_s" in body:
        value = body["skew_tolerance_s"]
        cloud.auth.skew_tolerance_s = None if value is None else float(value)
    if "reject_replayed_nonces" in body:
        cloud.auth.reject_replayed_nonces = bool(body["reject_replayed_nonces"])
    for app_id, secret in dict(body.get("credentials", {})).items():
        cloud.auth.add(str(app_id), str(secret))
    for app_id in body.get("remove", []):
        cloud.auth.remove(str(app_id))
    return state_payload(cloud)["auth"] | {"app_ids": sorted(cloud.auth.credentials)}


def _light(cloud: FakeCloud, body: dict[str, Any]) -> Any:
    state = cloud.sites.get(str(body.get("sid", cloud.primary_sid)))
    if state is None:
        raise ControlError(404, "unknown sid")
    state.spec.light = int(body["light"])
    return {"light": state.spec.light}


def _correction(cloud: FakeCloud, body: dict[str, Any]) -> Any:
    sid = str(body.get("sid", cloud.primary_sid))
    if sid not in cloud.sites:
        raise ControlError(404, f"unknown sid {sid}")
    day = date.fromisoformat(str(body["day"]))
    cloud.correct_day(day, float(body["factor"]), sid)
    return {"sid": sid, "corrections": cloud.sites[sid].spec.to_dict()["corrections"]}


def _put_site(cloud: FakeCloud, body: dict[str, Any]) -> Any:
    spec = site_from_dict(body.get("site", body))
    cloud.put_site(spec)
    return {"sid": spec.sid}


def _add_faults(cloud: FakeCloud, body: dict[str, Any]) -> Any:
    specs = body.get("faults", [body])
    return {"added": [cloud.faults.from_dict(spec).to_dict() for spec in specs]}


def _reset_calls(cloud: FakeCloud) -> Any:
    cloud.calls.reset()
    return {"reset": True}


def _clear_faults(cloud: FakeCloud) -> Any:
    cloud.faults.clear()
    return {"cleared": True}


def _reset_quota(cloud: FakeCloud) -> Any:
    cloud.quota.reset()
    return cloud.quota.snapshot(cloud.clock.now())


def _reset_all(cloud: FakeCloud) -> Any:
    cloud.reset()
    return {"reset": True}


def _options(cloud: FakeCloud, body: dict[str, Any]) -> Any:
    cloud.options.update(body)
    return cloud.options.to_dict()


def _token(cloud: FakeCloud, body: dict[str, Any]) -> Any:
    return {"token": cloud.issue_token(body.get("sid"), body.get("username"), float(body.get("ttl_s", 300.0)))}


Getter = Callable[["FakeCloud", dict[str, str]], Any]
Poster = Callable[["FakeCloud", dict[str, Any]], Any]


def _calls(cloud: FakeCloud, query: dict[str, str]) -> Any:
    return cloud.calls.snapshot(log_limit=int(query.get("log", 100)) or None)


def _log(cloud: FakeCloud, query: dict[str, str]) -> Any:
    return {"log": [e.to_dict() for e in cloud.calls.entries(int(query.get("limit", 0)) or None)]}


def _faults(cloud: FakeCloud, query: dict[str, str]) -> Any:
    return {"faults": [f.to_dict() for f in cloud.faults.rules]}


def _clock_get(cloud: FakeCloud, query: dict[str, str]) -> Any:
    return cloud.clock.describe()


def _quota_get(cloud: FakeCloud, query: dict[str, str]) -> Any:
    return cloud.quota.snapshot(cloud.clock.now())


def _options_get(cloud: FakeCloud, query: dict[str, str]) -> Any:
    return cloud.options.to_dict()


def _state(cloud: FakeCloud, query: dict[str, str]) -> Any:
    return state_payload(cloud)


GETS: dict[str, Getter] = {
    "": _state,
    "state": _state,
    "calls": _calls,
    "log": _log,
    "faults": _faults,
    "clock": _clock_get,
    "quota": _quota_get,
    "site": _site_get,
    "options": _options_get,
}

POSTS: dict[str, Poster] = {
    "calls/reset": lambda c, b: _reset_calls(c),
    "faults": _add_faults,
    "faults/clear": lambda c, b: _clear_faults(c),
    "clock": _clock,
    "quota": _quota,
    "quota/reset": lambda c, b: _reset_quota(c),
    "site": _put_site,
    "site/inverters": _inverters,
    "site/light": _light,
    "site/correction": _correction,
    "options": _options,
    "auth": _auth,
    "tokens": _token,
    "reset": lambda c, b: _reset_all(c),
}


def _dispatch(cloud: FakeCloud, method: str, path: str, query: dict[str, str], raw: bytes) -> Any:
    route = path[len("/_fake") :].strip("/")
    if method == "GET" and route in GETS:
        return GETS[route](cloud, query)
    if method in ("POST", "PUT") and route in POSTS:
        return POSTS[route](cloud, _body(raw))
    if method == "DELETE":
        if route == "calls":
            return _reset_calls(cloud)
        if route == "faults":
            return _clear_faults(cloud)
        if route.startswith("faults/"):
            return {"removed": cloud.faults.remove(int(route.split("/", 1)[1]))}
    raise ControlError(404, f"no control endpoint {method} {path}")


def handle_control(cloud: FakeCloud, method: str, path: str, query_string: str, raw: bytes) -> tuple[int, Any]:
    """(HTTP status, JSON payload) for one control request."""
    query = {k: v[0] for k, v in parse_qs(query_string).items()}
    try:
        return 200, _dispatch(cloud, method, path, query, raw)
    except ControlError as exc:
        return exc.status, {"error": str(exc)}
    except KeyError as exc:
        return 400, {"error": f"missing or unknown: {exc}"}
    except (TypeError, ValueError) as exc:
        return 400, {"error": str(exc)}
