"""Ledger problems as one persistent notification; the last published count as a floor."""

from __future__ import annotations

from pathlib import Path

from apsystems.budget.ledger import CallLedger, LedgerProblem
from apsystems.budget.ledger_alerts import LEDGER_NOTICE_ID, ledger_notice, ledger_problem_handler, published_floor


def test_problems_raise_and_recovery_dismisses_one_notification(tmp_path: Path) -> None:
    created: list[tuple[str, str, str]] = []
    dismissed: list[str] = []
    handler = ledger_problem_handler(lambda *args: created.append(args), dismissed.append)
    path = tmp_path / "api_calls.json"
    path.write_bytes(b"\0" * 10)
    CallLedger(path, "UTC", on_problem=handler)
    assert [(c[0], c[1]) for c in created] == [(LEDGER_NOTICE_ID, "APsystems: API-call count unknown, calls stopped")]
    assert "api_calls.json" in created[0][2] and "set aside" in created[0][2]
    handler(LedgerProblem("write_recovered", "written again"))
    assert dismissed == [LEDGER_NOTICE_ID]
    assert ledger_notice(LedgerProblem("write_failed", "disk full")) is not None


def test_published_floor_only_for_the_same_month() -> None:
    state = {"state": "950", "attributes": {"month": "2027-03"}}
    assert published_floor(state, "2027-03") == 950
    assert published_floor(state, "2027-04") is None
    assert published_floor({"state": "unavailable", "attributes": {"month": "2027-03"}}, "2027-03") is None
    assert published_floor({"state": True, "attributes": {"month": "2027-03"}}, "2027-03") is None
    assert published_floor(None, "2027-03") is None
