"""Inverter telemetry from the fake cloud's longest day: sizes, and batch against detail."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from apsystems.api.client import ApsystemsClient
from apsystems.inverters.entities import InverterIdentity, attribute_sizes, inverter_states
from apsystems.inverters.telemetry import ATTRIBUTE_LIMIT_BYTES, from_batch, from_minutely, power_view
from fakes.apsystems_cloud import DEFAULT_APP_ID, DEFAULT_APP_SECRET, FakeCloud

BERLIN = ZoneInfo("Europe/Berlin")
SOLSTICE = date(2026, 6, 21)


@pytest.fixture
def large() -> Iterator[tuple[FakeCloud, ApsystemsClient]]:
    with FakeCloud(site="large") as fake:
        fake.clock.set_fixed(datetime.combine(SOLSTICE, time(23, 30), tzinfo=BERLIN))
        api = ApsystemsClient(DEFAULT_APP_ID, DEFAULT_APP_SECRET, base_url=fake.url, clock=fake.clock.timestamp)
        yield fake, api
        api.close()


def test_four_channel_inverters_on_the_longest_day(large: tuple[FakeCloud, ApsystemsClient]) -> None:
    cloud, api = large
    worst = (0, "")
    points = 0
    for ecu in cloud.site.ecus:
        batch = api.batch_power(cloud.sid, ecu.eid, SOLSTICE)
        for inv in ecu.inverters:
            if len(inv.panels_w) != 4:
                continue
            detail = from_minutely(api.inverter_energy_minutely(cloud.sid, inv.uid, SOLSTICE), SOLSTICE)
            from_ecu = from_batch(batch, inv.uid, SOLSTICE)
            assert from_ecu is not None
            points = max(points, len(detail.times))
            # the two sources agree on DC power; the AC estimate is within the models' efficiency spread
            assert from_ecu.dc_power == detail.dc_power
            measured, estimated = power_view(detail), power_view(from_ecu)
            assert measured.ac_peak is not None and estimated.ac_peak is not None
            assert estimated.ac_peak == pytest.approx(measured.ac_peak, rel=0.03)
            who = InverterIdentity(inv.uid, inv.model, ecu.eid, 4)
            for d, b in ((detail, None), (detail, from_ecu), (None, from_ecu)):
                sizes = attribute_sizes(inverter_states(who, d, b, BERLIN))
                entity, size = max(sizes.items(), key=lambda kv: kv[1])
                worst = max(worst, (size, entity))
    print(f"fake cloud, {SOLSTICE} in Munich ({points} points): largest attributes {worst[0]} bytes ({worst[1]})")
    assert points > 150
    assert worst[0] < ATTRIBUTE_LIMIT_BYTES
