"""The offline demo: the fake APsystems cloud, a Charge HQ receiver and a real AppDaemon with
our apps, all on 127.0.0.1, with the entities shown live as a table.

``make demo`` runs it; Ctrl-C stops everything. ``--duration S`` stops by itself (for tests).
Nothing leaves this machine: the fakes stand in for api.apsystemsema.com and Charge HQ.
"""

from __future__ import annotations

import argparse
import io
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import requests

from apsystems.cli.main import main as cli_main
from fakes.apsystems_cloud import DEFAULT_APP_ID, DEFAULT_APP_SECRET, FakeCloud
from fakes.apsystems_cloud.presets import daylight
from fakes.chargehq_receiver import ChargeHQReceiver
from scripts.ad_config import REPO, load_example_apps, write_config

DEMO_DIR = REPO / "demo-run"
CHARGEHQ_KEY = "00000000-demo-4000-8000-000000000000"
REFRESH_S = 2.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def demo_apps(cloud: FakeCloud, receiver: ChargeHQReceiver, workdir: Path) -> dict[str, dict[str, Any]]:
    """apps.yaml.example with URLs pointed at the fakes and a paid-tier quota for a lively demo."""
    apps = load_example_apps()
    site = cloud.site
    for args in apps.values():
        if "base_url" in args:
            args["base_url"] = cloud.url
        if "endpoint" in args:
            args["endpoint"] = receiver.endpoint
        if args.get("class") == "BudgetApp":
            args.update(
                latitude=site.latitude,
                longitude=site.longitude,
                time_zone=site.timezone,
                monthly_quota=100_000,
                min_interval=300,
            )
        args["state_dir"] = str(workdir / "state")
        args.setdefault("log_level", "INFO")
    return apps


def run_check(cloud: FakeCloud) -> str:
    out = io.StringIO()
    cli_main(
        [
            "check",
            "--app-id",
            DEFAULT_APP_ID,
            "--app-secret",
            DEFAULT_APP_SECRET,
            "--sid",
            cloud.sid,
            "--base-url",
            cloud.url,
        ],
        out=out,
    )
    return out.getvalue()


def entity_rows(states: dict[str, Any]) -> list[tuple[str, str, str]]:
    """System and status entities one per row; each inverter as one row (its power sensor)."""
    rows = []
    for entity_id in sorted(states):
        if not entity_id.startswith(("sensor.apsystems_", "sensor.chargehq_")):
            continue
        is_inverter = entity_id.startswith("sensor.apsystems_inverter_")
        if is_inverter and not entity_id.endswith("_power"):
            continue  # its voltages, currents and temperature would drown the table
        attrs = states[entity_id].get("attributes", {})
        unit = attrs.get("unit_of_measurement") or ""
        detail = ""
        if is_inverter:
            channels = sorted(k for k in attrs if k.startswith("dc_channel") and k.endswith("_power_w"))
            detail = f"{attrs.get('inverter_type')}, DC " + " / ".join(f"{attrs[k]} W" for k in channels)
        elif entity_id.endswith("_power") and "data_time" in attrs:
            detail = f"measured {attrs.get('data_time')}"
        elif entity_id.endswith("_api_calls"):
            detail = f"interval {attrs.get('interval_s')} s, next poll {attrs.get('next_poll')}"
        elif entity_id.startswith("sensor.chargehq_"):
            detail = f"last success {attrs.get('last_success')}, HTTP {attrs.get('last_http_status')}"
        rows.append((entity_id, f"{states[entity_id].get('state')} {unit}".strip(), detail))
    return rows


def render(rows: list[tuple[str, str, str]], cloud: FakeCloud, receiver: ChargeHQReceiver, started: float) -> str:
    width = max((len(r[0]) for r in rows), default=40)
    lines = [
        f"APsystems + Charge HQ demo, running {time.monotonic() - started:5.0f} s   (Ctrl-C stops it)",
        f"fake APsystems cloud {cloud.url}: {cloud.calls.total} API calls; Charge HQ receiver: "
        f"{len(receiver.pushes)} pushes",
        "",
        f"{'entity':<{width}}  {'state':>18}  detail",
        f"{'-' * width}  {'-' * 18}  {'-' * 40}",
    ]
    lines += [f"{e:<{width}}  {s:>18}  {d}" for e, s, d in rows] or ["(waiting for AppDaemon to publish…)"]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    parser.add_argument("--no-clear", action="store_true", help="print each table instead of redrawing")
    parser.add_argument("--workdir", type=Path, default=DEMO_DIR, help="where the generated config and state go")
    args = parser.parse_args(argv)
    workdir: Path = args.workdir
    shutil.rmtree(workdir, ignore_errors=True)
    started = time.monotonic()
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    with ExitStack() as stack:
        cloud = stack.enter_context(FakeCloud(site=daylight()))
        receiver = stack.enter_context(ChargeHQReceiver(CHARGEHQ_KEY))
        print(
            f"Fake APsystems cloud at {cloud.url} (site {cloud.sid}: {len(cloud.site.ecus)} ECU, "
            f"lat {cloud.site.latitude}, lon {cloud.site.longitude}, {cloud.site.timezone}, where it is midday now)"
        )
        print(f"Charge HQ receiver at {receiver.endpoint}\n")
        print("Credential check (python -m apsystems check):")
        print(run_check(cloud))
        http_port = free_port()
        site = cloud.site
        config = write_config(
            workdir / "conf",
            apps=demo_apps(cloud, receiver, workdir),
            secrets={
                "aps_app_id": DEFAULT_APP_ID,
                "aps_app_secret": DEFAULT_APP_SECRET,
                "aps_sid": cloud.sid,
                "chargehq_api_key": CHARGEHQ_KEY,
                "ha_token": "unused",
            },
            latitude=site.latitude,
            longitude=site.longitude,
            time_zone=site.timezone,
            http_port=http_port,
        )
        appdaemon = Path(sys.executable).with_name("appdaemon")
        process = subprocess.Popen(  # noqa: S603 - our own venv's appdaemon, our own config
            [str(appdaemon), "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        stack.callback(_stop_process, process)
        print(
            f"AppDaemon 4.5.13 started with apps/apps.yaml.example (config in {config}, log in "
            f"{config / 'appdaemon.log'}). The budget uses a paid-tier quota here so that polls come every"
            " 5 minutes.\n"
        )
        seen_entities = 0
        try:
            while not stop["now"]:
                if args.duration is not None and time.monotonic() - started > args.duration:
                    break
                if process.poll() is not None:
                    print(f"AppDaemon exited with code {process.returncode}; see {config / 'appdaemon.log'}")
                    return 1
                rows = entity_rows(_states(http_port))
                seen_entities = max(seen_entities, len(rows))
                table = render(rows, cloud, receiver, started)
                print(table if args.no_clear else "\x1b[2J\x1b[H" + table, flush=True)
                time.sleep(REFRESH_S)
        except KeyboardInterrupt:
            print("\nStopping…")
    print("Demo stopped: AppDaemon, the fake cloud and the Charge HQ receiver are shut down.")
    return 0 if seen_entities else 1


def _states(port: int) -> dict[str, Any]:
    try:
        response = requests.get(f"http://127.0.0.1:{port}/api/appdaemon/state/default", timeout=2)
        payload = response.json() if response.ok else {}
    except (requests.RequestException, ValueError):
        return {}
    state = payload.get("state") if isinstance(payload, dict) else None
    return state if isinstance(state, dict) else {}


def _stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


if __name__ == "__main__":
    sys.exit(main())
