"""Install the Debian packages the test suite needs, where they are missing.

``make test`` runs it before building Home Assistant's venv:

* ``patchelf``: points Debian sid's Python 3.14 at its private prefix (``scripts/ha_python.py``);
* ``chromium``, ``chromium-driver`` and ``fonts-liberation``: the headless browser that renders the dashboard in Home
  Assistant's real frontend (``tests/e2e/test_06_dashboard.py``; Playwright drives Debian's
  Chromium and never downloads a browser of its own);
* ``mosquitto``: the real MQTT broker the ``publish: mqtt`` tests start on 127.0.0.1.

Each is looked up by the command (or font file) it provides; when all are there nothing runs (no network).
Otherwise ``apt-get update`` and ``apt-get install -y --no-install-recommends`` of the missing
ones, as root (or through ``sudo -n``); without either, a clear error lists what to install.

Usage: ``python3 -m scripts.system_packages``. Standard library only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

# Debian package -> the command (or absolute file) it provides
PACKAGES: dict[str, str] = {
    "patchelf": "patchelf",
    "chromium": "chromium",
    "chromium-driver": "chromedriver",
    # a Recommends of chromium (installed without recommends): text in the screenshot
    "fonts-liberation": "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    # the MQTT broker of the `publish: mqtt` tests (tests/support/mosquitto.py)
    "mosquitto": "/usr/sbin/mosquitto",
}


class PackagesError(RuntimeError):
    """The packages are missing and cannot be installed here."""


def _present(provided: str) -> bool:
    return Path(provided).is_file() if provided.startswith("/") else shutil.which(provided) is not None


def missing(packages: dict[str, str] = PACKAGES) -> list[str]:
    return [package for package, provided in packages.items() if not _present(provided)]


def _privilege_prefix() -> list[str]:
    if os.geteuid() == 0:
        return []
    sudo = shutil.which("sudo")
    if sudo is not None and subprocess.run([sudo, "-n", "true"], capture_output=True, check=False).returncode == 0:  # noqa: S603
        return [sudo, "-n"]
    return ["<no root>"]


def install(packages: list[str]) -> None:
    apt_get = shutil.which("apt-get")
    if apt_get is None:
        raise PackagesError(f"apt-get is missing; install {', '.join(packages)} with this system's package manager")
    prefix = _privilege_prefix()
    if prefix == ["<no root>"]:
        raise PackagesError(
            f"{', '.join(packages)} missing and this user cannot install them (not root, no password-less sudo):"
            f" run `sudo apt-get update && sudo apt-get install -y {' '.join(packages)}`"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    started = time.monotonic()
    print(f"system_packages: installing {', '.join(packages)} (apt-get update, then install)", flush=True)
    for argv in (
        [*prefix, apt_get, "-q", "update"],
        [*prefix, apt_get, "-q", "install", "-y", "--no-install-recommends", *packages],
    ):
        result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)  # noqa: S603
        if result.returncode != 0:
            tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
            raise PackagesError(f"`{' '.join(argv)}` failed (exit {result.returncode}):\n{tail}")
    still = missing({package: PACKAGES[package] for package in packages})
    if still:
        raise PackagesError(f"installed, but what {', '.join(still)} provide is still missing")
    print(f"system_packages: ready in {time.monotonic() - started:.0f} s", flush=True)


def main() -> int:
    needed = missing()
    if not needed:
        print(f"system_packages: {', '.join(PACKAGES)} already installed")
        return 0
    try:
        install(needed)
    except PackagesError as exc:
        print(f"system_packages: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
