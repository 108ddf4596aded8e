"""When the production loop wakes next: the budget's next poll, the window's edges, midnight.

The production app and the year simulation both call ``seconds_to_next``, so the simulated
polls happen at the instants the app's polls happen.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Protocol

from apsystems.budget.core import OPEN_GRACE_S
from apsystems.budget.solar_window import SolarWindow
from apsystems.common.months import localize

MIN_DELAY_S = 5
MAX_SLEEP_S = 3600
MIDNIGHT_GRACE_S = 5


class PollTimes(Protocol):
    """What the loop needs from the budget."""

    def solar_window(self, now: datetime) -> SolarWindow: ...
    def next_window_open(self, now: datetime) -> datetime | None: ...
    def next_poll(self) -> datetime | None: ...


def seconds_to_next(now: datetime, budget: PollTimes, tz: tzinfo) -> float:
    """Seconds until the loop should run again (at least ``MIN_DELAY_S``)."""
    local = now.astimezone(tz)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time())
    candidates = [
        localize(midnight, tz) + timedelta(seconds=MIDNIGHT_GRACE_S),
        now + timedelta(seconds=MAX_SLEEP_S),
    ]
    window = budget.solar_window(now)
    if window.contains(now):
        following = budget.next_poll()
        if following is not None:
            candidates.append(following)
        if window.end is not None:
            candidates.append(window.end + timedelta(seconds=MIN_DELAY_S))
    else:
        opening = budget.next_window_open(now)
        if opening is not None:
            candidates.append(opening + timedelta(seconds=OPEN_GRACE_S))
    return max(MIN_DELAY_S, (min(candidates) - now).total_seconds())
