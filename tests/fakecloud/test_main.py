"""``python -m fakes.apsystems_cloud`` and its ``main(argv)``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from apsystems.api.signing import sign_request
from fakes.apsystems_cloud import DEFAULT_APP_ID, DEFAULT_APP_SECRET, preset
from fakes.apsystems_cloud.__main__ import build_parser, main, make_cloud
from fakes.apsystems_cloud.site import dump_site, load_site


def test_main_serves_until_stopped(capsys: pytest.CaptureFixture[str]) -> None:
    stop = threading.Event()
    result: list[int] = []
    argv = [
        "--port",
        "0",
        "--site",
        "demo",
        "--app-id",
        "c" * 32,
        "--app-secret",
        "abcdefabcdef",
        "--fixed",
        "--start",
        "2026-06-15T12:07:00Z",
    ]
    thread = threading.Thread(target=lambda: result.append(main(argv, stop)), daemon=True)
    thread.start()
    url = None
    for _ in range(200):
        out = capsys.readouterr().out
        found = re.search(r"at (http://127\.0\.0\.1:\d+)", out)
        if found:
            url = found.group(1)
            assert "abcdefabcdef" in out and "AZ12649A3DFF" in out
            break
        stop.wait(0.05)
    assert url is not None
    path = "/user/api/v2/systems/summary/AZ12649A3DFF"
    headers = sign_request("c" * 32, "abcdefabcdef", path).as_dict()
    assert requests.get(url + path, headers=headers, timeout=10).json()["code"] == 0
    assert requests.get(url + "/_fake/clock", timeout=10).json()["now"] == "2026-06-15T12:07:00+00:00"
    stop.set()
    thread.join(timeout=10)
    assert result == [0]


def test_make_cloud_options(tmp_path: Path) -> None:
    args = build_parser().parse_args(
        [
            "--site",
            "southern",
            "--seed",
            "9",
            "--gap-rate",
            "0.1",
            "--upload-interval",
            "15",
            "--speed",
            "60",
            "--quota",
            "50",
            "--octet-stream",
            "--skew-tolerance",
            "300",
            "--reject-replayed-nonces",
        ]
    )
    cloud = make_cloud(args)
    assert cloud.site.sid == "AU35S149E001" and cloud.site.seed == 9
    assert cloud.site.gap_rate == 0.1 and cloud.site.upload_interval_min == 15
    assert cloud.clock.mode == "speed" and cloud.quota.limit == 50
    assert cloud.options.octet_stream and cloud.auth.skew_tolerance_s == 300 and cloud.auth.reject_replayed_nonces
    assert cloud.app_id == DEFAULT_APP_ID and cloud.app_secret == DEFAULT_APP_SECRET


def test_site_from_json_file(tmp_path: Path) -> None:
    path = tmp_path / "site.json"
    dump_site(preset("large"), path)
    assert load_site(path).to_dict() == preset("large").to_dict()
    cloud = make_cloud(build_parser().parse_args(["--site", str(path)]))
    assert cloud.site.sid == "B0XD123A3BHJ"
    compact = tmp_path / "compact.json"
    compact.write_text(
        json.dumps(
            {
                "sid": "COMPACT00001",
                "latitude": 40.4,
                "longitude": -3.7,
                "timezone": "Europe/Madrid",
                "create_date": "2025-01-01",
                "ecus": [["DS3", "QS1"], ["YC600"]],
                "panel_w": 350,
            }
        )
    )
    site = load_site(compact)
    assert [len(e.inverters) for e in site.ecus] == [2, 1]
    assert site.ecus[0].inverters[1].panels_w == (350.0,) * 4


def test_bad_site_is_exit_code_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--site", "atlantis", "--port", "0"]) == 2
    assert "unknown site" in capsys.readouterr().err


def test_module_runs_as_a_process() -> None:
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-m", "fakes.apsystems_cloud", "--port", "0", "--site", "demo"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        found = re.search(r"at (http://127\.0\.0\.1:\d+)", first)
        assert found, first
        assert requests.get(found.group(1) + "/_fake/state", timeout=10).json()["primary_sid"] == "AZ12649A3DFF"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
        if proc.stderr is not None:
            proc.stderr.close()
