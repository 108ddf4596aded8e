"""scripts/system_packages.py: which Debian packages are missing, and the error when they cannot be installed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scripts import system_packages


def test_missing_looks_up_commands_and_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tool = tmp_path / "bin" / "present-tool"
    tool.parent.mkdir()
    tool.write_text("#!/bin/sh\n", encoding="utf-8")
    tool.chmod(0o755)
    font = tmp_path / "font.ttf"
    font.write_text("", encoding="utf-8")
    monkeypatch.setenv("PATH", str(tool.parent))
    packages = {
        "present": "present-tool",
        "absent": "absent-tool",
        "font-present": str(font),
        "font-absent": str(tmp_path / "none.ttf"),
    }
    assert system_packages.missing(packages) == ["absent", "font-absent"]


def test_without_root_or_sudo_the_error_names_the_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    apt_get = tmp_path / "apt-get"
    apt_get.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    apt_get.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))  # apt-get, but no sudo
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(system_packages.PackagesError, match=r"sudo apt-get install -y patchelf chromium"):
        system_packages.install(["patchelf", "chromium"])
