"""How the APsystems apps find their budget app and build a client it counts.

The apps below never import ``budget_app``: they see the budget through the ``Budget``
protocol, its public surface. An app that signs with another App ID than its budget is
refused, because the ledger must count what the cloud counts; so is a second budget app on
the same App ID in one AppDaemon (two ledgers would each plan the whole quota).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Generic, NamedTuple, Protocol, TypeVar, cast

from appdaemon.plugins.hass.hassapi import Hass

from apsystems.api.client import ApsystemsClient, RequestRecord
from apsystems.budget.pacing import BudgetSettings, CallDecision, Plan, PollSource
from apsystems.budget.solar_window import SolarWindow
from apsystems.common.args import Credentials
from apsystems.common.entities import Publisher
from apsystems.ha.publisher import publisher_for


class Budget(Protocol):
    """The budget app's public surface for the apps that spend calls."""

    @property
    def name(self) -> str: ...
    @property
    def app_id(self) -> str: ...
    @property
    def settings(self) -> BudgetSettings: ...
    @property
    def poll_source(self) -> PollSource: ...
    @property
    def site_time_zone(self) -> str: ...

    def call_hook(self) -> Callable[[RequestRecord], None]: ...
    def set_site(self, *, inverters: int, ecus: int, poll_source: PollSource, time_zone: str | None) -> None: ...
    def plan(self) -> Plan: ...
    def set_household(self, *, meters: int, storages: int) -> None: ...
    def household_read_due(self, last_read: datetime | None, slack_s: float = 0.0) -> bool: ...
    @property
    def last_poll_at(self) -> datetime | None: ...
    def next_poll(self) -> datetime | None: ...
    def adopt_last_poll(self, at: datetime | None) -> None: ...
    def set_history(self, *, enabled: bool, backlog: int) -> None: ...
    def poll_due(self, slack_s: float = 0.0) -> bool: ...
    def spending(self, cost: int, purpose: str) -> AbstractContextManager[CallDecision]: ...
    def solar_window(self, now: datetime) -> SolarWindow: ...
    def next_window_open(self, now: datetime) -> datetime | None: ...
    def detail_due(self, uids: Sequence[str]) -> list[str]: ...


def find_budget(app: Hass, name: str) -> Budget:
    """The running budget app called ``name``; a clear error when it is not running."""
    budget = app.get_app(name)
    if budget is None:
        raise ValueError(
            f"budget app {name!r} is not running: add it to apps.yaml and list it under this app's dependencies"
        )
    return cast(Budget, budget)


def budget_client(cfg: Credentials, budget: Budget, app_name: str) -> ApsystemsClient:
    """A client whose every request is counted by the budget's ledger; refused on another App ID."""
    if cfg.app_id != budget.app_id:
        raise ValueError(
            f"app_id of app {app_name!r} is not the app_id of its budget app {budget.name!r}: the budget counts the"
            f" calls of its own App ID only, so use the same `app_id: !secret aps_app_id` in both apps"
        )
    return ApsystemsClient(cfg.app_id, cfg.app_secret, base_url=cfg.base_url, on_request=budget.call_hook())


# Every spending app's config is the shared ``Credentials`` with its own options added.
ConfigT = TypeVar("ConfigT", bound=Credentials)


class Wired(NamedTuple, Generic[ConfigT]):
    """What every spending app starts from: its options, its budget, its counted client, its publisher."""

    cfg: ConfigT
    budget: Budget
    client: ApsystemsClient
    publisher: Publisher


def wire_app(app: Hass, parse: Callable[[], ConfigT], label: str) -> Wired[ConfigT]:
    """Parse an app's arguments, find its budget, build its counted client and the publisher its
    ``publish`` asks for; a bad value is logged (naming it) and raised."""
    client: ApsystemsClient | None = None
    try:
        cfg = parse()
        budget = find_budget(app, cfg.budget)
        client = budget_client(cfg, budget, app.name)
        publisher = publisher_for(app, label)
    except ValueError as exc:
        if client is not None:  # the publish options were wrong: nothing else will close it
            client.close()
        app.log(f"Configuration error: {exc}", level="ERROR")
        raise
    return Wired(cfg, budget, client, publisher)


_owners: dict[str, str] = {}
_owners_lock = threading.Lock()


def claim_app_id(app_id: str, app_name: str) -> None:
    """Register ``app_name`` as the budget of ``app_id`` in this process; ValueError if another has it."""
    with _owners_lock:
        owner = _owners.get(app_id)
        if owner is not None and owner != app_name:
            raise ValueError(
                f"budget apps {owner!r} and {app_name!r} have the same app_id: one App ID has one quota, so keep"
                f" one budget app per App ID (see the README, 'Several systems on one account')"
            )
        _owners[app_id] = app_name


def release_app_id(app_id: str, app_name: str) -> None:
    with _owners_lock:
        if _owners.get(app_id) == app_name:
            del _owners[app_id]
