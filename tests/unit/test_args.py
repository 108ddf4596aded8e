"""The shared apps.yaml parsing and the one time-zone helper: every message names the key and its value."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest

from apsystems.budget.config import parse_budget_args
from apsystems.common.args import APPDAEMON_KEYS, parse_credentials
from apsystems.common.months import zone, zone_or
from apsystems.inverters.config import parse_inverters_args
from apsystems.production.config import parse_production_args

GOOD = {"app_id": "0123456789abcdef", "app_secret": "s3cret-value", "sid": "AZ12649A3DFF"}


def budget(**args: Any) -> Any:
    return parse_budget_args(
        {"app_id": GOOD["app_id"], "sid": GOOD["sid"], **args},
        default_latitude=51.5,
        default_longitude=0.0,
        default_time_zone="Europe/London",
    )


@pytest.mark.parametrize("sid", ["AZ12 649A3DFF", "../../../escaped", "ÄÖÜ☀", "a.b", "x" * 65])
@pytest.mark.parametrize("parse", [parse_production_args, parse_inverters_args])
def test_bad_sid_is_refused_naming_the_key_and_value(parse: Any, sid: str) -> None:
    with pytest.raises(ValueError, match=r"^sid ") as failure:
        parse({**GOOD, "sid": sid})
    assert repr(sid) in str(failure.value)


def test_bad_sid_refused_by_the_budget_app_too() -> None:
    with pytest.raises(ValueError, match=re.escape("sid '../x' of the budget app")):
        budget(sid="../x")


def test_a_list_for_sid_is_not_called_missing() -> None:
    with pytest.raises(ValueError, match=r"sid \['AZ1'\] must be a text"):
        parse_credentials({**GOOD, "sid": ["AZ1"]}, "production app")


def test_a_secret_of_the_wrong_type_is_named_but_not_shown() -> None:
    with pytest.raises(ValueError, match="app_secret int must be a text") as failure:
        parse_credentials({**GOOD, "app_secret": 123456}, "production app")
    assert "123456" not in str(failure.value)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"latitude": "north"}, "latitude 'north' must be a number of degrees from -90 to 90"),
        ({"longitude": 200}, "longitude 200 must be a number of degrees from -180 to 180"),
        ({"monthly_quota": 0}, "monthly_quota 0 must be an integer"),
        ({"time_zone": "Mars/Base"}, "time_zone: time zone 'Mars/Base'"),
    ],
)
def test_budget_messages_name_the_apps_yaml_key(args: dict[str, Any], expected: str) -> None:
    with pytest.raises(ValueError) as failure:
        budget(**args)
    assert expected in str(failure.value)


def test_every_parser_accepts_appdaemons_own_keys() -> None:
    own = dict.fromkeys(APPDAEMON_KEYS, "x")
    parse_production_args({**GOOD, **own})
    parse_inverters_args({**GOOD, **own})
    budget(**own)


@pytest.mark.parametrize(
    ("name", "offset"),
    [("GMT+8", 8 * 60), ("UTC+05:30", 5 * 60 + 30), ("UTC-3", -3 * 60), ("gmt+0800", 8 * 60), ("UTC+0", 0)],
)
def test_offset_time_zones_are_understood(name: str, offset: int) -> None:
    assert datetime(2027, 1, 1, tzinfo=zone(name)).utcoffset() == timedelta(minutes=offset)
    assert str(zone(name)) == name  # a name that round-trips through the state files


def test_iana_names_keep_their_rules() -> None:
    assert datetime(2027, 7, 1, tzinfo=zone("Europe/London")).utcoffset() == timedelta(hours=1)
    assert datetime(2027, 7, 1, tzinfo=zone("Etc/GMT+8")).utcoffset() == timedelta(hours=-8)  # POSIX sign


def test_anything_else_falls_back_with_one_warning() -> None:
    warnings: list[str] = []
    for _ in range(3):
        assert str(zone_or("Mars/Olympus_Mons", "Europe/Paris", warnings.append)) == "Europe/Paris"
    assert len(warnings) == 1 and "Mars/Olympus_Mons" in warnings[0] and "Europe/Paris" in warnings[0]
    with pytest.raises(ValueError, match="UTC\\+25"):
        zone("UTC+25")
