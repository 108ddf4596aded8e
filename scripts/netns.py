"""Run a command in a private network namespace that has only the loopback interface.

``make test`` runs pytest through this, so that Home Assistant, AppDaemon and the fakes of
the end-to-end suite cannot reach, or listen on, anything but 127.0.0.1/::1: Home Assistant's
analytics opens mDNS listeners (UDP 5353) on every real interface it sees, and in the
namespace there is none. Everything else in the suite only uses 127.0.0.1, so the whole
pytest run can live in the namespace.

    python -m scripts.netns -- COMMAND [ARG...]

How: ``unshare --net`` (root), else ``unshare --user --map-root-user --net`` (unprivileged
user namespaces); inside, this module brings ``lo`` up itself (an ioctl, so ``ip`` is not
needed) and execs the command. Where neither works (a container without the capability, user
namespaces disabled) it says so and runs the command as it is; the end-to-end suite then
falls back to starting Home Assistant without its analytics integration (see
tests/e2e/homeassistant.py) and still checks that nothing listens beyond loopback.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import struct
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
_IFREQ = "16sH22x"  # struct ifreq: name, flags, rest of the union (40 bytes on Linux)
INSIDE_FLAG = "--inside"
ENV_MARK = "APS_NETNS"  # "private" inside the namespace, "none" when it could not be made


def bring_up_loopback() -> None:
    """``ip link set lo up`` without ``ip``."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack(_IFREQ, b"lo", 0)
        flags = struct.unpack(_IFREQ, fcntl.ioctl(sock.fileno(), SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock.fileno(), SIOCSIFFLAGS, struct.pack(_IFREQ, b"lo", flags | IFF_UP))


def only_loopback() -> bool:
    """True when this process's network namespace has no interface but ``lo``."""
    return [name for _index, name in socket.if_nameindex()] == ["lo"]


def unshare_prefix() -> list[str] | None:
    """The first ``unshare`` invocation that works here, or None."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return None
    for prefix in ([unshare, "--net"], [unshare, "--user", "--map-root-user", "--net"]):
        probe = subprocess.run([*prefix, "true"], capture_output=True, check=False)  # noqa: S603 - fixed arguments
        if probe.returncode == 0:
            return prefix
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    inside = bool(args) and args[0] == INSIDE_FLAG
    if inside:
        args = args[1:]
    if args and args[0] == "--":
        args = args[1:]
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    command = args
    if inside:
        bring_up_loopback()
        os.environ[ENV_MARK] = "private"
    elif only_loopback():
        os.environ.setdefault(ENV_MARK, "private")
    elif (prefix := unshare_prefix()) is not None:
        command = [*prefix, sys.executable, str(Path(__file__).resolve()), INSIDE_FLAG, "--", *args]
    else:
        print(
            "scripts/netns.py: cannot create a private network namespace here (no `unshare`, or neither"
            " `unshare --net` nor `unshare --user --map-root-user --net` is permitted); running without it."
            " The end-to-end suite then starts Home Assistant without its analytics integration.",
            file=sys.stderr,
        )
        os.environ[ENV_MARK] = "none"
    try:
        os.execvp(command[0], command)  # noqa: S606 - the command we were asked to run
    except OSError as exc:
        print(f"scripts/netns.py: cannot run {command[0]}: {exc}", file=sys.stderr)
    return 127


if __name__ == "__main__":
    sys.exit(main())
