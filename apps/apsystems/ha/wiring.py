"""How the APsystems apps that spend API calls find the budget app and build their client."""

from __future__ import annotations

from typing import Protocol, cast

from appdaemon.plugins.hass.hassapi import Hass

from apsystems.api.client import ApsystemsClient
from apsystems.budget_app import BudgetApp


class Credentials(Protocol):
    @property
    def app_id(self) -> str: ...
    @property
    def app_secret(self) -> str: ...
    @property
    def base_url(self) -> str: ...


def find_budget(app: Hass, name: str) -> BudgetApp:
    """The running budget app called ``name``; a clear error when it is not running."""
    budget = app.get_app(name)
    if budget is None:
        raise ValueError(
            f"budget app {name!r} is not running: add it to apps.yaml and list it under this app's dependencies"
        )
    return cast(BudgetApp, budget)


def budget_client(cfg: Credentials, budget: BudgetApp) -> ApsystemsClient:
    """A client whose every request is counted by the budget's ledger."""
    return ApsystemsClient(cfg.app_id, cfg.app_secret, base_url=cfg.base_url, on_request=budget.call_hook())
