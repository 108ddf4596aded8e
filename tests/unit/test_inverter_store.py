"""The inverter app's state file: last values and job days survive a restart."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from apsystems.inverters.store import InverterStore
from apsystems.inverters.telemetry import Latest, SourceData

DAY = date(2026, 6, 21)


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "inverters_x.json"
    store = InverterStore(path, "SID1")
    rec = store.record("703000001001")
    rec.model, rec.ecu_id = "DS3", "216000000101"
    rec.detail = SourceData(
        "detail",
        DAY,
        ("12:00", "12:05"),
        ac_power=(300.0, None),
        dc_power={1: (150.0, 151.5), 2: (None, 140.0)},
        readings={"temperature": Latest(39.0, "12:05")},
    )
    rec.batch = SourceData("batch", DAY, ("23:00",), dc_power={1: (0.0,), 2: (0.0,)})
    store.jobs["detail"] = DAY.isoformat()
    store.save()

    again = InverterStore(path, "sid1")
    assert again.jobs == {"detail": "2026-06-21"}
    back = again.records["703000001001"]
    assert back == rec


def test_other_system_or_corrupt_file_starts_afresh(tmp_path: Path) -> None:
    path = tmp_path / "inverters_x.json"
    store = InverterStore(path, "SID1")
    store.record("1").model = "DS3"
    store.save()
    assert InverterStore(path, "OTHER").records == {}
    path.write_text("{not json", encoding="utf-8")
    assert InverterStore(path, "SID1").records == {}


def test_bad_reading_is_dropped_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "inverters_x.json"
    path.write_text(
        '{"sid": "S", "inverters": {"1": {"model": "DS3", "detail": {"source": "nonsense", "day": "x"}}}}',
        encoding="utf-8",
    )
    store = InverterStore(path, "S")
    assert store.records["1"].model == "DS3" and store.records["1"].detail is None


def test_forget(tmp_path: Path) -> None:
    store = InverterStore(tmp_path / "f.json", "S")
    store.record("1")
    store.record("2")
    store.forget(["1", "3"])
    assert list(store.records) == ["2"]
