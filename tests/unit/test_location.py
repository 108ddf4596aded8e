"""Home Assistant's location and time zone win over AppDaemon's, with one clear warning."""

from __future__ import annotations

import pytest

from apsystems.common.location import Location, from_home_assistant, site_location

AMSTERDAM = Location(52.379189, 4.899431, "Europe/Amsterdam", "AppDaemon")
SYDNEY_HA = {"latitude": -33.8688, "longitude": 151.2093, "time_zone": "Australia/Sydney", "elevation": 58}


def test_home_assistant_location_wins_and_the_difference_is_named() -> None:
    location, warning = site_location(SYDNEY_HA, AMSTERDAM)
    assert location == Location(-33.8688, 151.2093, "Australia/Sydney", "Home Assistant")
    assert warning is not None
    assert "52.3792, 4.89943" in warning
    assert "-33.8688, 151.209" in warning
    assert "Europe/Amsterdam (Home Assistant: Australia/Sydney)" in warning


def test_same_place_within_half_a_degree_gives_no_warning() -> None:
    near = {"latitude": 52.6, "longitude": 5.2, "time_zone": "Europe/Amsterdam"}
    location, warning = site_location(near, AMSTERDAM)
    assert location.source == "Home Assistant"
    assert warning is None


def test_only_the_time_zone_differs() -> None:
    other_zone = {"latitude": 52.379189, "longitude": 4.899431, "time_zone": "Europe/Berlin"}
    _, warning = site_location(other_zone, AMSTERDAM)
    assert warning is not None
    assert "location" not in warning.split(";")[0]
    assert "time zone Europe/Amsterdam (Home Assistant: Europe/Berlin)" in warning


@pytest.mark.parametrize(
    "config",
    [
        None,
        "not a mapping",
        {},
        {"latitude": "north", "longitude": 4.9, "time_zone": "Europe/Amsterdam"},
        {"latitude": 95, "longitude": 4.9, "time_zone": "Europe/Amsterdam"},
        {"latitude": 52.0, "longitude": float("nan"), "time_zone": "Europe/Amsterdam"},
        {"latitude": True, "longitude": 4.9, "time_zone": "Europe/Amsterdam"},
        {"latitude": 52.0, "longitude": 4.9, "time_zone": ""},
        {"latitude": 52.0, "longitude": 4.9},
    ],
)
def test_unusable_home_assistant_config_falls_back_to_appdaemon(config: object) -> None:
    assert from_home_assistant(config) is None
    assert site_location(config, AMSTERDAM) == (AMSTERDAM, None)


def test_numbers_as_strings_are_accepted() -> None:
    location = from_home_assistant({"latitude": "-33.8688", "longitude": "151.2093", "time_zone": "Australia/Sydney"})
    assert location is not None
    assert location.latitude == pytest.approx(-33.8688)
