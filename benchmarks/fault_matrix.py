"""Fault matrix: every fault of the fail-safe issue against the real apps in a real AppDaemon 4.5.13.

For each fault the fake cloud answers every request that way while the production app polls
three times and the inverters app scans and refreshes. The table shows, per fault: the calls
the cloud received, the calls the budget counted, the values published (lifetime, power), the
exceptions that escaped an app and the longest single AppDaemon callback (measured from
AppDaemon's own busy/idle bookkeeping of its worker threads). A row passes when the budget
counted at least what was sent, no published value is implausible, no exception escaped and no
callback took 10 s or more. Exits non-zero if any row fails.

    .venv/bin/python -m benchmarks.fault_matrix [--only trickle,redirect]

tests/appdaemon/test_fault_matrix.py runs it and asserts the same.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appdaemon.threads import Threading

from apsystems.api.client import ApsystemsClient
from fakes.apsystems_cloud import DEFAULT_APP_ID, DEFAULT_APP_SECRET, FakeCloud
from fakes.apsystems_cloud.presets import daylight
from tests.appdaemon.test_production_app import apps_for as production_apps
from tests.support.appdaemon_harness import AppDaemonHarness

BUDGET, PRODUCTION, INVERTERS = "apsystems_budget", "apsystems_production", "apsystems_inverters"
CALLBACK_LIMIT_S = 10.0
ESCAPED = ("Traceback", "Unexpected error", "Excessive time spent in callback")

FAULTS: dict[str, dict[str, Any]] = {
    "none": {},
    "code 1001": {"kind": "code", "code": 1001},
    "code 2005": {"kind": "code", "code": 2005},
    "code 4000": {"kind": "code", "code": 4000},
    "code 5000": {"kind": "code", "code": 5000},
    "code 7002": {"kind": "code", "code": 7002},
    "http 500": {"kind": "http_status", "status": 500},
    "octet-stream": {"kind": "octet_stream"},
    "malformed json": {"kind": "malformed_json"},
    "drop": {"kind": "drop"},
    "slow 5.5 s": {"kind": "delay", "delay_s": 5.5},
    "trickle 1 B/3 s": {"kind": "trickle", "delay_s": 3.0},
    "redirect": {"kind": "redirect"},
    "nest 100k": {"kind": "nest"},
    "inflate 50 MB": {"kind": "inflate"},
    "corrupt": {"kind": "corrupt"},
    "values 1e308": {"kind": "absurd_huge"},
    "values -1e6": {"kind": "absurd_negative"},
}


@dataclass(frozen=True)
class Row:
    fault: str
    sent: int
    counted: int
    lifetime: Any
    power: Any
    cloud_lifetime: float
    escaped: int
    longest_s: float
    longest_callback: str

    @property
    def plausible(self) -> bool:
        for value, limit in ((self.lifetime, self.cloud_lifetime * 1.01 + 1), (self.power, 1_000_000)):
            if value is None:
                continue
            if not isinstance(value, (int, float)) or not math.isfinite(value) or not 0 <= value <= limit:
                return False
        return True

    @property
    def ok(self) -> bool:
        return self.counted >= self.sent and self.plausible and self.escaped == 0 and self.longest_s < CALLBACK_LIMIT_S


@contextmanager
def callback_timer() -> Iterator[list[tuple[str, float]]]:
    """Durations of every app callback AppDaemon runs meanwhile, from its busy/idle thread updates."""
    durations: list[tuple[str, float]] = []
    started: dict[str, tuple[str, float]] = {}
    original = Threading.update_thread_info

    async def timed(self: Threading, thread_id: Any, callback: Any, *args: Any, **kwargs: Any) -> Any:
        now = time.monotonic()
        key = str(thread_id)
        if callback == "idle":
            begun = started.pop(key, None)
            if begun is not None:
                durations.append((begun[0], now - begun[1]))
        else:
            started[key] = (str(callback), now)
        return await original(self, thread_id, callback, *args, **kwargs)  # type: ignore[no-untyped-call]

    Threading.update_thread_info = timed  # type: ignore[method-assign]
    try:
        yield durations
    finally:
        Threading.update_thread_info = original  # type: ignore[method-assign]


def _apps(cloud: FakeCloud) -> dict[str, dict[str, Any]]:
    """The production tests' budget and production apps, plus the inverters app on the same credentials."""
    apps = production_apps(cloud)
    credentials = {key: apps[PRODUCTION][key] for key in ("app_id", "app_secret", "sid", "base_url")}
    apps[INVERTERS] = {
        "module": "apsystems.inverters_app",
        "class": "InvertersApp",
        "dependencies": [BUDGET, PRODUCTION],
        "batch_every": 0,
        **credentials,
    }
    return apps


async def _tick(ad: AppDaemonHarness) -> None:
    entries = [e for e in ad.scheduler_entries(PRODUCTION) if e.callback == "_tick"]
    for entry in entries:
        ad.get_app(PRODUCTION).tracker.last_poll_at = None  # poll now, whatever the plan says
        await ad.fire_timer(PRODUCTION, entry.handle)
    await ad.wait_idle(timeout=120)


async def run_fault(name: str, fault: dict[str, Any], folder: Path) -> Row:
    with FakeCloud(site=daylight()) as cloud:
        harness = AppDaemonHarness(folder / name.replace(" ", "_").replace("/", "_"), _apps(cloud), start_timeout=60)
        with callback_timer() as durations:
            await harness.start()
            try:
                if fault:
                    cloud.faults.inject(rate=1.0, **fault)
                for _ in range(3):
                    await _tick(harness)
                await harness.fire_event("apsystems_scan_inverters", sid=cloud.sid)
                await harness.wait_idle(timeout=120)
                await harness.fire_event("apsystems_refresh_inverters", sid=cloud.sid)
                await harness.wait_idle(timeout=120)
                await _tick(harness)
                cloud.faults.clear()
                sid = cloud.sid.lower()
                sent = cloud.calls.total
                counted = harness.state(f"sensor.apsystems_{sid}_api_calls")
                lifetime = harness.state(f"sensor.apsystems_{sid}_total_energy")
                power = harness.state(f"sensor.apsystems_{sid}_power")
                escaped = sum(any(marker in line for marker in ESCAPED) for line in harness.log_lines)
                client = ApsystemsClient(DEFAULT_APP_ID, DEFAULT_APP_SECRET, base_url=cloud.url)
                try:
                    cloud_lifetime = client.system_summary(cloud.sid).lifetime or 0.0  # after `sent` was read
                finally:
                    client.close()
            finally:
                await harness.stop()
        ours = [(d, label) for label, d in durations if " for apsystems_" in label]
        longest, label = max(ours, default=(0.0, "-"))
        return Row(name, sent, int(counted or 0), lifetime, power, float(cloud_lifetime), escaped, longest, label)


def table(rows: Sequence[Row]) -> str:
    lines = [
        f"{'fault':<16} {'sent':>5} {'counted':>7} {'lifetime kWh':>13} {'power W':>9} {'exceptions':>10}"
        f" {'longest callback':>16}  verdict  (which callback)"
    ]
    for r in rows:
        lifetime = "-" if r.lifetime is None else str(r.lifetime)
        power = "-" if r.power is None else str(r.power)
        verdict = "ok" if r.ok else "FAIL"
        lines.append(
            f"{r.fault:<16} {r.sent:>5} {r.counted:>7} {lifetime:>13} {power:>9} {r.escaped:>10}"
            f" {r.longest_s:>14.2f} s  {verdict:<7}  ({r.longest_callback})"
        )
    return "\n".join(lines)


async def run_matrix(names: Sequence[str], folder: Path) -> list[Row]:
    return [await run_fault(name, FAULTS[name], folder) for name in names]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fault_matrix", description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated fault names (default: all)")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(FAULTS)
    unknown = [n for n in names if n not in FAULTS]
    if unknown:
        parser.error(f"unknown fault(s) {unknown}; choose from {', '.join(FAULTS)}")
    with tempfile.TemporaryDirectory(prefix="fault-matrix-") as tmp:
        rows = asyncio.run(run_matrix(names, Path(tmp)))
    print(table(rows))
    return 0 if all(r.ok for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
