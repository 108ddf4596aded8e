"""The inverter app's entities through a recording publisher: removals (inverters, ECUs) and attribute sizes."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from apsystems.api.records import EcuDevices, InverterInfo, parse_ecu_ref
from apsystems.common.entities import Entity
from apsystems.inverters.entities import ecu_entity, entity_ids
from apsystems.inverters.scan import adopt_site, apply_scan
from apsystems.inverters.sensors import InverterSensors
from apsystems.inverters.site_store import SiteInfo
from apsystems.inverters.store import InverterStore
from apsystems.inverters.telemetry import SourceData

SID = "B0XD123A3BHJ"
ECU1, ECU2 = "216000000101", "216000000102"
BERLIN = ZoneInfo("Europe/Berlin")
DAY = date(2026, 6, 21)
NOW = "2026-06-21T12:00:00+02:00"


class RecordingPublisher:
    """A ``Publisher`` that remembers what is in Home Assistant: entity id -> (state, attributes)."""

    def __init__(self) -> None:
        self.entities: dict[str, tuple[Any, dict[str, Any]]] = {}
        self.removed: list[str] = []

    def button(self, entity: Entity, on_press: Callable[[], None]) -> None:
        pass

    def publish(self, entity: Entity, state: Any, attributes: Mapping[str, Any] | None = None) -> None:
        self.entities[entity.entity_id] = (state, dict(attributes or {}))

    def remove(self, entity_id: str) -> None:
        self.entities.pop(entity_id, None)
        self.removed.append(entity_id)


def inv(uid: str, ecu: str = ECU1, model: str = "DS3") -> InverterInfo:
    return InverterInfo(uid, model, parse_ecu_ref(ecu))


def site(*inverters: InverterInfo) -> SiteInfo:
    by_ecu: dict[str, list[InverterInfo]] = {}
    for i in inverters:
        by_ecu.setdefault(i.ecu.raw, []).append(i)
    devices = tuple(EcuDevices(parse_ecu_ref(e), 0, "Europe/Berlin", tuple(v)) for e, v in by_ecu.items())
    return SiteInfo(SID, "Europe/Berlin", 3.0, (), devices, "2026-06-01T00:00:00")


class Fixture:
    """The app's side of it: adopt a site (removing the orphans), then publish, as the app does."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.publisher = RecordingPublisher()
        self.lines: list[str] = []
        self.store = InverterStore(path, SID)
        self.sensors = InverterSensors(self.publisher, SID, self.store, self.lines.append)

    def adopt(self, found: SiteInfo) -> SiteInfo:
        adoption = adopt_site(found, self.store, self.lines.append)
        for uid in adoption.orphans:
            self.sensors.remove_inverter(uid)
        self.store.save()
        self.sensors.publish(adoption.site, BERLIN)
        return adoption.site

    def restarted(self) -> Fixture:
        """The app after a restart: the same store file and what HA holds, nothing else in memory."""
        again = Fixture(self.path)
        again.publisher = self.publisher
        again.sensors = InverterSensors(self.publisher, SID, again.store, again.lines.append)
        return again


@pytest.fixture
def app(tmp_path: Path) -> Fixture:
    return Fixture(tmp_path / "inverters.json")


def ecu_id(eid: str) -> str:
    return ecu_entity(eid, SID).entity_id


def test_ecu_sensor_counts_its_inverters(app: Fixture) -> None:
    app.adopt(site(inv("1"), inv("2"), inv("3", ECU2)))
    assert app.publisher.entities[ecu_id(ECU1)] == (2, {"inverters": ["1", "2"]})
    assert app.publisher.entities[ecu_id(ECU2)] == (1, {"inverters": ["3"]})
    assert app.publisher.removed == []


def test_an_ecu_whose_inverters_all_disappear_loses_its_sensor(app: Fixture) -> None:
    before = app.adopt(site(inv("1"), inv("2"), inv("3", ECU2)))
    result = apply_scan(before, site(inv("1"), inv("2")).devices, NOW)
    for gone in result.removed:
        app.sensors.remove_inverter(gone.uid)
    app.adopt(result.site)
    assert ecu_id(ECU2) not in app.publisher.entities and ecu_id(ECU2) in app.publisher.removed
    assert set(entity_ids("3", "DS3", 2)) <= set(app.publisher.removed)
    assert app.publisher.entities[ecu_id(ECU1)] == (2, {"inverters": ["1", "2"]})
    assert any(f"ECU {ECU2}" in line for line in app.lines)


def test_an_ecu_gone_while_the_app_was_stopped_loses_its_sensor(app: Fixture) -> None:
    app.adopt(site(inv("1"), inv("3", ECU2)))
    later = app.restarted()
    later.adopt(site(inv("1")))  # the site file no longer lists ECU2's inverter
    assert ecu_id(ECU2) in later.publisher.removed and ecu_id(ECU2) not in later.publisher.entities
    assert "3" not in later.store.records


def test_an_inverter_moving_to_another_ecu_leaves_the_empty_one(app: Fixture) -> None:
    app.adopt(site(inv("1"), inv("2", ECU2)))
    app.adopt(site(inv("1"), inv("2", ECU1)))
    assert app.publisher.removed == [ecu_id(ECU2)]  # the inverter keeps its entities
    assert app.publisher.entities[ecu_id(ECU1)] == (2, {"inverters": ["1", "2"]})


def test_nothing_is_removed_on_an_empty_list(app: Fixture) -> None:
    before = app.adopt(site(inv("1"), inv("3", ECU2)))
    held = dict(app.publisher.entities)
    assert not apply_scan(before, (), NOW).accepted  # a scan refuses it already
    app.adopt(site())  # and a site without a single inverter (the site file) removes nothing either
    assert app.publisher.removed == []
    assert app.publisher.entities == held
    assert set(app.store.records) == {"1", "3"}


def test_removed_inverter_without_published_entities_goes_by_its_stored_model(app: Fixture) -> None:
    app.store.record("9").model = "QS1"  # from before a restart: nothing published in this run
    app.sensors.remove_inverter("9")
    assert app.publisher.removed == entity_ids("9", "QS1", 4)
    assert "9" not in app.store.records
    assert app.lines == ["Removed inverter 9 and its 16 entities"]


def detail(watts: float, points: int) -> SourceData:
    times = tuple(f"{h:02d}:{m:02d}" for h in range(24) for m in range(0, 60, 5))[:points]
    series = tuple(watts for _ in times)
    return SourceData("detail", DAY, times, ac_power=series, dc_power={1: series, 2: series})


def test_largest_attributes_are_tracked(app: Fixture) -> None:
    found = site(inv("1"), inv("2"))
    app.adopt(found)
    app.store.record("1").detail = detail(100.0, 12)
    app.store.record("2").detail = detail(100.0, 200)
    summary = app.sensors.publish(found, BERLIN)
    sizes = {e: len(json.dumps(attrs).encode()) for e, (_, attrs) in app.publisher.entities.items()}
    biggest = max(sizes, key=lambda e: sizes[e])
    assert summary.largest == app.sensors.largest_attributes == (sizes[biggest], biggest)
    assert biggest == "sensor.apsystems_inverter_2_power"
    assert summary.entities == 2 * len(entity_ids("1", "DS3", 2))
    assert summary.report() == (
        f"Published {summary.entities} inverter entities; largest attributes {sizes[biggest]} bytes ({biggest})"
    )

    # publishing a few inverters keeps the largest seen; a full publish measures afresh
    partial = app.sensors.publish(found, BERLIN, ["1"])
    assert partial.largest == summary.largest and partial.report() is None
    app.store.record("2").detail = detail(100.0, 12)
    again = app.sensors.publish(found, BERLIN)
    assert again.largest[0] < summary.largest[0]
