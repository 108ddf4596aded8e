"""Create ``.venv-ha``: Home Assistant for the end-to-end suite, on Python 3.13, pinned.

``make e2e-env`` (and so ``make test``) runs it. Home Assistant never goes into ``.venv``
(AppDaemon's venv): the two pin conflicting versions of aiohttp, pydantic and more.

Besides ``homeassistant`` it installs the packages Home Assistant would otherwise install by
itself on its first start (the two-factor login modules' ``pyotp`` and ``PyQRCode``, and the
``frontend`` integration's ``home-assistant-frontend``, which bootstrap always loads), at the
versions this release asks for, so the suite can start it with ``--skip-pip`` and never
depends on installs at run time. After installing, the script checks those pins against the
installed release's own manifests, so a Home Assistant bump cannot leave them stale.

Idempotent: a stamp file keyed on the pins and the interpreter makes a rerun a no-op. A
stamp with other pins rebuilds the venv from scratch. Only PyPI (pip) is contacted.

Usage: ``python3 scripts/ha_env.py [--venv .venv-ha] [--python /path/to/python3.13]``.
Standard library only: it runs with whatever ``python3`` runs make.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_VENV = REPO / ".venv-ha"
STAMP_NAME = ".e2e-installed"

HA_VERSION = "2025.4.4"
PINS: tuple[str, ...] = (
    f"homeassistant=={HA_VERSION}",
    # homeassistant/auth/mfa_modules/totp.py and notify.py: REQUIREMENTS
    "pyotp==2.8.0",
    "PyQRCode==1.2.1",
    # homeassistant/components/frontend/manifest.json: requirements
    "home-assistant-frontend==20250411.0",
)
PYTHON_MINOR = (3, 13)


class EnvError(RuntimeError):
    """Something the user has to fix (missing interpreter, failed install)."""


def _python_version(candidate: str) -> tuple[int, int, int] | None:
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
        return None  # e.g. a pyenv shim that answers "python3.13: command not found"
    major, minor, micro = (int(part) for part in match.groups())
    return major, minor, micro


def _pyenv_roots() -> list[Path]:
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


def find_python(explicit: str | None = None) -> tuple[str, tuple[int, int, int]]:
    """A working Python 3.13: ``--python``/``HA_PYTHON``, ``python3.13`` on PATH, then pyenv's versions."""
    candidates: list[str] = []
    for given in (explicit, os.environ.get("HA_PYTHON")):
        if given:
            candidates.append(given)
    on_path = shutil.which("python3.13")
    if on_path:
        candidates.append(on_path)
    for root in _pyenv_roots():
        candidates += sorted(glob.glob(str(root / "versions" / "3.13*" / "bin" / "python3.13")), reverse=True)
    tried: list[str] = []
    for candidate in dict.fromkeys(candidates):
        version = _python_version(candidate)
        tried.append(f"{candidate} ({'.'.join(map(str, version)) if version else 'does not run'})")
        if version is not None and version[:2] == PYTHON_MINOR:
            return candidate, version
    raise EnvError(
        f"Home Assistant {HA_VERSION} needs Python 3.13, and none was found. Tried: "
        + ("; ".join(tried) or "nothing (no python3.13 on PATH, no pyenv 3.13.x)")
        + ". Install Python 3.13 (e.g. `pyenv install 3.13.0`) or pass --python / set HA_PYTHON."
    )


def stamp_text(python_version: tuple[int, int, int]) -> str:
    key = json.dumps({"pins": list(PINS), "python": list(python_version)}, sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest() + "\n" + key + "\n"


def installed_requirements(venv: Path) -> dict[str, str]:
    """What the installed release itself asks for at run time (``name==version``, by lower-case name)."""
    script = (
        "import json, homeassistant, pathlib\n"
        "from homeassistant.auth.mfa_modules import totp, notify\n"
        "root = pathlib.Path(homeassistant.__file__).parent\n"
        "reqs = list(totp.REQUIREMENTS) + list(notify.REQUIREMENTS)\n"
        "reqs += json.loads((root / 'components/frontend/manifest.json').read_text())['requirements']\n"
        "from homeassistant.const import __version__\n"
        "print(json.dumps({'version': __version__, 'requirements': reqs}))\n"
    )
    out = subprocess.run(  # noqa: S603 - the venv's own interpreter
        [str(venv / "bin" / "python"), "-c", script], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    data = json.loads(out)
    found = {"homeassistant": str(data["version"])}
    for requirement in data["requirements"]:
        name, _, version = str(requirement).partition("==")
        found[name.lower()] = version
    return found


def check_pins(venv: Path) -> None:
    wanted = {name.lower(): version for name, _, version in (pin.partition("==") for pin in PINS)}
    found = installed_requirements(venv)
    stale = {name: (version, found.get(name)) for name, version in wanted.items() if found.get(name) != version}
    if stale:
        details = ", ".join(f"{name}: pinned {pin}, Home Assistant wants {want}" for name, (pin, want) in stale.items())
        raise EnvError(f"scripts/ha_env.py PINS are out of step with the installed release: {details}")


def ensure(venv: Path, python: str | None = None, *, quiet: bool = True) -> Path:
    """Make ``venv`` hold the pinned Home Assistant; returns the path of its ``hass``."""
    hass = venv / "bin" / "hass"
    stamp = venv / STAMP_NAME
    interpreter, version = find_python(python)
    wanted = stamp_text(version)
    if stamp.is_file() and hass.is_file() and stamp.read_text(encoding="utf-8") == wanted:
        print(f"{venv.name}: Home Assistant {HA_VERSION} already installed (Python {'.'.join(map(str, version))})")
        return hass
    started = time.monotonic()
    if stamp.is_file() or (venv.exists() and not (venv / "bin" / "python").is_file()):
        print(f"{venv.name}: pins or interpreter changed; rebuilding from scratch")
        shutil.rmtree(venv)
    if not venv.exists():
        print(f"{venv.name}: creating with {interpreter} (Python {'.'.join(map(str, version))})")
        subprocess.run([interpreter, "-m", "venv", str(venv)], check=True)  # noqa: S603
    print(f"{venv.name}: installing {' '.join(PINS)} (about 2-3 minutes the first time)", flush=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check"]
    if quiet:
        pip.append("--quiet")
    result = subprocess.run([*pip, *PINS], check=False)  # noqa: S603 - our venv's pip, our pins
    if result.returncode != 0:
        raise EnvError(f"pip install into {venv} failed (exit {result.returncode}); see the output above")
    check_pins(venv)
    stamp.write_text(wanted, encoding="utf-8")
    print(f"{venv.name}: ready in {time.monotonic() - started:.0f} s")
    return hass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV, help="where to create it (default: .venv-ha)")
    parser.add_argument("--python", default=None, help="a Python 3.13 interpreter (default: search)")
    parser.add_argument("--verbose", action="store_true", help="show pip's output")
    args = parser.parse_args(argv)
    try:
        ensure(args.venv.resolve(), args.python, quiet=not args.verbose)
    except EnvError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
