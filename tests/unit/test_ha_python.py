"""scripts/ha_python.py: where it looks for a Python 3.14, what it reads from apt, how it fails.

The full set-up (download, unpack, patch, check) runs in ``make test`` on a machine without a
Python 3.14 and is timed in the README; these tests cover the decisions around it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from scripts import ha_python

THIS = (sys.version_info.major, sys.version_info.minor, sys.version_info.micro)


def test_mirror_from_deb822_sources_skips_security(tmp_path: Path) -> None:
    sources = tmp_path / "debian.sources"
    sources.write_text(
        "Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\n\n"
        "Types: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm\n",
        encoding="utf-8",
    )
    assert ha_python.debian_mirror([sources]) == "http://mirror.example/debian"


def test_mirror_from_one_line_sources_and_fallback(tmp_path: Path) -> None:
    listing = tmp_path / "sources.list"
    listing.write_text("# comment\ndeb [arch=amd64] http://ftp.example/debian bookworm main\n", encoding="utf-8")
    assert ha_python.debian_mirror([listing]) == "http://ftp.example/debian"
    assert ha_python.debian_mirror([tmp_path / "missing"]) == ha_python.FALLBACK_MIRROR


def test_deb_version_drops_the_epoch() -> None:
    debs = [Path("python3.14_3.14.10-1_amd64.deb"), Path("zlib1g_1%3a1.3.dfsg-3_amd64.deb")]
    assert ha_python.deb_version(debs, "python3.14") == "3.14.10-1"
    assert ha_python.deb_version(debs, "zlib1g") == "1.3.dfsg-3"
    with pytest.raises(ha_python.PythonSetupError, match="libc6 was not downloaded"):
        ha_python.deb_version(debs, "libc6")


def test_explicit_python_is_taken_when_new_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HA_PYTHON", raising=False)
    found, tried = ha_python.find_python(sys.executable, minimum=THIS)
    assert found == sys.executable
    assert tried[0].startswith(sys.executable)


def test_python_below_the_minimum_is_refused_and_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HA_PYTHON", sys.executable)
    monkeypatch.setenv("APS_CACHE_DIR", str(tmp_path))  # an empty cache
    monkeypatch.setenv("PATH", str(tmp_path))  # no pythonX.Y, no pyenv on PATH
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path))
    monkeypatch.setattr(Path, "home", lambda: tmp_path)
    too_new = (THIS[0], THIS[1] + 1, 0)
    found, tried = ha_python.find_python(None, minimum=too_new)
    assert found is None
    assert tried == [f"{sys.executable} ({ha_python.version_text(THIS)})"]


def test_cache_holds_only_finished_prefixes(tmp_path: Path) -> None:
    for name, finished in (("python-3.14.9-1", True), ("python-3.14.10-1", True), ("python-3.14.11-1", False)):
        (tmp_path / name).mkdir()
        if finished:
            (tmp_path / name / ha_python.STAMP).write_text("", encoding="utf-8")
    found = ha_python.cached_interpreters(tmp_path)
    assert found == [
        str(tmp_path / "python-3.14.10-1/usr/bin/python3.14"),
        str(tmp_path / "python-3.14.9-1/usr/bin/python3.14"),
    ], "newest finished first; an unfinished (interrupted) prefix is never used"


def test_patch_names_patchelf_when_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    layout = ha_python.Layout(tmp_path, "x86_64-linux-gnu", "ld-linux-x86-64.so.2")
    with pytest.raises(ha_python.PythonSetupError, match=r"patch: `patchelf` is missing; install it with `apt-get"):
        ha_python.patch(layout)


def test_cache_folder_is_outside_the_checkout(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("APS_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert ha_python.cache_root() == tmp_path / "apsystems-chargehq"
    monkeypatch.setenv("APS_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert ha_python.cache_root() == tmp_path / "elsewhere"
