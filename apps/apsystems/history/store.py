"""The history's file: what was imported, so a restart continues where it stopped.

An unusable file is set aside and the history starts empty: the backfill then reads the
cloud again and re-imports every row with the same sums (Home Assistant replaces rows with
equal starts), so nothing is counted twice.
"""

from __future__ import annotations

import logging
from datetime import tzinfo
from pathlib import Path

from apsystems.common.json_file import load_json_object, set_aside, write_json_atomic
from apsystems.history.book import StatisticBook
from apsystems.history.series import SolarHistory

_LOGGER = logging.getLogger(__name__)


def history_file(folder: Path, statistic_id: str) -> Path:
    return folder / f"history_{statistic_id.replace(':', '_')}.json"


def load_history(path: Path, statistic_id: str, tz: tzinfo) -> SolarHistory:
    data, problem = load_json_object(path)
    if data is not None:
        try:
            return SolarHistory.from_json(statistic_id, tz, data)
        except (ValueError, TypeError, KeyError) as exc:
            set_aside(path, str(exc))
            problem = str(exc)
    if problem is not None:
        _LOGGER.warning("History file %s was unusable (%s): importing the history again", path, problem)
    return SolarHistory(StatisticBook(statistic_id), tz)


def save_history(path: Path, history: SolarHistory) -> None:
    write_json_atomic(path, history.to_json())
