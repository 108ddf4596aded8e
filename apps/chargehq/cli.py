"""``python -m chargehq push-once``: test a Charge HQ API key by hand with one push.

The payload goes through the same code as the app's (so the equation check and the schema are
the same), and the key is redacted from everything printed. Exit codes: 0 accepted (2xx),
1 refused (non-2xx), 2 usage error, 3 network error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import TextIO

from chargehq.config import DEFAULT_ENDPOINT
from chargehq.errors import redact
from chargehq.payload import build_push
from chargehq.sender import CONNECT_TIMEOUT_S, READ_TIMEOUT_S, Sender, utc_now
from chargehq.sources import Reading, SourceResult

API_KEY_ENV = "CHARGEHQ_API_KEY"
EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_NETWORK = 3

_VALUE_OPTIONS = {
    "production": "production_kw",
    "consumption": "consumption_kw",
    "net_import": "net_import_kw",
    "battery_discharge": "battery_discharge_kw",
    "battery_soc": "battery_soc",
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (separate so that tests and ``--help`` see the same thing)."""
    parser = argparse.ArgumentParser(prog="python -m chargehq", description="Charge HQ Push API tools.")
    commands = parser.add_subparsers(dest="command", required=True)
    push = commands.add_parser(
        "push-once",
        help="send one push and print Charge HQ's answer",
        description=(
            "Send one SiteMeterPush and print the HTTP status and body. Values are kW (net import: positive "
            "= import, negative = export). The key may come from the environment variable "
            f"{API_KEY_ENV}, which keeps it out of the shell history and the process list."
        ),
    )
    push.add_argument("--api-key", help=f"Charge HQ API key (default: ${API_KEY_ENV})")
    push.add_argument("--production-kw", type=float, required=True, help="solar production, kW")
    push.add_argument("--consumption-kw", type=float, help="site consumption, kW")
    push.add_argument("--net-import-kw", type=float, help="grid import, kW (negative = export)")
    push.add_argument("--battery-discharge-kw", type=float, help="battery discharge, kW (negative = charging)")
    push.add_argument("--battery-soc", type=float, help="battery state of charge as a fraction, 0..1")
    push.add_argument("--endpoint", default=DEFAULT_ENDPOINT, help=f"push URL (default: {DEFAULT_ENDPOINT})")
    push.add_argument("--connect-timeout", type=float, default=CONNECT_TIMEOUT_S, help=argparse.SUPPRESS)
    push.add_argument("--read-timeout", type=float, default=READ_TIMEOUT_S, help=argparse.SUPPRESS)
    return parser


def push_once(args: argparse.Namespace, api_key: str, out: TextIO, err: TextIO) -> int:
    """Build, send, print; returns the exit code."""
    now = utc_now()
    results: dict[str, SourceResult] = {}
    for name in _VALUE_OPTIONS:
        value = getattr(args, f"{name}_kw" if name != "battery_soc" else name)
        if value is not None:
            results[name] = Reading(name, float(value), now, max_age_s=60.0)
    plan = build_push(results, now=now)
    if plan.equation_ok is False:
        print(
            f"warning: consumption - (production + net import + battery) = {plan.equation_residual_kw:+.3f} kW; "
            "Charge HQ accepts this but will show an error",
            file=err,
        )
    print("payload: " + json.dumps({"apiKey": "<redacted>", **plan.body()}), file=out)
    try:
        sender = Sender(
            api_key,
            endpoint=args.endpoint,
            connect_timeout_s=args.connect_timeout,
            read_timeout_s=args.read_timeout,
        )
    except ValueError as error:
        print(f"error: {redact(str(error), api_key)}", file=err)
        return EXIT_USAGE
    try:
        outcome = sender.push(plan.body())
    finally:
        sender.close()
    if outcome.http_status is None:
        print(f"network error: {outcome.error}", file=err)
        return EXIT_NETWORK
    print(f"HTTP {outcome.http_status}", file=out)
    print(outcome.body, file=out)
    return EXIT_OK if outcome.accepted else EXIT_REFUSED


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Entry point of ``python -m chargehq``."""
    stdout = out if out is not None else sys.stdout
    stderr = err if err is not None else sys.stderr
    args = build_parser().parse_args(argv)
    api_key = args.api_key or os.environ.get(API_KEY_ENV, "")
    if not api_key.strip():
        print(f"error: no API key: pass --api-key or set {API_KEY_ENV}", file=stderr)
        return EXIT_USAGE
    return push_once(args, api_key.strip(), stdout, stderr)
