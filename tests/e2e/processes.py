"""Child processes of the end-to-end suite: each in its own process group, always stopped.

Every process is started with ``start_new_session=True`` so that it and anything it spawns
share one process group; ``stop()`` sends SIGTERM to the group, waits, then SIGKILLs it.
A module-level registry stops whatever is still running when the interpreter exits (a
crash or an interrupted run), on top of the fixtures' finalizers; and each child asks the
kernel for SIGTERM should pytest itself die without cleaning up (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ctypes.util
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, TypeVar

_T = TypeVar("_T")
_running: list[ManagedProcess] = []
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the parent goes away (Linux; ignored elsewhere)."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class ManagedProcess:
    """One long-running child (Home Assistant or AppDaemon) with its output in a log file."""

    def __init__(self, name: str, argv: Sequence[str], log_path: Path, *, env: Mapping[str, str] | None = None) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError(f"{self.name} is not started")
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self._process is None else self._process.poll()

    def start(self) -> None:
        if self.running:
            raise RuntimeError(f"{self.name} is already running")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self._log.write(f"\n===== start {time.strftime('%H:%M:%S')}: {' '.join(self.argv)}\n".encode())
        self._log.flush()
        self._process = subprocess.Popen(  # our venvs' executables, our arguments
            self.argv,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=self.env,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - only prctl, before exec
        )
        _running.append(self)

    @contextlib.contextmanager
    def frozen(self) -> Iterator[None]:
        """SIGSTOP the process group for the ``with`` block: it keeps its sockets open but runs no
        code, so nothing it would publish meanwhile can be mistaken for what others kept."""
        _signal_group(self.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            _signal_group(self.pid, signal.SIGCONT)

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM the process group, wait up to ``timeout``, then SIGKILL it. Idempotent."""
        process = self._process
        if process is None:
            return None
        if process.poll() is None:
            _signal_group(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _signal_group(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        # Anything the process left behind in its group goes too.
        _signal_group(process.pid, signal.SIGKILL)
        if self._log is not None:
            self._log.close()
            self._log = None
        if self in _running:
            _running.remove(self)
        return process.returncode

    def group_pids(self) -> set[int]:
        """The live processes of this process group (the process and its children)."""
        if not self.running:
            return set()
        pgid = self.pid
        found: set[int] = set()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # pid (comm) state ppid pgrp ...; comm may contain spaces and parentheses
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:
                found.add(int(entry.name))
        return found

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return f"({self.log_path} unreadable)"
        return "\n".join(text.splitlines()[-lines:])


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def stop_all() -> None:
    for process in list(reversed(_running)):
        process.stop(timeout=10)


atexit.register(stop_all)


def wait_for(
    what: str,
    probe: Callable[[], _T | None],
    *,
    timeout: float,
    interval: float = 0.5,
    context: Callable[[], str] | None = None,
) -> _T:
    """Call ``probe`` until it returns something other than None/False; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = probe()
        except Exception as exc:  # a server that is not up yet; remembered for the message
            last_error = exc
            value = None
        if value is not None and value is not False:
            return value
        if time.monotonic() >= deadline:
            message = f"timed out after {timeout:.0f} s waiting for {what}"
            if last_error is not None:
                message += f" (last error: {type(last_error).__name__}: {last_error})"
            if context is not None:
                message += "\n" + context()
            raise AssertionError(message)
        time.sleep(interval)
