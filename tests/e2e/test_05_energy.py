"""Home Assistant's own Energy dashboard check accepts the lifetime energy sensor as solar production.

``energy/validate`` reports ``statistics_not_defined`` until the recorder has compiled
statistics for the sensor once. The recorder compiles the previous five minutes at every
five-minute mark plus 10 s (UTC minute 0, 5, 10, ... second 10; see ``recorder/core.py``), and
no API command triggers a compile. It compiles only sensors that are in HA's state machine at
that moment: after an HA restart the compile of the missed periods runs before AppDaemon has
re-published anything, so the restart tests move ``entities_published_at`` on. So this module
runs last: by then the other modules have used most of the wait, and the test polls
``energy/validate`` until the first compile after the entities were last published (at most
about 5.5 minutes after the restart tests, which run in the suite's second minute).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.e2e.conftest import Session
from tests.e2e.homeassistant import HomeAssistant
from tests.e2e.processes import wait_for

pytestmark = pytest.mark.e2e

COMPILE_SECOND = 10
SLACK_S = 30


def first_compile_after(moment: datetime) -> datetime:
    """The recorder's first statistics run whose period includes ``moment``."""
    moment = moment.astimezone(timezone.utc)  # the recorder's marks are UTC minutes
    period_start = moment.replace(minute=moment.minute - moment.minute % 5, second=0, microsecond=0)
    return period_start + timedelta(minutes=5, seconds=COMPILE_SECOND)


def validate_solar_source(hass: HomeAssistant, entity_id: str, published_at: datetime) -> None:
    """``entity_id`` as the solar source; ``energy/validate`` must accept it after the first compile
    following ``published_at`` (when HA last gained the entity)."""
    source = {"type": "solar", "stat_energy_from": entity_id, "config_entry_solar_forecast": None}
    hass.ws({"type": "energy/save_prefs", "energy_sources": [source]})
    assert hass.ws({"type": "energy/get_prefs"})[0]["energy_sources"] == [source]

    deadline = first_compile_after(published_at) + timedelta(seconds=SLACK_S)
    timeout = max(30.0, (deadline - datetime.now().astimezone()).total_seconds())
    seen: list[object] = []

    def validated() -> bool:
        issues = hass.ws({"type": "energy/validate"})[0]["energy_sources"][0]
        seen[:] = [issues]
        return not issues

    wait_for(
        f"energy/validate to report no issue for {entity_id}",
        validated,
        timeout=timeout,
        interval=5,
        context=lambda: f"last energy/validate issues: {seen}",
    )
    assert hass.ws({"type": "recorder/validate_statistics"})[0] == {}


@pytest.mark.timeout(600)
def test_energy_validation_has_no_issue_once_statistics_exist(session: Session) -> None:
    hass = session.hass
    entity_id = f"{session.expected.prefix}_total_energy"
    validate_solar_source(hass, entity_id, session.entities_published_at)
    statistic_ids = hass.ws({"type": "recorder/list_statistic_ids", "statistic_type": "sum"})[0]
    ours = {item["statistic_id"]: item for item in statistic_ids}
    for suffix in ("total_energy", "today_energy", "month_energy", "year_energy"):
        item = ours[f"{session.expected.prefix}_{suffix}"]
        assert item["statistics_unit_of_measurement"] == "kWh"
        assert item["has_sum"] is True
    metadata = hass.ws({"type": "recorder/get_statistics_metadata", "statistic_ids": [entity_id]})[0]
    assert [item["statistic_id"] for item in metadata] == [entity_id], "compiled statistics exist"
