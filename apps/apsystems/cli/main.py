"""Command line: check credentials against the API, plan the API budget, or run the fake cloud by hand.

``check`` spends four API calls (details, summary, hourly, inverter list) and says in plain
words what it found, or what to fix. Secrets may come from the environment so that they
stay out of shell history.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from datetime import date, datetime
from typing import TextIO

from apsystems.api.check import run_check
from apsystems.api.client import DEFAULT_BASE_URL, ApsystemsClient
from apsystems.cli.plan import add_plan_parser, run_plan

ENV_APP_ID = "APS_APP_ID"
ENV_APP_SECRET = "APS_APP_SECRET"  # noqa: S105 - the name of a variable, not a secret
ENV_SID = "APS_SID"
ENV_BASE_URL = "APS_BASE_URL"

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_API = 4


def _parse_day(text: str) -> date:
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise argparse.ArgumentTypeError(f"--date {text!r} is not a date like 2025-06-21") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m apsystems", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="check APsystems OpenAPI credentials (spends 4 API calls)")
    check.add_argument("--app-id", default=os.environ.get(ENV_APP_ID), help=f"App ID (or ${ENV_APP_ID})")
    check.add_argument(
        "--app-secret", default=os.environ.get(ENV_APP_SECRET), help=f"App Secret (or ${ENV_APP_SECRET})"
    )
    check.add_argument("--sid", default=os.environ.get(ENV_SID), help=f"system id (or ${ENV_SID})")
    check.add_argument("--base-url", default=os.environ.get(ENV_BASE_URL, DEFAULT_BASE_URL))
    check.add_argument("--date", type=_parse_day, default=None, help="day for hourly energy (default: today)")
    simulate = commands.add_parser("simulate", help="run the fake APsystems cloud (from a source checkout)")
    simulate.add_argument("rest", nargs=argparse.REMAINDER, help="options for the simulator, e.g. --port 9282")
    add_plan_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    stream = out or sys.stdout
    words = list(sys.argv[1:] if argv is None else argv)
    if words[:1] == ["simulate"]:  # its options are the simulator's own (argparse.REMAINDER drops "--port")
        return _simulate(words[1:])
    args = build_parser().parse_args(words)
    if args.command == "plan":
        return run_plan(args, stream)
    missing = [
        flag
        for flag, value in (("--app-id", args.app_id), ("--app-secret", args.app_secret), ("--sid", args.sid))
        if not value
    ]
    if missing:
        print(
            f"Missing {', '.join(missing)} (or the environment variables {ENV_APP_ID}, {ENV_APP_SECRET}, {ENV_SID}).",
            file=stream,
        )
        return EXIT_USAGE
    try:
        client = ApsystemsClient(args.app_id, args.app_secret, base_url=args.base_url)
    except ValueError as exc:
        print(f"Configuration error: {exc}", file=stream)
        return EXIT_USAGE
    try:
        return _check(client, args.sid, args.date, stream)
    finally:
        client.close()


def _check(client: ApsystemsClient, sid: str, day: date | None, out: TextIO) -> int:
    report = run_check(client, sid, day)
    print(report.text, file=out)
    if report.ok:
        return EXIT_OK
    return EXIT_AUTH if report.auth_failed else EXIT_API


def _simulate(argv: Sequence[str]) -> int:
    """Run the fake cloud; it is a development tool, so it is imported only when asked for."""
    try:
        simulator = importlib.import_module("fakes.apsystems_cloud.__main__")
    except ImportError:
        print(
            "The simulator lives in the source repository (fakes/); run this from the repository root "
            "with PYTHONPATH=apps.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    return int(simulator.main(list(argv)))
