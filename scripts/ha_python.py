"""Provide a Python >= 3.14.2 for Home Assistant 2026.x: find one, or set one up from Debian's binaries.

Home Assistant 2026.3 and later need Python >= 3.14.2. This step (run by ``make test`` through
``scripts/ha_env.py``) looks, in order, at ``--python``/``HA_PYTHON``, ``python3.14`` on PATH,
pyenv's 3.14 versions and this project's cache. When none fits, it sets one up from Debian
unstable's *binary* packages, without compiling and without touching the system:

1. download: ``apt-get download`` with a private apt configuration (its own sources list for
   sid on the mirror the machine already uses, its own lists, cache and an empty dpkg status;
   nothing under ``/etc/apt`` is read for sources or written);
2. unpack: ``dpkg-deb -x`` of the interpreter, its standard library and sid's own C library
   and shared libraries into a private prefix under the cache folder;
3. patch: ``patchelf`` points the interpreter, ``libpython`` and every extension module at the
   prefix's loader and libraries; sysconfig data, ``pyconfig.h`` and ``ensurepip`` are pointed
   at the prefix, so venvs, pip and C extensions work;
4. check: the interpreter runs and imports ssl, sqlite3, ctypes, lzma, bz2, zlib, uuid,
   decimal, zoneinfo and venv.

The prefix is ``~/.cache/apsystems-chargehq/python-<debian version>/`` (``APS_CACHE_DIR`` or
``XDG_CACHE_HOME`` move it). It is not relocatable: the loader path is absolute. A finished
prefix carries a stamp file, so a second run only checks that the interpreter still answers.
``patchelf`` comes from Debian (``scripts/system_packages.py`` installs it).

Usage: ``python3 -m scripts.ha_python [--python PATH]``: prints the interpreter's path last.
Standard library only.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

MINIMUM = (3, 14, 2)
SUITE = "sid"
FALLBACK_MIRROR = "http://deb.debian.org/debian"
KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
STAMP = ".aps-python-ready"
# The interpreter, its standard library, venv/ensurepip with their wheels, the headers (Home
# Assistant's first start builds two sdists), and the shared libraries of sid's python3.14
# (sid's own libc: sid's libpython needs newer symbols than the machine's).
PACKAGES: tuple[str, ...] = (
    "python3.14",
    "python3.14-minimal",
    "libpython3.14-minimal",
    "libpython3.14-stdlib",
    "libpython3.14",
    "python3.14-venv",
    "python3.14-dev",
    "libpython3.14-dev",
    "python3-pip-whl",
    "python3-setuptools-whl",
    "libc6",
    "libgcc-s1",
    "libstdc++6",
    "libssl3t64",
    "libffi8",
    "libsqlite3-0",
    "liblzma5",
    "libbz2-1.0",
    "zlib1g",
    "libuuid1",
    "libexpat1",
    "libncursesw6",
    "libtinfo6",
    "libreadline8t64",
    "libzstd1",
    "libdb5.3t64",
    "libmpdec4",
)
CHECK_MODULES = ("ssl", "sqlite3", "ctypes", "lzma", "bz2", "zlib", "uuid", "decimal", "zoneinfo", "venv", "ensurepip")
# dpkg architecture -> (multiarch triplet, dynamic loader file name)
ARCHITECTURES = {
    "amd64": ("x86_64-linux-gnu", "ld-linux-x86-64.so.2"),
    "arm64": ("aarch64-linux-gnu", "ld-linux-aarch64.so.1"),
}
Version = tuple[int, int, int]


class PythonSetupError(RuntimeError):
    """A step failed; the message names the step and the missing piece."""


def say(message: str) -> None:
    print(f"ha_python: {message}", flush=True)


def cache_root() -> Path:
    """The project's cache folder, outside any checkout (shared by every clone on the machine)."""
    explicit = os.environ.get("APS_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "apsystems-chargehq"


def version_text(version: Sequence[int]) -> str:
    return ".".join(str(part) for part in version)


def python_version(candidate: str) -> Version | None:
    """The interpreter's version, or None when it does not run (e.g. a pyenv shim without that version)."""
    try:
        result = subprocess.run(  # noqa: S603 - an interpreter we are probing, fixed arguments
            [candidate, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", result.stdout.strip())
    if result.returncode != 0 or match is None:
        return None
    major, minor, micro = (int(part) for part in match.groups())
    return major, minor, micro


def pyenv_roots() -> list[Path]:
    roots: list[Path] = []
    env_root = os.environ.get("PYENV_ROOT")
    if env_root:
        roots.append(Path(env_root))
    pyenv = shutil.which("pyenv")
    if pyenv:
        try:
            out = subprocess.run(  # noqa: S603 - `pyenv root`, fixed arguments
                [pyenv, "root"], capture_output=True, text=True, timeout=30, check=False
            ).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            out = ""
        if out:
            roots.append(Path(out))
    roots.append(Path.home() / ".pyenv")
    return roots


def cached_interpreters(root: Path | None = None) -> list[str]:
    """Finished prefixes in the cache, newest Debian version first."""
    base = root or cache_root()
    ready = sorted(base.glob(f"python-*/{STAMP}"), key=lambda p: _version_key(p.parent.name), reverse=True)
    return [str(stamp.parent / "usr" / "bin" / "python3.14") for stamp in ready]


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(number) for number in re.findall(r"\d+", name))


def candidates(explicit: str | None, minor: tuple[int, int]) -> list[str]:
    """Where to look, in order: --python, HA_PYTHON, pythonX.Y on PATH, pyenv, (3.14:) our cache."""
    found = [given for given in (explicit, os.environ.get("HA_PYTHON")) if given]
    name = f"python{minor[0]}.{minor[1]}"
    on_path = shutil.which(name)
    if on_path:
        found.append(on_path)
    for root in pyenv_roots():
        found += sorted(glob.glob(str(root / "versions" / f"{minor[0]}.{minor[1]}*" / "bin" / name)), reverse=True)
    if minor == MINIMUM[:2]:
        found += cached_interpreters()
    return list(dict.fromkeys(found))


def find_python(
    explicit: str | None, *, minimum: Version, below: tuple[int, int] | None = None
) -> tuple[str | None, list[str]]:
    """The first candidate with ``minimum <= version < below``; and what was tried, for the error message."""
    tried: list[str] = []
    for candidate in candidates(explicit, minimum[:2]):
        version = python_version(candidate)
        tried.append(f"{candidate} ({version_text(version) if version else 'does not run'})")
        if version is not None and version >= minimum and (below is None or version[:2] < below):
            return candidate, tried
    return None, tried


# ---- setting up from Debian's binary packages ------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """Paths inside one prefix."""

    prefix: Path
    triplet: str
    loader_name: str

    @property
    def lib_dirs(self) -> list[Path]:
        return [self.prefix / "usr" / "lib" / self.triplet, self.prefix / "lib" / self.triplet]

    @property
    def loader(self) -> Path:
        for directory in self.lib_dirs:
            if (directory / self.loader_name).exists():
                return directory / self.loader_name
        raise PythonSetupError(
            f"unpack: sid's libc6 did not provide {self.loader_name} under {self.prefix}; the package list needs libc6"
        )

    @property
    def stdlib(self) -> Path:
        return self.prefix / "usr" / "lib" / "python3.14"

    @property
    def interpreter(self) -> Path:
        return self.prefix / "usr" / "bin" / "python3.14"


def debian_mirror(sources: Iterable[Path] | None = None) -> str:
    """The Debian mirror this machine's apt already uses (not its security mirror)."""
    files = (
        list(sources)
        if sources is not None
        else [
            Path("/etc/apt/sources.list"),
            *sorted(Path("/etc/apt/sources.list.d").glob("*.list")),
            *sorted(Path("/etc/apt/sources.list.d").glob("*.sources")),
        ]
    )
    for path in files:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        urls: list[str] = re.findall(r"^\s*deb\s+(?:\[[^]]*\]\s+)?(\S+)", text, flags=re.MULTILINE)
        urls += re.findall(r"^\s*URIs:\s*(\S+)", text, flags=re.MULTILINE)
        for url in urls:
            if re.search(r"/debian/?$", url) and "security" not in url:
                return url.rstrip("/")
    return FALLBACK_MIRROR


def architecture() -> tuple[str, str, str]:
    dpkg = shutil.which("dpkg")
    if dpkg is None:
        raise PythonSetupError("download: `dpkg` is missing; this set-up needs a Debian-based machine")
    arch = subprocess.run([dpkg, "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()  # noqa: S603
    if arch not in ARCHITECTURES:
        raise PythonSetupError(
            f"download: no Debian set-up for architecture {arch!r} (known: {', '.join(ARCHITECTURES)})"
        )
    return arch, *ARCHITECTURES[arch]


def _require(tool: str, step: str, hint: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise PythonSetupError(f"{step}: `{tool}` is missing; {hint}")
    return path


def _run(step: str, argv: Sequence[str], *, cwd: Path | None = None) -> str:
    result = subprocess.run(list(argv), capture_output=True, text=True, cwd=cwd, check=False)  # noqa: S603
    if result.returncode != 0:
        output = (result.stderr or result.stdout).strip().splitlines()[-15:]
        raise PythonSetupError(
            f"{step}: `{' '.join(argv[:4])} ...` failed (exit {result.returncode}):\n" + "\n".join(output)
        )
    return result.stdout


class PrivateApt:
    """apt-get with its own sources, lists, cache and an empty dpkg status, all under ``root``."""

    def __init__(self, root: Path, mirror: str, arch: str) -> None:
        self.root = root
        self.mirror = mirror
        self.arch = arch

    def options(self) -> list[str]:
        """``-c`` our apt.conf (read after the system's: it clears the system's hooks) and the private paths."""
        root = self.root
        return [
            "-c", str(root / "apt.conf"),
            "-o", f"Dir::Etc::SourceList={root / 'sources.list'}",
            "-o", f"Dir::Etc::SourceParts={root / 'sources.list.d'}",
            "-o", f"Dir::Etc::Preferences={root / 'preferences'}",
            "-o", f"Dir::Etc::PreferencesParts={root / 'preferences.d'}",
            "-o", f"Dir::State={root / 'state'}",
            "-o", f"Dir::State::status={root / 'status'}",
            "-o", f"Dir::Cache={root / 'cache'}",
            "-o", f"APT::Architecture={self.arch}",
            "-o", f"APT::Architectures={self.arch}",
            "-o", "Debug::NoLocking=true",
            "-o", "Acquire::Languages=none",
        ]  # fmt: skip

    def prepare(self) -> None:
        for folder in ("sources.list.d", "preferences.d", "state/lists/partial", "cache/archives/partial"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        signed = f"[signed-by={KEYRING}] " if KEYRING.is_file() else ""
        (self.root / "sources.list").write_text(f"deb {signed}{self.mirror} {SUITE} main\n", encoding="utf-8")
        (self.root / "status").write_text("", encoding="utf-8")
        (self.root / "preferences").write_text("", encoding="utf-8")
        # The system's apt.conf.d may run hooks after an update (e.g. deleting /var/cache/apt/*.bin,
        # notifying PackageKit): they are cleared, so that nothing outside our folder changes.
        update_hooks = [f"APT::Update::{hook}" for hook in ("Pre-Invoke", "Post-Invoke", "Post-Invoke-Success")]
        hooks = [*update_hooks, "DPkg::Pre-Invoke", "DPkg::Post-Invoke"]
        (self.root / "apt.conf").write_text("".join(f"#clear {hook};\n" for hook in hooks), encoding="utf-8")

    def update(self) -> None:
        apt_get = _require("apt-get", "download", "this set-up needs apt (a Debian-based machine)")
        _run("download (apt-get update of sid's index)", [apt_get, *self.options(), "-q", "update"])

    def download(self, packages: Sequence[str], into: Path) -> list[Path]:
        apt_get = _require("apt-get", "download", "this set-up needs apt (a Debian-based machine)")
        into.mkdir(parents=True, exist_ok=True)
        for old in into.glob("*.deb"):
            old.unlink()
        _run("download (apt-get download)", [apt_get, *self.options(), "-q", "download", *packages], cwd=into)
        debs = sorted(into.glob("*.deb"))
        names = {deb.name.split("_", 1)[0] for deb in debs}
        missing = [package for package in packages if package not in names]
        if missing:
            raise PythonSetupError(
                f"download: sid has no package {', '.join(missing)} (renamed? check `apt-cache` for sid)"
            )
        return debs


def deb_version(debs: Sequence[Path], package: str) -> str:
    """``python3.14_3.14.10-1_amd64.deb`` -> ``3.14.10-1`` (the epoch's ``%3a`` dropped)."""
    for deb in debs:
        name, version, _arch = deb.name[: -len(".deb")].split("_")
        if name == package:
            return version.split("%3a")[-1]
    raise PythonSetupError(f"download: {package} was not downloaded")


def unpack(debs: Sequence[Path], prefix: Path) -> None:
    dpkg_deb = _require("dpkg-deb", "unpack", "it comes with dpkg")
    if prefix.exists():
        shutil.rmtree(prefix)
    prefix.mkdir(parents=True)
    for deb in debs:
        _run(f"unpack {deb.name}", [dpkg_deb, "-x", str(deb), str(prefix)])


def _is_elf(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(4) == b"\x7fELF"
    except OSError:
        return False


def patch(layout: Layout) -> None:
    """Point the binaries at the prefix's loader and libraries; sysconfig, pyconfig.h and ensurepip at the prefix."""
    patchelf = _require(
        "patchelf", "patch", "install it with `apt-get install -y patchelf` (scripts/system_packages.py)"
    )
    loader = layout.loader
    rpath = ":".join(str(d) for d in layout.lib_dirs if d.is_dir())
    _run(
        "patch (interpreter)",
        [patchelf, "--set-interpreter", str(loader), "--force-rpath", "--set-rpath", rpath, str(layout.interpreter)],
    )
    libraries = [p for d in layout.lib_dirs for p in d.glob("libpython3.14*.so*") if p.is_file() and not p.is_symlink()]
    modules = sorted((layout.stdlib / "lib-dynload").glob("*.so"))
    if not modules:
        raise PythonSetupError(
            f"unpack: no extension modules under {layout.stdlib / 'lib-dynload'} (libpython3.14-stdlib missing?)"
        )
    for binary in libraries + modules:
        if _is_elf(binary):
            _run(f"patch ({binary.name})", [patchelf, "--force-rpath", "--set-rpath", rpath, str(binary)])
    prefix = str(layout.prefix)
    for config in [*layout.stdlib.glob("_sysconfigdata_*.py"), *layout.stdlib.glob("_sysconfig_vars_*.json")]:
        text = config.read_text(encoding="utf-8")
        # Every standalone absolute /usr path (quoted, after = or a space) moves into the prefix;
        # compiler flags such as -I/usr/include keep pointing at the system, which builds extensions.
        text = re.sub(r"(?<![\w./-])/usr(?=/|['\" ]|$)", prefix + "/usr", text)
        config.write_text(text, encoding="utf-8")
    real = layout.prefix / "usr" / "include" / layout.triplet / "python3.14" / "pyconfig.h"
    wrapper = layout.prefix / "usr" / "include" / "python3.14" / "pyconfig.h"
    if real.is_file():
        wrapper.unlink(missing_ok=True)
        shutil.copyfile(real, wrapper)
    ensurepip = layout.stdlib / "ensurepip" / "__init__.py"
    if ensurepip.is_file():
        text = ensurepip.read_text(encoding="utf-8")
        ensurepip.write_text(
            text.replace("/usr/share/python-wheels", prefix + "/usr/share/python-wheels"), encoding="utf-8"
        )


def check(interpreter: Path) -> Version:
    script = f"import sys, {', '.join(CHECK_MODULES)}; print('%d.%d.%d' % sys.version_info[:3])"
    result = subprocess.run([str(interpreter), "-c", script], capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise PythonSetupError(f"check: {interpreter} does not run or lacks a module:\n{result.stderr.strip()[-2000:]}")
    version = python_version(str(interpreter))
    if version is None or version < MINIMUM:
        raise PythonSetupError(
            f"check: {interpreter} is Python {version}, Home Assistant needs >= {version_text(MINIMUM)}"
        )
    return version


def set_up_from_debian(root: Path | None = None) -> str:
    """Download, unpack, patch and check sid's python3.14 under the cache; the interpreter's path."""
    base = root or cache_root()
    started = time.monotonic()
    arch, triplet, loader_name = architecture()
    mirror = debian_mirror()
    apt = PrivateApt(base / "apt", mirror, arch)
    apt.prepare()
    say(f"download: {len(PACKAGES)} packages from {mirror} {SUITE} ({arch}) with a private apt configuration")
    apt.update()
    debs = apt.download(PACKAGES, base / "debs")
    size_mb = sum(deb.stat().st_size for deb in debs) / 1e6
    version = deb_version(debs, "python3.14")
    say(f"download: done, {size_mb:.0f} MB, python3.14 {version}, libc6 {deb_version(debs, 'libc6')}")
    layout = Layout(base / f"python-{version}", triplet, loader_name)
    say(f"unpack: into {layout.prefix}")
    unpack(debs, layout.prefix)
    say("patch: loader and library path (patchelf), sysconfig, pyconfig.h, ensurepip")
    patch(layout)
    say(f"check: {layout.interpreter} imports {', '.join(CHECK_MODULES)}")
    found = check(layout.interpreter)
    versions = "".join(f"{deb.name}\n" for deb in debs)
    (layout.prefix / STAMP).write_text(versions, encoding="utf-8")
    shutil.rmtree(base / "debs", ignore_errors=True)
    say(f"ready: Python {version_text(found)} in {time.monotonic() - started:.0f} s ({layout.interpreter})")
    return str(layout.interpreter)


def ensure(explicit: str | None = None) -> tuple[str, Version]:
    """A Python >= 3.14.2: found (no network), or set up from Debian's packages once."""
    found, tried = find_python(explicit, minimum=MINIMUM)
    if found is None:
        say(f"no Python >= {version_text(MINIMUM)} found (tried: {'; '.join(tried) or 'nothing'}); setting one up")
        found = set_up_from_debian()
    version = python_version(found)
    if version is None or version < MINIMUM:
        raise PythonSetupError(f"check: {found} does not answer as Python >= {version_text(MINIMUM)}")
    return found, version


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--python", default=None, help="use this interpreter if it is >= 3.14.2")
    args = parser.parse_args(argv)
    try:
        interpreter, version = ensure(args.python)
    except PythonSetupError as exc:
        print(f"ha_python: error: {exc}", file=sys.stderr)
        return 2
    say(f"using {interpreter} (Python {version_text(version)})")
    print(interpreter)
    return 0


if __name__ == "__main__":
    sys.exit(main())
