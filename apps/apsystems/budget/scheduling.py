"""When to poll next, so that the Energy dashboard's hourly bars come out right.

HA files a lifetime sensor's increase under the clock hour in which the state changed, and
the cloud only knows what the ECU uploaded (every 15 minutes, at the quarter hours). The
last poll of an hour therefore decides which energy lands in that hour: a poll just after
the hh:45 upload closes the hour with only a quarter of an hour's shift. So when the planned
interval is an hour or less, the next poll comes at the planned interval or at the next
hh:48, whichever is first. The budget planner sees every extra call and lengthens the
following intervals, so the month stays within quota.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

HOUR_S = 3600
# The ECU's last upload of the hour is at hh:45; three minutes later it is in the cloud.
CLOSING_MINUTE = 48
# Two polls closer than this return nearly the same data; the closing mark is then skipped.
MIN_GAP_S = 600


def next_poll_at(last: datetime, interval_s: float, *, tz: tzinfo) -> datetime:
    """The next poll after one at ``last``, given the planned interval."""
    nominal = last + timedelta(seconds=interval_s)
    if interval_s > HOUR_S:
        return nominal
    local = last.astimezone(tz)
    mark = local.replace(minute=CLOSING_MINUTE, second=0, microsecond=0)
    while mark <= local or (mark - local).total_seconds() < MIN_GAP_S:
        mark += timedelta(hours=1)
    return min(nominal, mark)
