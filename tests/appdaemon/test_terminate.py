"""``terminate()`` is safe after a failed ``initialize()`` (AppDaemon calls it on every stop)."""

from __future__ import annotations

import pytest

from apsystems.budget_app import BudgetApp
from apsystems.history_app import HistoryApp
from apsystems.household_app import HouseholdApp
from apsystems.inverters_app import InvertersApp
from apsystems.production_app import ProductionApp

pytestmark = pytest.mark.appdaemon


@pytest.mark.parametrize("app_class", [BudgetApp, ProductionApp, InvertersApp, HouseholdApp, HistoryApp])
def test_terminate_without_initialize(app_class: type) -> None:
    # What a failed initialize() leaves: none of its attributes.
    app: BudgetApp | ProductionApp | InvertersApp | HouseholdApp | HistoryApp = object.__new__(app_class)
    app.terminate()
