"""``python -m apsystems simulate --port N --site NAME`` as the README documents it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from apsystems.api.client import ApsystemsClient
from fakes.apsystems_cloud import DEFAULT_APP_ID, DEFAULT_APP_SECRET

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_simulate_with_port_and_site_serves_the_api() -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "apps"), str(ROOT)])}
    process = subprocess.Popen(
        [sys.executable, "-m", "apsystems", "simulate", "--port", str(port), "--site", "demo"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.strip() == f"Fake APsystems cloud at http://127.0.0.1:{port}", first
        client = ApsystemsClient(DEFAULT_APP_ID, DEFAULT_APP_SECRET, base_url=f"http://127.0.0.1:{port}")
        assert client.system_details("AZ12649A3DFF").sid == "AZ12649A3DFF"
    finally:
        process.terminate()
        process.wait(timeout=10)
