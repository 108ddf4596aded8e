"""What the apps take from an event or a button's state change: the system it is for, a press."""

from __future__ import annotations

from apsystems.ha.support import for_system, pressed


def test_an_event_is_for_its_system_or_for_every_system() -> None:
    assert for_system(None, "B0XD123A3BHJ") and for_system({}, "B0XD123A3BHJ")
    assert for_system({"sid": " b0xd123a3bhj "}, "B0XD123A3BHJ")
    assert not for_system({"sid": "OTHERSYSTEM1"}, "B0XD123A3BHJ")


def test_a_press_changes_the_timestamp_and_ha_coming_back_is_none() -> None:
    assert pressed("2026-06-21T10:00:00+00:00", "2026-06-21T11:00:00+00:00")
    assert pressed("unknown", "2026-06-21T11:00:00+00:00")
    assert not pressed("unavailable", "2026-06-21T11:00:00+00:00")
    assert not pressed("2026-06-21T11:00:00+00:00", "unavailable")
    assert not pressed("2026-06-21T11:00:00+00:00", "2026-06-21T11:00:00+00:00")
