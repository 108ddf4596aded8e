"""``python -m fakes.apsystems_cloud``: run the fake cloud until Ctrl-C (offline demo, e2e suite)."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import threading

from .clock import FakeClock, parse_datetime
from .presets import DEFAULT_APP_ID, DEFAULT_APP_SECRET, PRESETS, preset
from .quota import DEFAULT_MONTHLY_QUOTA
from .server import FakeCloud
from .site import SiteSpec
from .state import Options


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m fakes.apsystems_cloud",
        description="A fake APsystems OpenAPI cloud on 127.0.0.1 (control endpoints under /_fake).",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=9282, help="port (0 = any free port; default 9282)")
    p.add_argument("--site", default="demo", help=f"{' | '.join(PRESETS)} | path/to/site.json (default demo)")
    p.add_argument("--app-id", default=DEFAULT_APP_ID)
    p.add_argument("--app-secret", default=DEFAULT_APP_SECRET)
    p.add_argument("--speed", type=float, default=None, help="run the fake clock N times faster than real time")
    p.add_argument("--start", default=None, help="fake start time, ISO 8601 with offset (default: now)")
    p.add_argument("--fixed", action="store_true", help="freeze the clock at --start (or now)")
    p.add_argument("--seed", type=int, default=None, help="override the site's weather/noise seed")
    p.add_argument("--quota", type=int, default=DEFAULT_MONTHLY_QUOTA, help="monthly calls per App ID")
    p.add_argument("--gap-rate", type=float, default=None, help="fraction of 5-minute points missing")
    p.add_argument("--upload-interval", type=int, default=None, help="ECU upload interval in minutes (0 = none)")
    p.add_argument("--skew-tolerance", type=float, default=None, help="reject timestamps further off (seconds)")
    p.add_argument("--reject-replayed-nonces", action="store_true")
    p.add_argument("--octet-stream", action="store_true", help="serve JSON as application/octet-stream")
    p.add_argument("--fault-seed", type=int, default=0)
    return p


def make_cloud(args: argparse.Namespace) -> FakeCloud:
    site: SiteSpec = preset(args.site)
    changes: dict[str, object] = {}
    if args.seed is not None:
        changes["seed"] = args.seed
    if args.gap_rate is not None:
        changes["gap_rate"] = args.gap_rate
    if args.upload_interval is not None:
        changes["upload_interval_min"] = args.upload_interval
    if changes:
        site = dataclasses.replace(site, **changes)  # type: ignore[arg-type]
    clock = FakeClock()
    start = parse_datetime(args.start) if args.start else None
    if args.fixed:
        clock.set_fixed(start or clock.now())
    elif args.speed is not None:
        clock.set_speed(args.speed, start)
    elif start is not None:
        clock.set_offset(start.timestamp() - clock.timestamp())
    return FakeCloud(
        site,
        {args.app_id: args.app_secret},
        host=args.host,
        port=args.port,
        clock=clock,
        quota_limit=args.quota,
        skew_tolerance_s=args.skew_tolerance,
        reject_replayed_nonces=args.reject_replayed_nonces,
        fault_seed=args.fault_seed,
        options=Options(octet_stream=args.octet_stream),
    )


def describe(cloud: FakeCloud) -> str:
    site = cloud.site
    lines = [
        f"Fake APsystems cloud at {cloud.url}",
        f"  base_url:   {cloud.url}",
        f"  app_id:     {cloud.app_id}",
        f"  app_secret: {cloud.app_secret}",
        f"  sid:        {site.sid}  ({site.timezone}, {site.latitude}, {site.longitude})",
        f"  ecus:       {', '.join(e.listed_id for e in site.ecus)}",
        f"  inverters:  {sum(1 for _, i in site.all_inverters() if i.listed)}",
        f"  clock:      {cloud.clock.mode} {cloud.clock.now().isoformat()}",
        f"  control:    {cloud.url}/_fake/state",
        "Press Ctrl-C to stop.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None, stop: threading.Event | None = None) -> int:
    """Run until Ctrl-C (or until ``stop`` is set, for tests). Returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        cloud = make_cloud(args)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        cloud.start()
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    print(describe(cloud), flush=True)
    threading.Thread(target=cloud.prewarm, name="fake-apsystems-prewarm", daemon=True).start()
    waiter = stop or threading.Event()
    try:
        while not waiter.wait(0.5):
            pass
    except KeyboardInterrupt:
        print("\nstopping", flush=True)
    finally:
        cloud.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
