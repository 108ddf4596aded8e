"""``python -m apsystems plan``: what the quota buys at a site, month by month, before installing.

A formula can only estimate one month; the quota is spent poll by poll over a year whose
days change length. So the planner replays the year through the same budget logic the apps
use (``apsystems.budget.simulation``) for both the reference integration's static interval and our
adaptive plan, and prints what each would send and how old the data would be. The reference
is shown with its latitude sign bug fixed, and also as published, because south of the
equator the published formula overruns the quota in summer while its own estimate says it
fits.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TextIO, TypeVar

from apsystems.budget.pacing import QUOTA_LIMITS, BudgetSettings, Fleet
from apsystems.budget.simulation import MonthFigures, Scenario, YearFigures, simulate_adaptive, simulate_static
from apsystems.budget.solar_window import Site
from apsystems.budget.static_interval import (
    SUNRISE_OFFSET_H,
    StaticEstimate,
    calls_for_window,
    longest_day_hours,
    static_interval,
)
from apsystems.common.months import zone

EXIT_OK = 0
EXIT_USAGE = 2
YEAR_LIMITS = (1900, 2200)
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


Number = TypeVar("Number", int, float)


def _bounded(name: str, read: Callable[[str], Number], what: str, low: Number, high: Number) -> Any:
    """An argparse type for a number in [low, high]; argparse names the flag, the message the value."""
    limits = f"{low:g} to {high:g}" if isinstance(low, float) else f"{low} to {high}"

    def parse(text: str) -> Number:
        try:
            value = read(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} {text!r} is not {what}") from None
        if not math.isfinite(value) or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{name} {text} must be from {limits}")
        return value

    return parse


def _number(name: str, low: float, high: float) -> Any:
    return _bounded(name, float, "a number", low, high)


def _integer(name: str, low: int, high: int) -> Any:
    return _bounded(name, int, "a whole number", low, high)


def _time_zone(text: str) -> str:
    """An IANA zone name, checked now so that a typo fails before a year is simulated."""
    try:
        zone(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"time zone {text!r} is not an IANA time zone (e.g. Europe/London)") from None
    return text


def zone_for_longitude(longitude: float) -> str:
    """The whole-hour UTC offset zone nearest the longitude (``Etc/GMT-1`` is UTC+1: POSIX signs).

    Good enough for sun times and month boundaries when the user gives no zone; it has no
    daylight saving, so local clock times may be an hour off in summer.
    """
    offset = math.floor(longitude / 15.0 + 0.5)
    return f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT"


def add_plan_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register ``plan`` with its options; validation happens in the argparse types (exit code 2)."""
    plan = subparsers.add_parser(
        "plan",
        help="compare the reference's static interval with our adaptive plan, month by month (no API calls)",
        description="What the API quota buys at a site, month by month: the reference integration's static "
        "interval against our adaptive plan, replayed over a year with the apps' own budget logic. "
        "Spends no API calls.",
    )
    plan.add_argument("--lat", required=True, type=_number("latitude", -90.0, 90.0), help="latitude, -90 to 90")
    plan.add_argument(
        "--lon", default=0.0, type=_number("longitude", -180.0, 180.0), help="longitude, -180 to 180 (default 0)"
    )
    plan.add_argument(
        "--tz", type=_time_zone, default=None, help="IANA time zone (default: the UTC offset zone of the longitude)"
    )
    plan.add_argument("--inverters", required=True, type=_integer("inverters", 0, 10_000), help="micro-inverters")
    plan.add_argument("--ecus", default=1, type=_integer("ecus", 0, 1_000), help="ECUs (default 1)")
    plan.add_argument("--meters", default=0, type=_integer("meters", 0, 100), help="APsystems meters (default 0)")
    plan.add_argument(
        "--storage", default=0, type=_integer("storage", 0, 100), help="batteries on storage ECUs (default 0)"
    )
    plan.add_argument(
        "--quota", default=1000, type=_integer("quota", *QUOTA_LIMITS), help="API calls a month (default 1000)"
    )
    plan.add_argument(
        "--year", default=None, type=_integer("year", *YEAR_LIMITS), help="year to simulate (default: this year)"
    )
    plan.add_argument("--json", action="store_true", help="print JSON instead of a table")
    plan.add_argument(
        "--plot", type=Path, default=None, metavar="FILE", help="also draw calls and data age by month (matplotlib)"
    )
    return plan


@dataclass(frozen=True)
class PlanReport:
    """Everything the table and the JSON show, computed once."""

    scenario: Scenario
    reference: StaticEstimate
    reference_unfixed: StaticEstimate
    unfixed_real_monthly: float
    static: YearFigures
    static_unfixed: YearFigures
    adaptive: YearFigures


def build_report(scenario: Scenario) -> PlanReport:
    """Replay the year three ways: ours, the reference fixed, the reference as published."""
    site, fleet, quota = scenario.site, scenario.fleet, scenario.settings.quota
    reference = static_interval(site.latitude, fleet.inverters, fleet.ecus, quota=quota)
    unfixed = static_interval(site.latitude, fleet.inverters, fleet.ecus, quota=quota, fix_latitude_sign=False)
    # What the published interval really costs in the longest month: the real longest day, not its mirror image.
    real_window = longest_day_hours(site.latitude) - SUNRISE_OFFSET_H
    return PlanReport(
        scenario=scenario,
        reference=reference,
        reference_unfixed=unfixed,
        unfixed_real_monthly=calls_for_window(real_window, unfixed.interval_s, unfixed.fixed_daily_calls),
        static=simulate_static(scenario),
        static_unfixed=simulate_static(scenario, fix_latitude_sign=False),
        adaptive=simulate_adaptive(scenario),
    )


def run_plan(args: argparse.Namespace, out: TextIO) -> int:
    """Run ``plan`` for parsed arguments; a bad value that slipped past argparse still exits 2."""
    try:
        year = args.year if args.year is not None else date.today().year
        site = Site(args.lat, args.lon, args.tz or zone_for_longitude(args.lon))
        settings = BudgetSettings(quota=args.quota)
        fleet = Fleet(args.inverters, args.ecus, meters=args.meters, storages=args.storage)
        scenario = Scenario(site, fleet, year, settings=settings)
        report = build_report(scenario)
    except ValueError as exc:
        print(f"python -m apsystems plan: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if getattr(args, "plot", None) is not None:
        from apsystems.cli.plan_plot import PlotUnavailableError, plot_report  # noqa: PLC0415 - matplotlib only for --plot

        try:
            plot_report(report, args.plot)
        except (PlotUnavailableError, OSError) as exc:
            print(f"python -m apsystems plan: error: --plot {args.plot}: {exc}", file=sys.stderr)
            return EXIT_USAGE
    if args.json:
        json.dump(report_json(report), out, indent=2)
        out.write("\n")
    else:
        out.write(report_table(report, tz_from_longitude=args.tz is None))
    return EXIT_OK


def _method(figures: MonthFigures) -> dict[str, Any]:
    return {
        "solar_hours": round(figures.solar_hours, 2),
        "calls": figures.calls,
        "share": round(figures.share, 4),
        "over_quota": figures.over_quota,
        "polls": figures.polls,
        "fixed_calls": figures.fixed_calls,
        "mean_interval_s": round(figures.mean_interval_s, 1),
        "mean_age_s": round(figures.mean_age_s, 1),
    }


def _year(figures: YearFigures) -> dict[str, Any]:
    return {
        "calls": sum(m.calls for m in figures.months),
        "max_calls": figures.max_calls,
        "months_over_quota": sum(m.over_quota for m in figures.months),
        "mean_age_s": round(figures.mean_age_s, 1),
    }


def _estimate(estimate: StaticEstimate) -> dict[str, Any]:
    return {
        "interval_s": estimate.interval_s,
        "monthly_calls_estimate": estimate.monthly_calls_rounded,
        "latitude_sign_fixed": estimate.latitude_sign_fixed,
        "log_line": estimate.log_line(),
    }


def report_json(report: PlanReport) -> dict[str, Any]:
    """The JSON document: per month ``static``, ``adaptive`` and ``static_unfixed`` (the sign bug)."""
    scenario = report.scenario
    unfixed = _estimate(report.reference_unfixed)
    unfixed["monthly_calls_real"] = round(report.unfixed_real_monthly)
    return {
        "quota": scenario.settings.quota,
        "year": scenario.year,
        "site": {
            "latitude": scenario.site.latitude,
            "longitude": scenario.site.longitude,
            "time_zone": scenario.site.time_zone,
        },
        "fleet": {
            "inverters": scenario.fleet.inverters,
            "ecus": scenario.fleet.ecus,
            "meters": scenario.fleet.meters,
            "storages": scenario.fleet.storages,
        },
        "reference": _estimate(report.reference),
        "reference_unfixed": unfixed,
        "months": [
            {
                "month": a.month,
                "solar_hours": round(a.solar_hours, 2),
                "static": _method(s),
                "adaptive": _method(a),
                "static_unfixed": _method(u),
            }
            for a, s, u in zip(report.adaptive.months, report.static.months, report.static_unfixed.months, strict=True)
        ],
        "year_totals": {
            "static": _year(report.static),
            "adaptive": _year(report.adaptive),
            "static_unfixed": _year(report.static_unfixed),
        },
    }


def _cell(figures: MonthFigures) -> str:
    """One method's month: calls (! when over the quota), share, mean interval, mean data age."""
    flag = "!" if figures.over_quota else " "
    interval = f"{figures.mean_interval_s:6.0f} s" if figures.polls else f"{'-':>6}  "
    age = f"{figures.mean_age_s / 60:6.1f} min" if figures.solar_hours else f"{'-':>6}    "
    return f"{figures.calls:5d}{flag}{figures.share:6.1%} {interval} {age}"


def _year_cell(figures: YearFigures) -> str:
    return f"{sum(m.calls for m in figures.months):5d}{'':15} {figures.mean_age_s / 60:6.1f} min"


def _household(fleet: Fleet) -> str:
    """The meters and batteries in the fleet line (nothing for an inverters-only site)."""
    if not fleet.meters and not fleet.storages:
        return ""
    return f", {fleet.meters} meter(s), {fleet.storages} battery(ies) (read with every poll and at night)"


def report_table(report: PlanReport, *, tz_from_longitude: bool = False) -> str:
    """The human-readable plan: estimate lines, twelve months, year totals, what the columns mean."""
    scenario, ref, bug = report.scenario, report.reference, report.reference_unfixed
    site, fleet, quota = scenario.site, scenario.fleet, scenario.settings.quota
    southern = site.latitude < 0
    zone_note = " (from the longitude, no DST; pass --tz for yours)" if tz_from_longitude else ""
    lines = [
        f"Site: lat {site.latitude:g}, lon {site.longitude:g}, time zone {site.time_zone}{zone_note}",
        f"Fleet: {fleet.inverters} inverter(s), {fleet.ecus} ECU(s){_household(fleet)};"
        f" quota {quota} calls/month; year {scenario.year}",
        f"Reference static interval (latitude sign fixed): {ref.interval_s} s ({ref.interval_s / 60:g} min),"
        f" est. {ref.monthly_calls_rounded} calls/month",
    ]
    if southern:
        verdict = "over" if report.unfixed_real_monthly > quota else "within"
        lines.append(
            f"Reference as published (latitude sign bug): {bug.interval_s} s ({bug.interval_s / 60:g} min),"
            f" est. {bug.monthly_calls_rounded} calls/month, but the real summer days need"
            f" {report.unfixed_real_monthly:.0f} ({verdict} the quota)"
        )
    width = len(_cell(report.static.months[0]))
    titles = ["reference: static, sign fixed".ljust(width), "ours: adaptive".ljust(width)]
    heads = ["calls  share interval   data age".rjust(width)] * 2
    if southern:
        titles.append("sign bug")
        heads.append("   calls")
    lines += ["", "      solar | " + " | ".join(titles), "month hours | " + " | ".join(heads)]
    months = zip(report.adaptive.months, report.static.months, report.static_unfixed.months, strict=True)
    for a, s, u in months:
        bug_cell = f" | {u.calls:8d}{'!' if u.over_quota else ''}" if southern else ""
        lines.append(f"{MONTHS[a.month - 1]:5} {a.solar_hours:5.0f} | {_cell(s)} | {_cell(a)}{bug_cell}")
    bug_total = f" | {sum(m.calls for m in report.static_unfixed.months):8d}" if southern else ""
    year_hours = sum(m.solar_hours for m in report.adaptive.months)
    lines.append(f"year  {year_hours:5.0f} | {_year_cell(report.static)} | {_year_cell(report.adaptive)}{bug_total}")
    ratio = report.adaptive.mean_age_s / report.static.mean_age_s if report.static.mean_age_s else 0.0
    busiest = f"most calls in a month: ours {report.adaptive.max_calls}, reference {report.static.max_calls}"
    if southern:
        busiest += f", reference as published {report.static_unfixed.max_calls}"
    lines += [
        "",
        f"Our data are {ratio:.2f} times as old as the reference's over the year's solar hours; {busiest}.",
    ]
    if not southern:
        lines.append("The reference's latitude sign bug only matters south of the equator; here it changes nothing.")
    lines += [
        "solar hours: sunrise + 30 min to sunset + 30 min (the reference polls until sunset only).",
        "data age: time since the last poll, averaged over the solar hours. interval: mean planned interval.",
        "! = over the quota: the API answers 2005 and sends no data until the month rolls over.",
    ]
    return "".join(line.rstrip() + "\n" for line in lines)
