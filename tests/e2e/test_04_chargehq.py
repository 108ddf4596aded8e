"""The Charge HQ receiver gets valid pushes with the production the apps publish.

Runs after the restarts and the notification tests: by then the forwarder (60 s push interval
in the example) has pushed several times, so nothing waits here.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from tests.e2e.conftest import CHARGEHQ_KEY, Session
from tests.e2e.processes import wait_for

pytestmark = pytest.mark.e2e


def test_chargehq_receives_valid_pushes(session: Session) -> None:
    if not session.expected.has_chargehq:
        pytest.skip("apps/apps.yaml.example has no Charge HQ forwarder")
    receiver = session.receiver

    def good_push() -> Any:
        power = session.hass.state(f"{session.expected.prefix}_power")
        status = session.hass.state("sensor.chargehq_push_status")
        if power is None or status is None or status["state"] != "ok" or not receiver.accepted_pushes:
            return None
        push = receiver.accepted_pushes[-1]
        meters = push.site_meters or {}
        production = meters.get("production_kw")
        if not isinstance(production, (int, float)) or push.problems:
            return None
        # The latest push carries the latest poll's power (a poll just after it: wait for the next push).
        if not math.isclose(production, float(power["state"]) / 1000, abs_tol=0.001):
            return None
        return push, status

    # The first push goes out at start-up, possibly before the first poll ("has not shared a
    # power reading yet", a valid error push); the following ones carry the production.
    push, status = wait_for(
        "an accepted Charge HQ push with production and the status entity at ok",
        good_push,
        timeout=150,
        interval=1.0,
        context=session.appdaemon.describe,
    )
    assert push.status == 200
    assert push.api_key_ok
    assert push.fault is None
    assert push.problems == ()
    assert all(p.status is not None and p.accepted for p in receiver.pushes), [p.problems for p in receiver.pushes]
    assert push.site_meters["production_kw"] > 0, "midday at the site"
    spacing = receiver.min_spacing_s()
    assert spacing is None or spacing >= 30, f"pushes {spacing:.1f} s apart; Charge HQ wants at least 30 s"
    attributes = status["attributes"]
    assert attributes["friendly_name"] == "Charge HQ push status"
    assert attributes["last_http_status"] == 200
    assert attributes["consecutive_failures"] == 0
    assert attributes["last_success"] is not None
    assert "apiKey" not in (attributes["last_payload"] or {})
    assert attributes["last_payload"]["siteMeters"]["production_kw"] > 0
    assert CHARGEHQ_KEY not in str(attributes), "the API key must never reach Home Assistant"
