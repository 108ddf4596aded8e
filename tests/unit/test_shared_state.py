"""The production share survives a round trip and rejects malformed attributes."""

from datetime import UTC, datetime

from apsystems.production.share import ProductionShare, production_entity


def test_round_trip() -> None:
    share = ProductionShare("AZ1", 2.5, datetime(2025, 6, 21, 12, 5, tzinfo=UTC), 1200.0, True, "Europe/London")
    state, attributes = share.to_state()
    assert state == "2.500"
    assert ProductionShare.from_attributes(attributes) == share
    assert production_entity("AZ1") == "apsystems.production_az1"


def test_malformed_is_none() -> None:
    good = ProductionShare("AZ1", 1.0, datetime(2025, 6, 21, tzinfo=UTC), 900.0, False, None).to_state()[1]
    for broken in (
        {},
        {**good, "measured_at": "2025-06-21T12:00:00"},
        {**good, "power_kw": "1"},
        {**good, "poll_interval_s": None},
        {**good, "measured_at": "x"},
    ):
        assert ProductionShare.from_attributes(broken) is None
