"""``python -m chargehq push-once`` against the local receiver."""

from __future__ import annotations

import importlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chargehq.cli import EXIT_NETWORK, EXIT_OK, EXIT_REFUSED, EXIT_USAGE, main
from fakes.chargehq_receiver import ChargeHQReceiver
from tests.chargehq.conftest import API_KEY

ROOT = Path(__file__).resolve().parents[2]


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_push_once_success(receiver: ChargeHQReceiver) -> None:
    code, out, err = run(
        [
            "push-once",
            "--api-key",
            API_KEY,
            "--production-kw",
            "3.2",
            "--net-import-kw",
            "-1.1",
            "--endpoint",
            receiver.endpoint,
        ]
    )
    assert code == EXIT_OK, err
    assert "HTTP 200" in out
    assert '{"success": true}' in out
    assert '"consumption_kw": 2.1' in out  # derived by the same payload code
    assert API_KEY not in out + err
    (push,) = receiver.pushes
    assert push.site_meters == {"production_kw": 3.2, "net_import_kw": -1.1, "consumption_kw": 2.1}


def test_push_once_key_from_the_environment(receiver: ChargeHQReceiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHARGEHQ_API_KEY", API_KEY)
    code, _out, _ = run(["push-once", "--production-kw", "0", "--endpoint", receiver.endpoint])
    assert code == EXIT_OK
    assert receiver.pushes[0].site_meters == {"production_kw": 0.0}


def test_push_once_refused(receiver: ChargeHQReceiver) -> None:
    receiver.fail_next(1, status=500, body=f"boom {API_KEY}")
    code, out, err = run(["push-once", "--api-key", API_KEY, "--production-kw", "1", "--endpoint", receiver.endpoint])
    assert code == EXIT_REFUSED
    assert "HTTP 500" in out
    assert "boom <redacted>" in out
    assert API_KEY not in out + err


def test_push_once_wrong_key(receiver: ChargeHQReceiver) -> None:
    code, out, _ = run(
        ["push-once", "--api-key", "not-the-key", "--production-kw", "1", "--endpoint", receiver.endpoint]
    )
    assert code == EXIT_REFUSED
    assert "HTTP 401" in out


def test_push_once_warns_about_inconsistent_flows(receiver: ChargeHQReceiver) -> None:
    code, _, err = run(
        [
            "push-once",
            "--api-key",
            API_KEY,
            "--production-kw",
            "3",
            "--consumption-kw",
            "2",
            "--net-import-kw",
            "1",
            "--endpoint",
            receiver.endpoint,
        ]
    )
    assert code == EXIT_OK
    assert "-2.000 kW" in err


def test_push_once_network_error() -> None:
    code, _, err = run(
        [
            "push-once",
            "--api-key",
            API_KEY,
            "--production-kw",
            "1",
            "--endpoint",
            "http://127.0.0.1:9/api",
            "--connect-timeout",
            "1",
        ]
    )
    assert code == EXIT_NETWORK
    assert "network error" in err
    assert API_KEY not in err


def test_push_once_without_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHARGEHQ_API_KEY", raising=False)
    code, _, err = run(["push-once", "--production-kw", "1"])
    assert code == EXIT_USAGE
    assert "CHARGEHQ_API_KEY" in err


def test_production_is_required() -> None:
    with pytest.raises(SystemExit) as info:
        run(["push-once", "--api-key", API_KEY])
    assert info.value.code == 2


def test_python_dash_m_chargehq(receiver: ChargeHQReceiver) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "apps"), "CHARGEHQ_API_KEY": API_KEY}
    ok = subprocess.run(
        [sys.executable, "-m", "chargehq", "push-once", "--production-kw", "2.5", "--endpoint", receiver.endpoint],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert "HTTP 200" in ok.stdout
    receiver.fail_next(1, status=503)
    failed = subprocess.run(
        [sys.executable, "-m", "chargehq", "push-once", "--production-kw", "2.5", "--endpoint", receiver.endpoint],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert failed.returncode == 1
    assert "HTTP 503" in failed.stdout
    assert API_KEY not in ok.stdout + ok.stderr + failed.stdout + failed.stderr


def test_importing_main_module_does_nothing() -> None:
    module = importlib.import_module("chargehq.__main__")
    assert module.__name__ == "chargehq.__main__"
