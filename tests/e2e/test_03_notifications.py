"""Persistent notifications a user sees in Home Assistant when the APsystems API refuses.

How each is driven, deterministically and within seconds: a separate AppDaemon instance with
a fresh configuration folder (so: a new install) runs the budget and production apps of the
example; a new install discovers the system 5 s after start, which is its first API call.
The fake cloud answers that call with the code under test. The main AppDaemon is stopped
meanwhile (both would publish the same entities) and started again afterwards.

Recovery ("dismissed after the next successful call"):

* 7003 (server busy, a limit code like 2005): the instance is restarted with the fault gone;
  discovery runs again, succeeds, and the notification goes away. Nothing else is touched.
* 2005 (monthly limit): the ledger locks the App ID until the month rolls over (except one
  probe a day, never on the day of the 2005), so the next call would only come next month.
  AppDaemon's clock cannot be moved (time travel is broken in 4.5.13), so the test stands in
  for the new month by deleting the ledger file (``apsystems_state/api_calls_<id>.json``)
  while AppDaemon is stopped; the budget app's own notification flags stay, so the first
  successful call after the restart must dismiss the notification.
* Wrong App Secret (code 4000): the instance is restarted with the right secret.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.appdaemon_instance import AppDaemonInstance, example_apps
from tests.e2e.conftest import Session
from tests.e2e.sockets import beyond_loopback

pytestmark = pytest.mark.e2e

API_LIMIT_ID = "apsystems_api_limit"
AUTH_ID = "apsystems_auth"
NOTIFICATION_TIMEOUT_S = 60
FAULT_APPS = frozenset({"BudgetApp", "ProductionApp"})


@pytest.fixture(scope="module")
def main_appdaemon_stopped(e2e_session: Session) -> Iterator[None]:
    e2e_session.appdaemon.stop()
    try:
        yield
    finally:
        e2e_session.cloud.faults.clear()
        e2e_session.hass.dismiss(API_LIMIT_ID, AUTH_ID)
        e2e_session.appdaemon.start()
        e2e_session.wait_for_entities()


@pytest.fixture
def fresh(session: Session, main_appdaemon_stopped: None) -> Iterator[Session]:
    session.cloud.faults.clear()
    session.hass.dismiss(API_LIMIT_ID, AUTH_ID)
    assert not {API_LIMIT_ID, AUTH_ID} & set(session.hass.notifications())
    try:
        yield session
    finally:
        session.cloud.faults.clear()


def _instance(session: Session, name: str, **secrets: str) -> AppDaemonInstance:
    apps = example_apps(session.cloud, session.receiver, classes=FAULT_APPS)
    assert {args["class"] for args in apps.values()} == FAULT_APPS
    return session.make_appdaemon(name, apps, **secrets)


def _api_calls(session: Session) -> dict[str, object]:
    state = session.hass.state(f"{session.expected.prefix}_api_calls")
    assert state is not None
    attributes: dict[str, object] = state["attributes"]
    return attributes


def test_api_limit_2005_notifies_and_recovery_dismisses(fresh: Session) -> None:
    hass, cloud = fresh.hass, fresh.cloud
    cloud.faults.inject_code(2005)
    instance = _instance(fresh, "limit-2005")
    instance.start()
    notification = hass.wait_for_notification(API_LIMIT_ID, NOTIFICATION_TIMEOUT_S)
    assert notification["title"] == "APsystems: API limit reached"
    assert "code 2005" in notification["message"]
    assert "month rolls over" in notification["message"]
    attributes = _api_calls(fresh)
    assert attributes["last_error_code"] == 2005
    assert attributes["quota_exhausted"] is True
    assert beyond_loopback(instance.process.group_pids()) == []

    instance.stop()
    cloud.faults.clear()
    ledgers = list(instance.state_dir.glob("api_calls_*.json"))
    assert len(ledgers) == 1, ledgers
    # Stands in for the month rolling over (see the module docstring): the ledger and its journal
    # copy go; either one alone keeps the count, since the ledger fails closed.
    for copy in (ledgers[0], ledgers[0].with_name(ledgers[0].name + ".journal")):
        copy.unlink()
    instance.start()
    hass.wait_for_notification(API_LIMIT_ID, NOTIFICATION_TIMEOUT_S, present=False)
    assert _api_calls(fresh)["last_error_code"] is None
    instance.stop()


def test_api_limit_7003_notifies_and_next_success_dismisses(fresh: Session) -> None:
    hass, cloud = fresh.hass, fresh.cloud
    cloud.faults.inject_code(7003, times=1)
    instance = _instance(fresh, "limit-7003")
    instance.start()
    notification = hass.wait_for_notification(API_LIMIT_ID, NOTIFICATION_TIMEOUT_S)
    assert "code 7003" in notification["message"]
    assert "goes away after the next successful call" in notification["message"]

    instance.restart()  # discovery runs again at start; the fault answered only once
    hass.wait_for_notification(API_LIMIT_ID, NOTIFICATION_TIMEOUT_S, present=False)
    instance.stop()


def test_wrong_app_secret_notifies_auth_and_right_secret_dismisses(fresh: Session) -> None:
    hass = fresh.hass
    instance = _instance(fresh, "wrong-secret", aps_app_secret="wrong0secret")
    instance.start()
    notification = hass.wait_for_notification(AUTH_ID, NOTIFICATION_TIMEOUT_S)
    assert notification["title"] == "APsystems: credentials or signature rejected"
    assert "code 4000" in notification["message"]
    assert "aps_app_secret" in notification["message"]
    assert API_LIMIT_ID not in hass.notifications()
    instance.stop()

    fixed = _instance(fresh, "wrong-secret")  # same folder (same app state), right secret
    fixed.start()
    hass.wait_for_notification(AUTH_ID, NOTIFICATION_TIMEOUT_S, present=False)
    fixed.stop()
