"""Fixtures for running apps in a real AppDaemon: see tests/support/appdaemon_harness.py."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any, Protocol

import pytest

from tests.support.appdaemon_harness import AppDaemonHarness

FIXTURE_APPS = Path(__file__).resolve().parent / "fixture_apps"
PROBE_PACKAGE = FIXTURE_APPS / "probe"


class HarnessFactory(Protocol):
    async def __call__(
        self, apps: Mapping[str, Mapping[str, Any]], *, name: str = ..., **kwargs: Any
    ) -> AppDaemonHarness: ...


@pytest.fixture
async def appdaemon_factory(tmp_path: Path) -> AsyncIterator[HarnessFactory]:
    """Start AppDaemon harnesses in ``tmp_path/<name>``; all are stopped at teardown, pass or fail.

    ``await appdaemon_factory(apps, **AppDaemonHarness kwargs)``; default packages are the repo's.
    """
    started: list[AppDaemonHarness] = []

    async def make(
        apps: Mapping[str, Mapping[str, Any]], *, name: str = "appdaemon", **kwargs: Any
    ) -> AppDaemonHarness:
        harness = AppDaemonHarness(tmp_path / name, apps, **kwargs)
        started.append(harness)
        await harness.start()
        return harness

    try:
        yield make
    finally:
        for harness in reversed(started):
            await harness.stop()
