"""``python -m apsystems check`` against the fake cloud: good credentials, a wrong secret, env vars."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from apsystems.api.client import ApsystemsClient
from apsystems.cli.main import EXIT_AUTH, EXIT_OK, EXIT_USAGE, main
from fakes.apsystems_cloud import DEFAULT_APP_ID, DEFAULT_APP_SECRET, FakeCloud

REPO = Path(__file__).resolve().parents[2]


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def test_good_credentials(cloud: FakeCloud, client: ApsystemsClient) -> None:
    lifetime = client.system_summary(cloud.sid).lifetime
    code, text = run(
        "check",
        "--app-id",
        DEFAULT_APP_ID,
        "--app-secret",
        DEFAULT_APP_SECRET,
        "--sid",
        cloud.sid,
        "--base-url",
        cloud.url,
        "--date",
        "2026-06-15",
    )
    assert code == EXIT_OK, text
    assert f"lifetime {lifetime:.2f} kWh" in text
    assert "Inverters: 4 on 1 ECU(s)." in text and "4 × DS3" in text
    assert "Hourly energy for 2026-06-15: 24 hours" in text
    assert "OK: the credentials work." in text
    assert DEFAULT_APP_SECRET not in text


def test_wrong_secret_prints_the_4000_diagnosis(cloud: FakeCloud) -> None:
    code, text = run(
        "check", "--app-id", DEFAULT_APP_ID, "--app-secret", "wrongsecret1", "--sid", cloud.sid, "--base-url", cloud.url
    )
    assert code == EXIT_AUTH
    assert "code 4000" in text and "Request parameter exception" in text
    assert "clock" in text and "App ID and App Secret" in text
    assert "wrongsecret1" not in text


def test_future_date_is_reported_as_no_data(cloud: FakeCloud) -> None:
    code, text = run(
        "check",
        "--app-id",
        DEFAULT_APP_ID,
        "--app-secret",
        DEFAULT_APP_SECRET,
        "--sid",
        cloud.sid,
        "--base-url",
        cloud.url,
        "--date",
        "2026-07-01",
    )
    assert code == EXIT_OK
    assert "no data yet (code 1001" in text


def test_missing_credentials_and_bad_date(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("APS_APP_ID", "APS_APP_SECRET", "APS_SID"):
        monkeypatch.delenv(name, raising=False)
    code, text = run("check", "--sid", "AZ1")
    assert code == EXIT_USAGE and "--app-id" in text and "--app-secret" in text
    with pytest.raises(SystemExit):
        run("check", "--date", "21/06/2025")


def test_module_entry_point_with_environment_credentials(cloud: FakeCloud) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO / "apps"),
        "APS_APP_ID": DEFAULT_APP_ID,
        "APS_APP_SECRET": DEFAULT_APP_SECRET,
        "APS_SID": cloud.sid,
        "APS_BASE_URL": cloud.url,
    }
    result = subprocess.run(
        [sys.executable, "-m", "apsystems", "check", "--date", "2026-06-15"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Inverters: 4 on 1 ECU(s)." in result.stdout
    assert DEFAULT_APP_SECRET not in result.stdout + result.stderr
