"""A year of polling at several latitudes: the adaptive plan against the reference's static interval.

Run as ``.venv/bin/python -m benchmarks.budget_year``. By default it is issue #3's benchmark:
the product's own budget core and production loop timing over every day of the year, 5% of
calls failing (still counted), 20 manual refreshes a month, at latitudes 64, 51.5, 0, -33.9
and -45, for 6 inverters/1 ECU and 30 inverters/3 ECUs, and the 3-ECU site again with
``poll_source: ecu`` (a poll costs one call per ECU) (about 20 s). ``--all-sites`` runs every site and
fleet below instead; ``--latitudes``, ``--fleets``, ``--failure-rate`` and
``--manual-per-month`` change one dimension. Prints, per scenario and month, the calls used,
the share of the quota, the mean planned interval and the mean age of the data in the solar
window; exits 1 if any adaptive month exceeds the quota (the one promise that must never
break; the reference's static months may, and are marked with "!").

This is a benchmark, not a test: tests/unit/test_plan_cli.py runs one reduced scenario.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from apsystems.budget.pacing import BudgetSettings, Fleet, PollSource
from apsystems.budget.simulation import Scenario, YearFigures, simulate_adaptive, simulate_static
from apsystems.budget.solar_window import Site

# A real place near each latitude, so that time zones and DST are realistic.
SITES: dict[float, Site] = {
    65.0: Site(65.0, 25.47, "Europe/Helsinki"),
    64.0: Site(64.0, -21.94, "Atlantic/Reykjavik"),
    51.5: Site(51.5, -0.12, "Europe/London"),
    45.0: Site(45.0, 7.68, "Europe/Rome"),
    0.0: Site(0.0, 32.58, "Africa/Kampala"),
    -33.9: Site(-33.9, 18.42, "Africa/Johannesburg"),
    -35.0: Site(-35.0, 138.6, "Australia/Adelaide"),
    -45.0: Site(-45.0, 170.5, "Pacific/Auckland"),
}
FLEETS = ((6, 1), (20, 1), (30, 3))
# Issue #3's benchmark, the default.
ISSUE_LATITUDES = (64.0, 51.5, 0.0, -33.9, -45.0)
ISSUE_FLEETS = ((6, 1), (30, 3))
# Also by default: the 3-ECU site polled per ECU (poll_source: ecu), where a poll costs 3 calls.
ECU_SOURCE_FLEET = (30, 3)
ISSUE_FAILURE_RATE = 0.05
ISSUE_MANUAL_PER_MONTH = 20
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Result:
    adaptive: YearFigures
    static: YearFigures
    static_unfixed: YearFigures | None


DEFAULT_HISTORY_BACKLOG = 44  # a system installed 420 days ago: 14 months of daily values, 30 days hourly


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:5.1f}m"


def print_scenario(result: Result) -> None:
    adaptive, static = result.adaptive, result.static
    scenario = adaptive.scenario
    quota = scenario.settings.quota
    print(
        f"\n== {scenario.label}{history_note(scenario)} ({scenario.site.time_zone}) — quota {quota};"
        f" adaptive {adaptive.interval_note}"
        f" vs reference {static.interval_note}"
    )
    print(
        " month solar_h |  calls  share polls fixed  hist manual refused interval  age   |"
        " static calls  share  age   | data age ratio"
    )
    for a, s in zip(adaptive.months, static.months, strict=True):
        ratio = a.mean_age_s / s.mean_age_s if s.mean_age_s else 0.0
        if a.all_at_min_interval:
            flag = "  <- min_interval all month"
        elif a.min_interval_s == scenario.settings.min_interval_s:
            flag = "  <- min_interval at times"
        else:
            flag = ""
        over = " OVER" if a.over_quota else ""
        static_over = "!" if s.over_quota else " "
        print(
            f" {MONTHS[a.month - 1]:>5} {a.solar_hours:7.1f} | {a.calls:6d} {a.share:6.1%} {a.polls:5d}"
            f" {a.fixed_calls:5d} {a.history_calls:5d} {a.manual_calls:6d} {a.refused:7d} {a.mean_interval_s:7.0f}s"
            f" {_minutes(a.mean_age_s)} |"
            f" {s.calls:11d}{static_over} {s.share:6.1%} {_minutes(s.mean_age_s)} | {ratio:5.2f}{over}{flag}"
        )
    ratio = adaptive.mean_age_s / static.mean_age_s if static.mean_age_s else 0.0
    print(
        f"  year         | max {adaptive.max_calls} calls, min share {adaptive.min_share:.1%},"
        f" mean age {adaptive.mean_age_s / 60:.1f} min | static max {static.max_calls},"
        f" mean age {static.mean_age_s / 60:.1f} min | {ratio:5.2f}"
    )
    if result.static_unfixed is not None:
        unfixed = result.static_unfixed
        print(
            f"  reference with its latitude sign bug: {unfixed.interval_note}, max {unfixed.max_calls} calls/month"
            f" ({'over' if unfixed.max_calls > quota else 'within'} the quota)"
        )


def history_note(scenario: Scenario) -> str:
    if not scenario.history:
        return ""
    return f", energy history (backfill of {scenario.history_backlog} calls)"


def print_summary(results: Sequence[Result]) -> None:
    print("\n== Summary (adaptive never above the quota; 'exempt' months hit min_interval: polls as fast as allowed)")
    print(
        " scenario                                      | adaptive max  min share (non-exempt)  age   |"
        " static max  age   | ratio | sign-bug max"
    )
    for r in results:
        a, s = r.adaptive, r.static
        floor = a.scenario.settings.min_interval_s
        counted = [m.share for m in a.months if m.min_interval_s != floor]
        min_share = f"{min(counted):6.1%}" if counted else "   n/a"
        exempt = sum(m.min_interval_s == floor for m in a.months)
        bug = f"{r.static_unfixed.max_calls:6d}" if r.static_unfixed is not None else "     -"
        ratio = a.mean_age_s / s.mean_age_s if s.mean_age_s else 0.0
        print(
            f" {a.scenario.label:45} | {a.max_calls:12d}  {min_share} ({exempt} exempt)      "
            f" {_minutes(a.mean_age_s)} | {s.max_calls:10d} {_minutes(s.mean_age_s)} | {ratio:5.2f} | {bug}"
        )


def _fleets(text: str) -> list[tuple[int, int]]:
    pairs = []
    for item in text.split(","):
        inverters, _, ecus = item.partition("/")
        pairs.append((int(inverters), int(ecus or 1)))
    return pairs


def _site(text: str) -> Site | None:
    try:
        return SITES.get(float(text))
    except ValueError:
        return None


def _joined(values: Sequence[float]) -> str:
    return ",".join(f"{v:g}" for v in values)


def _joined_fleets(fleets: Sequence[tuple[int, int]]) -> str:
    return ",".join(f"{i}/{e}" for i, e in fleets)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--year", type=int, default=2027)
    parser.add_argument("--quota", type=int, default=1000)
    parser.add_argument(
        "--latitudes",
        default=None,
        help=f"comma-separated, from {_joined(list(SITES))} (default: {_joined(ISSUE_LATITUDES)})",
    )
    parser.add_argument("--fleets", default=None, help=f"inverters/ECUs,… (default: {_joined_fleets(ISSUE_FLEETS)})")
    parser.add_argument(
        "--all-sites",
        action="store_true",
        help=f"every site and fleet: {_joined(list(SITES))} × {_joined_fleets(FLEETS)}",
    )
    parser.add_argument(
        "--source",
        choices=[s.value for s in PollSource],
        default=None,
        help="poll source of every scenario (default: system, plus the 30/3 fleet polled per ECU)",
    )
    parser.add_argument(
        "--failure-rate",
        type=float,
        default=ISSUE_FAILURE_RATE,
        help=f"share of calls that fail, still counted (default {ISSUE_FAILURE_RATE:g})",
    )
    parser.add_argument(
        "--manual-per-month",
        type=int,
        default=ISSUE_MANUAL_PER_MONTH,
        help=f"manual actions a month (default {ISSUE_MANUAL_PER_MONTH})",
    )
    parser.add_argument("--manual-cost", type=int, default=1, help="calls one manual action spends")
    parser.add_argument("--meters", type=int, default=0, help="APsystems meters on every site (default 0)")
    parser.add_argument("--storage", type=int, default=0, help="batteries (storage ECUs) on every site (default 0)")
    parser.add_argument(
        "--night-interval", type=int, default=3600, help="seconds between night reads of meters and batteries"
    )
    parser.add_argument(
        "--history",
        action="store_true",
        help="run the energy history app too (its evening calls and a backfill waiting on 1 January)",
    )
    parser.add_argument(
        "--history-backlog",
        type=int,
        default=DEFAULT_HISTORY_BACKLOG,
        help=f"backfill calls waiting with --history (default {DEFAULT_HISTORY_BACKLOG}: 14 months and 30 days)",
    )
    parser.add_argument("--summary-only", action="store_true")
    parser.add_argument(
        "--issue-scenario",
        action="store_true",
        help="issue #3's benchmark exactly (the default), overriding the other scenario options",
    )
    args = parser.parse_args(argv)
    if args.issue_scenario:
        args.failure_rate, args.manual_per_month, args.manual_cost = ISSUE_FAILURE_RATE, ISSUE_MANUAL_PER_MONTH, 1
        args.latitudes, args.fleets, args.all_sites = None, None, False
    if args.latitudes is None:
        args.latitudes = _joined(list(SITES) if args.all_sites else ISSUE_LATITUDES)
    if args.fleets is None:
        args.fleets = _joined_fleets(FLEETS if args.all_sites else ISSUE_FLEETS)
    unknown = [text for text in args.latitudes.split(",") if _site(text) is None]
    if unknown:
        parser.error(f"--latitudes {','.join(unknown)}: no site there; choose from {_joined(list(SITES))}")

    runs = [(fleet, PollSource(args.source or PollSource.SYSTEM.value)) for fleet in _fleets(args.fleets)]
    if args.source is None and ECU_SOURCE_FLEET in [fleet for fleet, _ in runs]:
        runs.append((ECU_SOURCE_FLEET, PollSource.ECU))
    started = time.perf_counter()
    results: list[Result] = []
    for lat_text in args.latitudes.split(","):
        site = SITES[float(lat_text)]
        for (inverters, ecus), source in runs:
            scenario = Scenario(
                site=site,
                fleet=Fleet(inverters, ecus, meters=args.meters, storages=args.storage),
                year=args.year,
                settings=BudgetSettings(quota=args.quota, poll_source=source, night_interval_s=args.night_interval),
                failure_rate=args.failure_rate,
                manual_per_month=args.manual_per_month,
                manual_cost=args.manual_cost,
                history=args.history,
                history_backlog=args.history_backlog if args.history else 0,
            )
            unfixed = simulate_static(scenario, fix_latitude_sign=False) if site.latitude < 0 else None
            result = Result(simulate_adaptive(scenario), simulate_static(scenario), unfixed)
            results.append(result)
            if not args.summary_only:
                print_scenario(result)
    print_summary(results)
    over = [(r.adaptive.scenario.label, m.month) for r in results for m in r.adaptive.months if m.over_quota]
    print(
        f"\n{len(results)} scenarios in {time.perf_counter() - started:.1f} s; adaptive months over quota: {len(over)}"
    )
    if over:
        print("OVER QUOTA:", over)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
