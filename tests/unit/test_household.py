"""Meter and battery logic without a network: sign, gaps, bad values, lifetime counters, entities."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from apsystems.api.records import EcuDevices, MeterMinutely, MeterTotals, StorageLatest, StorageMinutely, parse_ecu_ref
from apsystems.household.entities import METER_KINDS, STORAGE_KINDS, meter_entities, storage_entities, storage_states
from apsystems.household.lifetime import LifetimeCounter
from apsystems.household.readings import grid_sign, measured_at, meter_reading, storage_reading
from apsystems.household.store import HouseholdStore, found_devices
from apsystems.inverters.site_store import SiteInfo

TZ = ZoneInfo("Europe/London")
DAY = date(2026, 6, 15)
TOTALS = MeterTotals(consumed=5.0, exported=0.5, imported=3.0, produced=2.5)


def minutely(ie: list[float | None], imported: list[float], exported: list[float]) -> MeterMinutely:
    n = len(ie)
    return MeterMinutely(
        today=TOTALS,
        times=tuple(f"12:{5 * i:02d}" for i in range(n)),
        power_w={"consumed": (400.0,) * n, "imported_exported": tuple(ie), "produced": (100.0,) * n},
        energy_kwh={"imported": tuple(imported), "exported": tuple(exported)},
    )


def test_sign_follows_the_energies() -> None:
    assert grid_sign(minutely([300.0, -200.0], [0.025, 0.0], [0.0, 0.017])) == 1
    assert grid_sign(minutely([-300.0, 200.0], [0.025, 0.0], [0.0, 0.017])) == -1
    assert grid_sign(minutely([0.0], [0.0], [0.0])) == 1  # no evidence: import positive


def test_a_flipped_meter_still_publishes_import_positive() -> None:
    reading = meter_reading(minutely([-300.0], [0.025], [0.0]), DAY, TZ)
    assert reading is not None and reading.grid_w == 300.0


def test_the_newest_complete_point_is_the_reading() -> None:
    reading = meter_reading(minutely([300.0, None], [0.025, 0.0], [0.0, 0.0]), DAY, TZ)
    assert reading is not None and reading.at.strftime("%H:%M") == "12:00"
    assert meter_reading(minutely([], [], []), DAY, TZ) is None


def test_negative_or_missing_totals_give_no_reading() -> None:
    bad = MeterMinutely(MeterTotals(None, 0.0, 1.0, 0.0), ("12:00",), minutely([1.0], [0.1], [0.0]).power_w, {})
    assert meter_reading(bad, DAY, TZ) is None


def test_labels() -> None:
    at = measured_at(DAY, "23:57", TZ)
    assert at is not None and at.utcoffset() is not None and at.hour == 23
    assert measured_at(DAY, "noon", TZ) is None and measured_at(DAY, None, TZ) is None


def test_unknown_storage_mode_keeps_its_raw_value() -> None:
    flows = StorageMinutely(today={"charge": 1.0, "discharge": 2.0}, times=())
    values: dict[str, float | None] = {"charge": 0.0, "discharge": 394.4}
    reading = storage_reading(StorageLatest(4, 97.0, "23:57", values), flows, DAY, TZ)
    assert reading is not None and reading.mode_name == "4"
    assert storage_states(reading, {"charge": 10.0, "discharge": 9.0})["mode"] == "4"
    assert storage_reading(StorageLatest(1, 140.0, "23:57", values), flows, DAY, TZ) is None


def test_lifetime_never_decreases_and_survives_a_restart() -> None:
    counter = LifetimeCounter(("imported",))
    counter.seed(DAY, {"imported": 100.0}, {"imported": 2.0})
    assert counter.observe(DAY, {"imported": 3.0}) == {"imported": 101.0}
    assert counter.observe(DAY, {"imported": 2.5}) == {"imported": 101.0}  # a dip is ignored
    restored = LifetimeCounter.from_json(("imported",), counter.to_json())
    assert restored.observe(date(2026, 6, 16), {"imported": 0.4}) == {"imported": 101.4}
    assert restored.observe(DAY, {"imported": 9.0}) == {"imported": 101.4}  # a stale day changes nothing
    garbage = LifetimeCounter.from_json(("imported",), {"day": "x", "closed": {"imported": -5}, "today": []})
    assert garbage.day is None and garbage.closed == {}


def test_entity_ids_units_and_classes() -> None:
    meter = meter_entities("215000004402")
    assert meter["grid_power"].entity_id == "sensor.apsystems_meter_215000004402_grid_power"
    assert len(meter) == len(METER_KINDS) == 9
    assert {meter[k].state_class for k in ("imported_lifetime", "exported_lifetime")} == {"total_increasing"}
    assert meter["imported_lifetime"].unit == "kWh" and meter["imported_lifetime"].device_class == "energy"
    battery = storage_entities("215000004403")
    assert len(battery) == len(STORAGE_KINDS) == 8
    assert battery["soc"].unit == "%" and battery["soc"].device_class == "battery"
    assert battery["mode"].unit is None and battery["mode"].state_class is None


def test_devices_found_and_kept_on_disk(tmp_path: Path) -> None:
    def ecu(eid: str, kind: int, model: str | None = None) -> EcuDevices:
        return EcuDevices(ecu=parse_ecu_ref(eid), ecu_type=kind, timezone=None, inverters=(), model=model)

    site = SiteInfo("S", "UTC", None, (), (ecu("1", 0), ecu("2", 1), ecu("3", 2, "ELS-5K")), "now")
    found = found_devices(site, ["4"])
    assert found == {"4": ("meter", None), "2": ("meter", None), "3": ("storage", "ELS-5K")}
    store = HouseholdStore(tmp_path / "household.json")
    assert store.adopt(found) == (["4", "2", "3"], [])
    store.devices["3"].counter.observe(DAY, {"charge": 1.5, "discharge": 0.5})
    store.devices["3"].states = {"soc": 55}
    store.save()
    again = HouseholdStore(tmp_path / "household.json")
    assert again.discovered and again.devices["3"].model == "ELS-5K" and again.devices["3"].states == {"soc": 55}
    assert again.devices["3"].counter.published == {"charge": 1.5, "discharge": 0.5}
    assert again.adopt({"3": ("storage", "ELS-5K")}) == ([], ["2", "4"])  # a rescan removes what is gone
    assert [d.eid for d in again.storages()] == ["3"] and again.meters() == []
