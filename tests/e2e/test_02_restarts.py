"""Restarts: Home Assistant forgets the entities AppDaemon set; AppDaemon's restart keeps the ledger.

Neither restart may spend API calls: the apps re-publish their last known values from their
files. The fake cloud's call counter proves it. A production poll that happens to fall inside
the test would also change that counter, so each test first waits out a poll planned for the
next two minutes (the ``next_poll`` attribute says when; with the example's settings polls are
at least ten minutes apart, so this rarely waits).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from fakes.apsystems_cloud import DEFAULT_APP_ID
from tests.e2e.conftest import Session
from tests.e2e.processes import wait_for

pytestmark = pytest.mark.e2e

QUIET_S = 120


def quiet_window(session: Session, seconds: float = QUIET_S) -> None:
    """Return once no production poll is planned within ``seconds`` (waiting out one that is)."""
    entity_id = f"{session.expected.prefix}_api_calls"
    state = session.hass.state(entity_id)
    assert state is not None
    next_poll = state["attributes"].get("next_poll")
    if not next_poll:
        return
    due = datetime.fromisoformat(next_poll)
    now = datetime.now().astimezone()
    if due - now > timedelta(seconds=seconds):
        return
    used = int(state["state"])

    def polled() -> bool:
        current = session.hass.state(entity_id)
        return (
            current is not None
            and datetime.now().astimezone() > due + timedelta(seconds=10)
            and int(current["state"]) > used
        )

    def settled() -> bool:
        current = session.hass.state(entity_id)
        return current is not None and int(current["state"]) == session.cloud.calls.by_app[DEFAULT_APP_ID]

    wait_for("the planned production poll to pass", polled, timeout=seconds + 60, interval=2)
    wait_for("the call count to settle", settled, timeout=30)


def _comparable(state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    attributes = dict(state["attributes"])
    # The budget's plan is recomputed on every publish from the clock: it may move by a call.
    for volatile in ("projected", "plan", "polls_left", "next_poll", "interval_s", "history_backfill_per_day"):
        attributes.pop(volatile, None)
    return state["state"], attributes


def test_home_assistant_restart_brings_entities_back_without_api_calls(session: Session) -> None:
    quiet_window(session)
    ids = session.expected.apsystems_ids
    before = session.wait_for_entities()
    calls = session.cloud.calls.total
    restarted_at = datetime.now().astimezone()

    session.hass.restart()
    # HA does not keep states set through its REST API; AppDaemon reconnects, re-runs the
    # apps' initialize(), and they publish their last known values again.
    after = session.wait_for_entities(timeout=120)

    session.entities_published_at = datetime.now().astimezone()
    assert session.cloud.calls.total == calls, "a Home Assistant restart must not cost API calls"
    for entity_id in ids:
        assert datetime.fromisoformat(after[entity_id]["last_updated"]) >= restarted_at, (
            f"{entity_id} was not published again after the restart"
        )
        assert _comparable(after[entity_id]) == _comparable(before[entity_id]), entity_id
    if session.expected.has_chargehq:
        assert after["sensor.chargehq_push_status"]["state"] in ("ok", before["sensor.chargehq_push_status"]["state"])


def test_appdaemon_restart_keeps_the_call_count(session: Session) -> None:
    quiet_window(session)
    api_calls = f"{session.expected.prefix}_api_calls"
    before = session.wait_for_entities()
    used = int(before[api_calls]["state"])
    calls = session.cloud.calls.total
    assert used == session.cloud.calls.by_app[DEFAULT_APP_ID]

    session.appdaemon.stop()
    # Remove the entities from HA, so that seeing them again proves AppDaemon re-published them.
    for entity_id in session.expected.all_ids:
        session.hass.delete_state(entity_id)
    assert session.hass.state(api_calls) is None
    session.appdaemon.start()
    after = session.wait_for_entities()
    session.entities_published_at = datetime.now().astimezone()

    assert int(after[api_calls]["state"]) == used, "the ledger must survive an AppDaemon restart"
    assert after[api_calls]["attributes"]["remaining"] == before[api_calls]["attributes"]["remaining"]
    assert session.cloud.calls.total == calls, "an AppDaemon restart must not cost API calls"
    for entity_id in session.expected.apsystems_ids:
        assert _comparable(after[entity_id]) == _comparable(before[entity_id]), entity_id
