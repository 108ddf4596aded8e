"""The statistic book: running sums, the anchor row, the re-import watermark, persistence."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from apsystems.history.book import HOUR, StatisticBook, StatisticRow, hour_start

T0 = datetime(2026, 6, 1, 5, tzinfo=timezone.utc)
SID = "apsystems:az12649a3dff_solar_energy"


def hours(*values: int, first: datetime = T0) -> dict[datetime, int]:
    return {first + i * HOUR: v for i, v in enumerate(values)}


class FakeRecorder:
    """What Home Assistant keeps: one sum per start; an import replaces rows with equal starts."""

    def __init__(self) -> None:
        self.sums: dict[datetime, float] = {}

    def import_rows(self, rows: list[StatisticRow]) -> None:
        for row in rows:
            self.sums[row.start] = row.as_ha()["sum"]

    def changes(self) -> list[float]:
        ordered = [self.sums[k] for k in sorted(self.sums)]
        return [b - a for a, b in zip([0.0, *ordered], ordered, strict=False)]


def test_rows_carry_a_running_sum_after_a_zero_anchor() -> None:
    book = StatisticBook(SID)
    book.set_hours(hours(100, 250, 0, 40))
    rows = book.rows()
    assert [r.start for r in rows] == [T0 - HOUR + i * HOUR for i in range(5)]
    assert [r.sum_wh for r in rows] == [0, 100, 350, 350, 390]
    assert rows[1].as_ha() == {"start": "2026-06-01T05:00:00+00:00", "sum": 0.1}


def test_an_earlier_hour_gets_its_own_anchor_and_the_old_one_stays_a_zero_row() -> None:
    book = StatisticBook(SID)
    book.set_hours(hours(100))
    book.set_hours(hours(70, first=T0 - 5 * HOUR))
    starts = [r.start for r in book.rows()]
    assert starts == [T0 - 6 * HOUR, T0 - 5 * HOUR, T0 - HOUR, T0]
    assert [r.sum_wh for r in book.rows()] == [0, 70, 70, 170]


def test_due_rows_start_at_the_first_changed_hour() -> None:
    book = StatisticBook(SID)
    book.set_hours(hours(1, 2, 3, 4, 5))
    book.mark_imported(book.due_rows())
    assert book.due_rows() == []
    assert book.clean_through == T0 + 4 * HOUR
    assert book.set_hours(hours(3, first=T0 + 2 * HOUR)) == []  # same value: nothing due
    assert book.due_rows() == []
    assert book.set_hours(hours(9, first=T0 + 2 * HOUR)) == [T0 + 2 * HOUR]
    due = book.due_rows()
    assert [r.start for r in due] == [T0 + 2 * HOUR, T0 + 3 * HOUR, T0 + 4 * HOUR]
    assert [r.sum_wh for r in due] == [12, 16, 21]


def test_rows_outdated_while_importing_stay_due() -> None:
    book = StatisticBook(SID)
    book.set_hours(hours(1, 2, 3))
    sent = book.due_rows()
    book.set_hours(hours(5, first=T0 + HOUR))  # arrives while the import is on its way
    book.mark_imported(sent)
    assert book.clean_through == T0  # the anchor and the first hour still hold
    assert [r.sum_wh for r in book.due_rows()] == [6, 9]


def test_a_partial_acceptance_never_skips_a_row() -> None:
    book = StatisticBook(SID)
    book.set_hours(hours(1, 2, 3))
    rows = book.due_rows()
    book.mark_imported([rows[0], rows[2]])
    assert book.clean_through == rows[0].start
    assert book.due_rows() == rows[1:]


def test_random_corrections_never_leave_a_negative_change_in_the_recorder() -> None:
    rng = random.Random(7)
    book = StatisticBook(SID)
    recorder = FakeRecorder()
    for _ in range(300):
        first = T0 + rng.randrange(-200, 200) * HOUR
        book.set_hours(hours(*(rng.randrange(0, 900) for _ in range(rng.randrange(1, 30))), first=first))
        due = book.due_rows()
        recorder.import_rows(due)
        book.mark_imported(due)
        assert min(recorder.changes()) >= 0
        assert recorder.sums == {r.start: r.sum_wh / 1000 for r in book.rows()}
    assert book.due_rows() == []


def test_negative_or_fractional_energy_is_refused() -> None:
    book = StatisticBook(SID)
    with pytest.raises(ValueError, match="whole Wh"):
        book.set_hours({T0: -1})
    with pytest.raises(ValueError, match="whole Wh"):
        book.set_hours({T0: 1.5})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="no time zone"):
        book.set_hours({datetime(2026, 6, 1, 5): 1})


def test_json_round_trip_and_bad_files() -> None:
    book = StatisticBook(SID)
    book.set_hours(hours(1, 2, 3))
    book.mark_imported(book.due_rows()[:2])
    again = StatisticBook.from_json(SID, book.to_json())
    assert again.rows() == book.rows()
    assert again.clean_through == book.clean_through
    with pytest.raises(ValueError, match="not 'apsystems:other'"):
        StatisticBook.from_json("apsystems:other", book.to_json())
    with pytest.raises(ValueError, match="whole Wh"):
        StatisticBook.from_json(SID, book.to_json() | {"changes": {"1780290000": "3"}})
    with pytest.raises(ValueError, match="time zone"):
        StatisticBook.from_json(SID, book.to_json() | {"clean_through": "2026-06-01T05:00:00"})


def test_hour_start_truncates_to_utc_hours() -> None:
    local = datetime(2026, 6, 1, 7, 59, tzinfo=timezone(timedelta(hours=2)))
    assert hour_start(local) == T0
