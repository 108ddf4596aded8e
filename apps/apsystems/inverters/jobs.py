"""When the inverter app's jobs run, and whether an extra batch poll fits the budget.

``detail_time`` and ``batch_time`` are the *system's* local times (the time zone EMA reports
for the ECU), not AppDaemon's: 12:30 means the panels' midday even when AppDaemon runs in
another zone. AppDaemon's ``run_daily`` would use AppDaemon's zone, so the app computes the
next run here and arms a one-shot timer, re-armed after every run.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo

from apsystems.budget.pacing import Plan

# An extra batch poll must leave at least this many extra batches' worth of the projected
# month-end surplus unspent: it only ever uses quota that would otherwise go unused.
EXTRA_BATCH_MARGIN = 2


def local_day(now: datetime, tz: tzinfo) -> date:
    return now.astimezone(tz).date()


def _at(day: date, at: time, tz: tzinfo) -> datetime:
    return datetime.combine(day, at.replace(tzinfo=None), tzinfo=tz)


def next_daily_run(now: datetime, at: time, tz: tzinfo, *, done_today: bool) -> datetime:
    """The next ``at`` (system-local) after ``now``; tomorrow's when today's has been done."""
    day = local_day(now, tz)
    candidate = _at(day, at, tz)
    if done_today or candidate <= now:
        candidate = _at(day + timedelta(days=1), at, tz)
    return candidate


def missed_today(now: datetime, at: time, tz: tzinfo, done_day: str | None) -> bool:
    """Today's run time has passed and the job has not run today (AppDaemon was down)."""
    day = local_day(now, tz)
    return done_day != day.isoformat() and now >= _at(day, at, tz)


def run_soon(now: datetime, at: time, tz: tzinfo, done_day: str | None, *, early_first_run: bool) -> bool:
    """Run the job shortly instead of at ``at``: today's run was missed, or (``early_first_run``)
    the job has never run at all.

    The inverter app asks for an early first detail only in the solar window: a fresh
    install then shows values within a minute. It costs nothing extra: the budget plans
    today's detail calls anyway, and once they are spent today's ``detail_time`` is skipped.
    """
    return missed_today(now, at, tz, done_day) or (early_first_run and done_day is None)


def next_job_run(
    now: datetime,
    at: time,
    tz: tzinfo,
    done_day: str | None,
    *,
    early_first_run: bool,
    site_known: bool,
    catch_up_s: float,
) -> datetime:
    """When a daily job runs next: ``catch_up_s`` from now when it is due early (and the site is
    known), else its next ``at``."""
    if site_known and run_soon(now, at, tz, done_day, early_first_run=early_first_run):
        return now + timedelta(seconds=catch_up_s)
    return next_daily_run(now, at, tz, done_today=done_day == local_day(now, tz).isoformat())


def extra_batch_room(plan: Plan, cost: int) -> tuple[bool, str]:
    """May an extra batch poll of ``cost`` calls be sent? Only from the projected surplus.

    The budget projects the month's calls (used + fixed jobs + production polls at the
    planned interval). What lies between that projection and the quota minus the reserve
    would go unused; an extra batch may take from it, keeping ``EXTRA_BATCH_MARGIN`` batches'
    worth. It never shortens production polling: with a tight quota there is no surplus.
    """
    if plan.over_quota or plan.polls_stop_early or plan.paused:
        return False, "the month's quota is already fully planned"
    spare = plan.quota - plan.reserve - plan.projected_month_calls
    if spare < EXTRA_BATCH_MARGIN * cost:
        return False, f"only {max(0, spare)} call(s) to spare this month"
    return True, f"{spare} call(s) to spare this month"
