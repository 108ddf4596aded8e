"""The history app's arguments: defaults, limits, and the token never shown."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from apsystems.history.config import parse_history_args

TODAY = date(2026, 6, 15)
BASE: dict[str, Any] = {"app_id": "a" * 32, "app_secret": "s" * 12, "sid": "AZ12649A3DFF"}


def test_defaults() -> None:
    cfg = parse_history_args(BASE, TODAY)
    assert (cfg.history_days, cfg.history_since, cfg.ha_url, cfg.ha_token) == (30, None, None, None)
    assert cfg.budget == "apsystems_budget"


def test_options_and_a_hidden_token() -> None:
    cfg = parse_history_args(
        BASE | {"history_days": 7, "history_since": "2025-01-02", "ha_url": "http://ha:8123", "ha_token": " t0k "},
        TODAY,
    )
    assert (cfg.history_days, cfg.history_since, cfg.ha_url, cfg.ha_token) == (
        7,
        date(2025, 1, 2),
        "http://ha:8123",
        "t0k",
    )
    assert "t0k" not in repr(cfg) and "s" * 12 not in repr(cfg)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"history_days": 0}, "history_days 0 must be"),
        ({"history_days": 91}, "from 1 to 90"),
        ({"history_days": True}, "history_days True"),
        ({"history_since": "01.02.2025"}, "like 2024-05-01"),
        ({"history_since": "2026-06-15"}, "before today"),
        ({"ha_url": "ha:8123"}, "ha_url 'ha:8123'"),
        ({"ha_token": ""}, "ha_token must be a text"),
        ({"history": 1}, "unknown argument"),
    ],
)
def test_bad_values_name_themselves(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_history_args(BASE | extra, TODAY)
