"""The README's first command: the offline demo starts everything and shows the entities."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_demo_shows_the_entities_and_stops_cleanly(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "scripts.demo", "--duration", "20", "--no-clear", "--workdir", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "OK: the credentials work." in out
    for suffix in ("total_energy", "today_energy", "month_energy", "year_energy", "power", "api_calls"):
        assert f"sensor.apsystems_day0light001_{suffix}" in out
    assert "sensor.chargehq_push_status" in out
    assert "Ctrl-C stops it" in out
    assert "Demo stopped" in out
    assert (tmp_path / "conf" / "appdaemon.log").exists()
