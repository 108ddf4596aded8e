"""The README's commands exist and work, and its figures are what the commands print.

Every ``bash`` block of the README is read. The commands that can run offline run here, from
the repository root as the README says; the others are listed with the reason they cannot
(the test fails on a new command nobody classified). Every repository path the README names in
backticks must exist.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"

NOT_RUN_HERE = {
    "make demo": "runs until Ctrl-C; tests/integration/test_demo.py runs the same demo for 20 s",
    "make test": "this very suite; CI runs it through .ci/run",
    "cd apps && ../.venv/bin/python -m apsystems check": "needs the real APsystems cloud and credentials;"
    " tests/integration/test_cli_check.py runs it against the fake cloud",
}
SLOW_OK_S = 600


def bash_commands(text: str) -> list[str]:
    commands: list[str] = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            command = line.split("  #")[0].strip()
            if command and not command.startswith("#"):
                commands.append(command)
    return commands


def _classified(command: str) -> str | None:
    return next((reason for prefix, reason in NOT_RUN_HERE.items() if command.startswith(prefix)), None)


def runnable_commands() -> list[str]:
    return [c for c in bash_commands(README.read_text(encoding="utf-8")) if _classified(c) is None]


def test_every_command_is_run_or_has_a_reason() -> None:
    commands = bash_commands(README.read_text(encoding="utf-8"))
    assert commands, "the README has no bash blocks"
    assert "make demo" in commands[:2] and "make test" in commands[:2]  # the two commands at the top
    for command in commands:
        assert "…" not in command or _classified(command), f"placeholder in a command that should run: {command}"
    assert runnable_commands()


@pytest.mark.parametrize("command", runnable_commands())
def test_readme_command_works(command: str) -> None:
    result = subprocess.run(
        ["bash", "-c", command], cwd=REPO, capture_output=True, text=True, timeout=SLOW_OK_S, check=False
    )
    assert result.returncode == 0, f"{command}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    if " -m apsystems plan " in command:
        shown = README.read_text(encoding="utf-8")
        for line in result.stdout.splitlines():
            if re.match(r"(Jan|Jun|Dec|year) ", line):
                assert line.rstrip() in shown, f"the README's plan table differs from the command's output: {line}"


def test_every_path_the_readme_names_exists() -> None:
    text = README.read_text(encoding="utf-8")
    candidates = set(re.findall(r"`([A-Za-z0-9_./-]+)`", text))
    paths = {
        c
        for c in candidates
        if ("/" in c and not c.startswith(("/", "http", "sensor.", "~")) and "<" not in c and not c.endswith("/"))
        or re.fullmatch(r"[A-Za-z_]+\.(md|txt|example|yaml|py)", c)
    }
    # A user's files, Home Assistant's storage and websocket commands: named, but not in this repository.
    not_ours = {
        "apps.yaml",
        "appdaemon.yaml",
        "secrets.yaml",
        "configuration.yaml",
        "apps/apps.yaml",
        ".storage/http",
        "energy/validate",
        "appdaemon_mqtt_client/status",  # an MQTT topic
        "recorder/import_statistics",  # Home Assistant's websocket command
        "homeassistant/components/hassio/__init__.py",  # Home Assistant's and the Supervisor's sources
        "supervisor/api/proxy.py",
    }
    roots = (REPO, REPO / "apps", REPO / "apps" / "apsystems")
    missing = sorted(p for p in paths - not_ours if not any((root / p).exists() for root in roots))
    assert not missing, f"the README names files that do not exist: {missing}"
