"""From the ledger's problems to a persistent notification, and from the last published count to a floor.

Pure: the budget app passes its notifier and the state AppDaemon gives back for its sensor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from apsystems.budget.ledger import LedgerProblem, ProblemCallback

LEDGER_NOTICE_ID = "apsystems_ledger"
_TITLES = {
    "restored": "APsystems: API-call ledger repaired",
    "unverified": "APsystems: API-call count unknown, calls stopped",
    "write_failed": "APsystems: API-call ledger cannot be written",
}
_ADVICE = {
    "restored": " Nothing is lost: the larger count of the copies was kept. The damaged copy was set aside.",
    "unverified": (
        " The damaged copies were set aside (`.corrupt.<n>` next to the ledger). Calls resume when a probe"
        " call shows the quota is not used up."
    ),
    "write_failed": " Free some disk space or fix the folder's permissions; this goes away once it is written again.",
}


def ledger_notice(problem: LedgerProblem) -> tuple[str, str] | None:
    """``(title, message)`` for a problem worth a notification; None for a recovery."""
    title = _TITLES.get(problem.kind)
    if title is None:
        return None
    return title, problem.message + _ADVICE.get(problem.kind, "")


def ledger_problem_handler(create: Callable[[str, str, str], None], dismiss: Callable[[str], None]) -> ProblemCallback:
    """An ``on_problem`` callback raising (or, on recovery, dismissing) one persistent notification."""

    def handle(problem: LedgerProblem) -> None:
        notice = ledger_notice(problem)
        if notice is None:
            dismiss(LEDGER_NOTICE_ID)
        else:
            create(LEDGER_NOTICE_ID, *notice)

    return handle


def published_floor(state: Mapping[str, Any] | None, month: str) -> int | None:
    """The call count last published for ``month`` (the sensor's state), or None when unknown."""
    if not isinstance(state, Mapping):
        return None
    attributes = state.get("attributes")
    if not isinstance(attributes, Mapping) or attributes.get("month") != month:
        return None
    raw = state.get("state")
    if isinstance(raw, bool):
        return None
    try:
        value = int(str(raw))
    except ValueError:
        return None
    return value if value >= 0 else None
