"""A fake cloud per test, with a fixed clock at a summer midday in London."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from apsystems.api.client import ApsystemsClient, RequestRecord
from fakes.apsystems_cloud import DEFAULT_APP_ID, DEFAULT_APP_SECRET, FakeCloud, preset

MIDDAY = datetime(2026, 6, 15, 12, 7, tzinfo=timezone.utc)


@pytest.fixture
def cloud() -> Iterator[FakeCloud]:
    with FakeCloud(site=preset("demo")) as fake:
        fake.clock.set_fixed(MIDDAY)
        yield fake


@pytest.fixture
def sent() -> list[RequestRecord]:
    return []


@pytest.fixture
def client(cloud: FakeCloud, sent: list[RequestRecord]) -> Iterator[ApsystemsClient]:
    api = ApsystemsClient(
        DEFAULT_APP_ID,
        DEFAULT_APP_SECRET,
        base_url=cloud.url,
        on_request=sent.append,
        connect_timeout_s=2,
        read_timeout_s=2,
        clock=cloud.clock.timestamp,
    )
    yield api
    api.close()
