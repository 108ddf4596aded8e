"""Build the release zip users install from: ``dist/apsystems-chargehq-<version>.zip``.

``make dist`` runs it. The zip holds what goes into AppDaemon's ``apps/`` folder (the
``apsystems`` and ``chargehq`` packages and ``apps.yaml.example``), plus ``INSTALL.txt``,
``LICENSE`` and ``CHANGELOG.md``. A ``.sha256`` file in ``sha256sum`` format is written beside
it, so ``sha256sum -c`` verifies a download.

Reproducible: the same commit gives the same bytes. Entries are sorted, every entry carries
the commit's time (``SOURCE_DATE_EPOCH`` overrides it; outside a git checkout a fixed date),
permissions are fixed, and only files git tracks are packed, so caches and local files in a
developer's checkout never leak into a release.

Standard library only: it runs with whatever ``python3`` runs make.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import os
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("apps/apsystems", "apps/chargehq")
TOP_FILES = {  # path in the checkout -> name in the zip
    "apps/apps.yaml.example": "apps/apps.yaml.example",
    "INSTALL.txt": "INSTALL.txt",
    "LICENSE": "LICENSE",
    "CHANGELOG.md": "CHANGELOG.md",
}
EARLIEST_ZIP_TIME = 315532800  # 1980-01-01: the zip format cannot store anything older
EXCLUDED_PARTS = ("__pycache__",)
EXCLUDED_SUFFIXES = (".pyc", ".pyo")


class DistError(RuntimeError):
    """Something that stops the release from being built; the message says what."""


def read_version(repo: Path = REPO) -> str:
    """``__version__`` of ``apps/apsystems/__init__.py``, read without importing the package."""
    init = repo / "apps" / "apsystems" / "__init__.py"
    tree = ast.parse(init.read_text(encoding="utf-8"))
    for node in tree.body:
        names_version = isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "__version__" for target in node.targets
        )
        if names_version and isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            value = node.value.value
            if isinstance(value, str):
                return value
    raise DistError(f"no __version__ = '...' string in {init}")


def _git(repo: Path, *args: str) -> str | None:
    try:
        result = subprocess.run(  # noqa: S603 - git with fixed arguments
            ["git", "-C", str(repo), *args],  # noqa: S607 - git from PATH, as make does
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout if result.returncode == 0 else None


def source_time(repo: Path = REPO) -> int:
    """The time every zip entry carries: SOURCE_DATE_EPOCH, else the last commit's, else 1980."""
    override = os.environ.get("SOURCE_DATE_EPOCH")
    if override:
        try:
            return max(int(override), EARLIEST_ZIP_TIME)
        except ValueError as err:
            raise DistError(f"SOURCE_DATE_EPOCH={override!r} is not a whole number of seconds") from err
    committed = _git(repo, "log", "-1", "--format=%ct")
    if committed and committed.strip().isdigit():
        return max(int(committed.strip()), EARLIEST_ZIP_TIME)
    return EARLIEST_ZIP_TIME


def _wanted(relative: str) -> bool:
    parts = relative.split("/")
    return not any(part in EXCLUDED_PARTS for part in parts) and not relative.endswith(EXCLUDED_SUFFIXES)


def package_files(repo: Path = REPO) -> list[str]:
    """Checkout-relative paths of the package files to ship (git-tracked when in a checkout)."""
    tracked = _git(repo, "ls-files", "-z", "--", *PACKAGES)
    if tracked is not None:
        candidates: Iterable[str] = (name for name in tracked.split("\0") if name)
    else:
        candidates = (
            path.relative_to(repo).as_posix()
            for package in PACKAGES
            for path in (repo / package).rglob("*")
            if path.is_file()
        )
    files = sorted(name for name in candidates if _wanted(name) and (repo / name).is_file())
    if not files:
        raise DistError(f"no files found under {', '.join(PACKAGES)} in {repo}")
    return files


def _entry(name: str, stamp: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=time.gmtime(stamp)[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (0o100644 & 0xFFFF) << 16  # a regular file, rw-r--r--, on every machine
    info.create_system = 3  # Unix, whatever system builds it
    return info


def build(out_dir: Path, repo: Path = REPO) -> tuple[Path, Path, str]:
    """Write the zip and its checksum file; return both paths and the SHA-256."""
    version = read_version(repo)
    stamp = source_time(repo)
    members: dict[str, Path] = {name: repo / name for name in package_files(repo)}
    for source, target in TOP_FILES.items():
        path = repo / source
        if not path.is_file():
            raise DistError(f"{source} is missing from {repo}; the release needs it")
        members[target] = path
    out_dir.mkdir(parents=True, exist_ok=True)
    archive = out_dir / f"apsystems-chargehq-{version}.zip"
    tmp = archive.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w") as bundle:
        for name in sorted(members):
            bundle.writestr(_entry(name, stamp), members[name].read_bytes(), compresslevel=9)
    tmp.replace(archive)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    checksum = archive.with_name(archive.name + ".sha256")
    checksum.write_text(f"{digest}  {archive.name}\n", encoding="ascii")
    return archive, checksum, digest


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m scripts.dist", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "dist", help="output folder (default: dist/)")
    args = parser.parse_args(argv)
    try:
        archive, checksum, digest = build(args.out)
    except (DistError, OSError) as err:
        print(f"dist: {err}", file=sys.stderr)
        return 1
    print(f"{archive}\nSHA-256 {digest} (written to {checksum.name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
