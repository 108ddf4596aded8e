"""The history file survives restarts; a broken one is set aside and the history starts over."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from apsystems.history.book import StatisticBook
from apsystems.history.metadata import solar_statistic_id
from apsystems.history.series import SolarHistory
from apsystems.history.store import history_file, load_history, save_history

TZ = ZoneInfo("Europe/Berlin")
STAT = solar_statistic_id("AZ12649A3DFF")


def test_saved_history_comes_back_with_its_watermark(tmp_path: Path) -> None:
    path = history_file(tmp_path, STAT)
    assert path.name == "history_apsystems_az12649a3dff_solar_energy.json"
    series = SolarHistory(StatisticBook(STAT), TZ)
    series.apply_hourly(date(2026, 6, 1), [0.5] * 24, complete=True)
    series.book.mark_imported(series.book.due_rows())
    save_history(path, series)
    again = load_history(path, STAT, TZ)
    assert again.book.rows() == series.book.rows() and again.book.due_rows() == []
    assert again.days == {date(2026, 6, 1): "hourly"}


def test_missing_file_is_an_empty_history(tmp_path: Path) -> None:
    assert load_history(history_file(tmp_path, STAT), STAT, TZ).book.rows() == []


def test_a_broken_or_foreign_file_is_set_aside(tmp_path: Path) -> None:
    path = history_file(tmp_path, STAT)
    path.write_text("{not json", encoding="utf-8")
    assert load_history(path, STAT, TZ).days == {}
    assert (tmp_path / f"{path.name}.corrupt.1").exists()
    other = SolarHistory(StatisticBook("apsystems:other_solar_energy"), TZ)
    path.write_text(json.dumps(other.to_json()), encoding="utf-8")
    assert load_history(path, STAT, TZ).days == {}
    assert (tmp_path / f"{path.name}.corrupt.2").exists()
