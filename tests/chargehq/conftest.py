"""Shared fixtures: a fake clock and the local Charge HQ receiver on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from fakes.chargehq_receiver import ChargeHQReceiver

API_KEY = "3f2b8c1e-9d4a-4e7b-a6c5-0f1e2d3c4b5a"
T0 = datetime(2024, 6, 15, 12, 0, 0, tzinfo=timezone.utc)


class FakeClock:
    """A clock that only moves when told to; shared by the sender and the receiver."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now

    def monotonic(self) -> float:
        return self.now.timestamp()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def receiver(clock: FakeClock) -> Iterator[ChargeHQReceiver]:
    with ChargeHQReceiver(API_KEY, clock=clock.monotonic, wall_clock=clock, max_lifetime_s=120) as server:
        yield server
