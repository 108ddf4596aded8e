"""Create ``.venv-ha``: Home Assistant for the end-to-end suite, pinned, on its own Python.

``make e2e-env`` (and so ``make test``) runs it. Home Assistant never goes into ``.venv``
(AppDaemon's venv): the two pin conflicting versions of aiohttp, pydantic and more.

Home Assistant 2026.11 needs Python >= 3.14.2: ``scripts/ha_python.py`` finds one or sets one
up from Debian's binary packages (cached outside the checkout). Besides ``homeassistant`` this
installs every package Home Assistant would otherwise install by itself at its first start with
the suite's configuration (seen in its log as "Attempting install of"): the two-factor login
modules' ``pyotp`` and ``PyQRCode``, the ``frontend``'s ``home-assistant-frontend`` and the
requirements of the default integrations that bootstrap loads (conversation, assist pipeline,
tts, camera, ffmpeg, hassio, infrared, radio frequency), so the suite starts it with
``--skip-pip`` and never depends on installs at run time. After installing, every pin is
checked against the installed release's own manifests (or its ``package_constraints.txt``),
so a Home Assistant bump cannot leave them stale.

Idempotent: a stamp file keyed on the pins and the interpreter makes a rerun a no-op. A
stamp with other pins rebuilds the venv from scratch. Only PyPI (pip) is contacted here.

Usage: ``python3 -m scripts.ha_env [--venv .venv-ha] [--python /path/to/python3.14]``.
Standard library only: it runs with whatever ``python3`` runs make.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from scripts import ha_python

REPO = Path(__file__).resolve().parents[1]
DEFAULT_VENV = REPO / ".venv-ha"
STAMP_NAME = ".e2e-installed"

HA_VERSION = "2026.11.0"
PYTHON_MINIMUM = (3, 14, 2)  # homeassistant 2026.3+: requires-python >= 3.14.2
PYTHON_BELOW = (3, 15)
# What Home Assistant asks for at run time; each is checked against the source named beside it.
PINS: tuple[str, ...] = (
    f"homeassistant=={HA_VERSION}",
    "pyotp==2.10.0",  # auth/mfa_modules/totp.py and notify.py: REQUIREMENTS
    "PyQRCode==1.2.1",  # auth/mfa_modules/totp.py: REQUIREMENTS
    "home-assistant-frontend==20261028.4",  # components/frontend/manifest.json
    "hassil==3.12.1",  # components/conversation (and assist_satellite)
    "home-assistant-intents==2026.10.27",  # components/conversation
    "gazetteer-matcher==1.1.0",  # components/conversation
    "pymicro-vad==1.0.1",  # components/assist_pipeline
    "pyspeex-noise==1.0.2",  # components/assist_pipeline
    "mutagen==1.48.1",  # components/tts
    "PyTurboJPEG==1.8.3",  # components/camera
    "ha-ffmpeg==3.2.2",  # components/ffmpeg
    "aiohasupervisor==0.8.1",  # components/hassio
    "infrared-protocols==10.5.0",  # components/infrared
    "rf-protocols==4.3.0",  # components/radio_frequency
    "numpy==2.3.2",  # package_constraints.txt (stream, trend, ...)
    "paho-mqtt==2.1.0",  # components/mqtt/manifest.json (the publish: mqtt end-to-end tests)
)
# Pulled in by the pins above; pinned for a reproducible venv, checked only by pip's resolver.
TRANSITIVE_PINS: tuple[str, ...] = (
    "async-timeout==4.0.3",
    "unicode-rbnf==2.4.1",
)


class EnvError(RuntimeError):
    """Something the user has to fix (missing interpreter, failed install)."""


def find_python(explicit: str | None = None) -> tuple[str, tuple[int, int, int]]:
    """A Python for this release: found (``--python``, ``HA_PYTHON``, PATH, pyenv, cache) or set up once."""
    found, tried = ha_python.find_python(explicit, minimum=PYTHON_MINIMUM, below=PYTHON_BELOW)
    if found is None:
        tried_text = "; ".join(tried) or "nothing to try"
        print(f"{DEFAULT_VENV.name}: no Python {ha_python.version_text(PYTHON_MINIMUM)}+ found ({tried_text})")
        try:
            found = ha_python.set_up_from_debian()
        except ha_python.PythonSetupError as exc:
            raise EnvError(
                f"Home Assistant {HA_VERSION} needs Python >= {ha_python.version_text(PYTHON_MINIMUM)}; none was found"
                f" and setting one up failed: {exc}. Install one (e.g. `pyenv install 3.14`) and pass --python or"
                " set HA_PYTHON."
            ) from exc
    version = ha_python.python_version(found)
    if version is None:
        raise EnvError(f"{found} does not run")
    return found, version


def stamp_text(python_version: tuple[int, int, int]) -> str:
    key = json.dumps({"pins": [*PINS, *TRANSITIVE_PINS], "python": list(python_version)}, sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest() + "\n" + key + "\n"


def installed_requirements(venv: Path) -> dict[str, set[str]]:
    """Every ``name==version`` the installed release asks for (its manifests, login modules, constraints).

    By lower-case name with ``_`` as ``-``; a name asked for at several versions maps to all of them.
    """
    script = (
        "import json, pathlib, homeassistant\n"
        "from homeassistant.auth.mfa_modules import totp, notify\n"
        "from homeassistant.const import __version__\n"
        "root = pathlib.Path(homeassistant.__file__).parent\n"
        "reqs = list(totp.REQUIREMENTS) + list(notify.REQUIREMENTS)\n"
        "for manifest in sorted(root.glob('components/*/manifest.json')):\n"
        "    reqs += json.loads(manifest.read_text()).get('requirements', [])\n"
        "for line in (root / 'package_constraints.txt').read_text().splitlines():\n"
        "    if '==' in line and not line.startswith('#'):\n"
        "        reqs.append(line.strip())\n"
        "print(json.dumps({'version': __version__, 'requirements': reqs}))\n"
    )
    out = subprocess.run(  # noqa: S603 - the venv's own interpreter
        [str(venv / "bin" / "python"), "-c", script], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    data = json.loads(out)
    found: dict[str, set[str]] = {"homeassistant": {str(data["version"])}}
    for requirement in data["requirements"]:
        name, _, version = str(requirement).partition("==")
        found.setdefault(_normal(name), set()).add(version.split(";")[0].strip())
    return found


def _normal(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def check_pins(venv: Path) -> None:
    """Each pin must be exactly what the installed release asks for; stale pins fail with the wanted version."""
    found = installed_requirements(venv)
    stale: list[str] = []
    for pin in PINS:
        name, _, version = pin.partition("==")
        wanted = found.get(_normal(name), set())
        if wanted != {version}:
            asked = ", ".join(sorted(wanted)) or "nothing (no longer a requirement)"
            stale.append(f"{name}: pinned {version}, Home Assistant {HA_VERSION} asks for {asked}")
    if stale:
        raise EnvError("scripts/ha_env.py PINS are out of step with the installed release: " + "; ".join(stale))


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
    extra = len(PINS) - 1 + len(TRANSITIVE_PINS)
    print(f"{venv.name}: installing Home Assistant {HA_VERSION} and {extra} pinned packages it needs", flush=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check"]
    if quiet:
        pip.append("--quiet")
    result = subprocess.run([*pip, *PINS, *TRANSITIVE_PINS], check=False)  # noqa: S603 - our venv's pip, our pins
    if result.returncode != 0:
        raise EnvError(f"pip install into {venv} failed (exit {result.returncode}); see the output above")
    check_pins(venv)
    stamp.write_text(wanted, encoding="utf-8")
    print(f"{venv.name}: ready in {time.monotonic() - started:.0f} s")
    return hass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV, help="where to create it (default: .venv-ha)")
    parser.add_argument("--python", default=None, help="a Python >= 3.14.2 (default: search, else set one up)")
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
