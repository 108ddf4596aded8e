"""The release zip: contents, version, reproducibility and a checksum that verifies."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import apsystems
from scripts import dist
from scripts.dist import REPO, DistError, build, read_version


def test_version_is_read_from_the_package_without_importing_it() -> None:
    assert read_version() == apsystems.__version__
    assert apsystems.__version__.count(".") == 2


def test_zip_holds_the_packages_the_example_and_the_install_notes(tmp_path: Path) -> None:
    archive, _checksum, _digest = build(tmp_path)
    assert archive.name == f"apsystems-chargehq-{apsystems.__version__}.zip"
    with zipfile.ZipFile(archive) as bundle:
        names = bundle.namelist()
        assert names == sorted(names)
        for required in (
            "apps/apsystems/__init__.py",
            "apps/apsystems/budget_app.py",
            "apps/apsystems/production_app.py",
            "apps/apsystems/inverters_app.py",
            "apps/chargehq/forwarder_app.py",
            "apps/apps.yaml.example",
            "INSTALL.txt",
            "LICENSE",
            "CHANGELOG.md",
        ):
            assert required in names, required
        assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
        assert bundle.read("apps/apsystems/__init__.py") == (REPO / "apps/apsystems/__init__.py").read_bytes()
        assert {info.external_attr >> 16 for info in bundle.infolist()} == {0o100644}


def test_same_commit_gives_the_same_bytes(tmp_path: Path) -> None:
    first, _, first_digest = build(tmp_path / "one")
    # Touching a file changes its mtime but not the commit: the zip must not change.
    (REPO / "apps/apsystems/__init__.py").touch()
    second, _, second_digest = build(tmp_path / "two")
    assert first.read_bytes() == second.read_bytes()
    assert first_digest == second_digest


def _sha256sum_check(checksum: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sha256sum", "-c", checksum.name], cwd=checksum.parent, capture_output=True, text=True, check=False
    )


def test_checksum_file_verifies_with_sha256sum(tmp_path: Path) -> None:
    archive, checksum, digest = build(tmp_path)
    assert checksum.read_text(encoding="ascii") == f"{digest}  {archive.name}\n"
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == digest
    result = _sha256sum_check(checksum)
    assert result.returncode == 0, result.stdout + result.stderr
    archive.write_bytes(archive.read_bytes() + b"tampered")
    tampered = _sha256sum_check(checksum)
    assert tampered.returncode != 0


def test_unpacked_release_imports_and_reports_its_version(tmp_path: Path) -> None:
    archive, _, _ = build(tmp_path)
    with zipfile.ZipFile(archive) as bundle:
        bundle.extractall(tmp_path / "addon")
    probe = subprocess.run(
        [sys.executable, "-c", "import apsystems, chargehq; print(apsystems.__version__)"],
        cwd=tmp_path / "addon" / "apps",
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == apsystems.__version__


def test_source_date_epoch_sets_every_entry_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # 2026-01-01 00:00 UTC
    archive, _, _ = build(tmp_path)
    with zipfile.ZipFile(archive) as bundle:
        assert {info.date_time for info in bundle.infolist()} == {(2026, 1, 1, 0, 0, 0)}


def test_bad_source_date_epoch_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(DistError, match="SOURCE_DATE_EPOCH='yesterday'"):
        build(tmp_path)


def test_make_dist_command_prints_the_checksum(tmp_path: Path) -> None:
    assert dist.main(["--out", str(tmp_path)]) == 0
    assert (tmp_path / f"apsystems-chargehq-{apsystems.__version__}.zip.sha256").is_file()
