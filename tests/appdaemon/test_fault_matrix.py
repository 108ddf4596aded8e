"""Issue 10's fault matrix in a real AppDaemon: every row counted >= sent, sane values, no escape, no 10 s callback."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.fault_matrix import CALLBACK_LIMIT_S, FAULTS, run_matrix, table

pytestmark = pytest.mark.appdaemon


async def test_every_fault_of_the_matrix_is_survived(tmp_path: Path) -> None:
    rows = await run_matrix(list(FAULTS), tmp_path)
    report = table(rows)
    print(report)  # the figures, with -s
    assert len(rows) == len(FAULTS)
    for row in rows:
        assert row.counted >= row.sent, report
        assert row.plausible, report
        assert row.escaped == 0, report
        assert row.longest_s < CALLBACK_LIMIT_S, report
    healthy = rows[0]
    assert healthy.fault == "none" and healthy.lifetime is not None and healthy.sent > 0, report
