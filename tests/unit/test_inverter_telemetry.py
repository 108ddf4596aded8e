"""Telemetry from detail and batch: latest values, peaks, the freshest rule, thinning."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from apsystems.api.records import parse_batch_power, parse_inverter_minutely
from apsystems.inverters.entities import InverterIdentity, attribute_sizes, inverter_states
from apsystems.inverters.telemetry import (
    ATTRIBUTE_LIMIT_BYTES,
    SERIES_BUDGET_BYTES,
    SourceData,
    attribute_size,
    bucket_series,
    fit_series,
    freshest,
    from_batch,
    from_minutely,
    label_minutes,
    pack_series,
    power_view,
    unpack_series,
)

DAY = date(2026, 6, 21)
BERLIN = ZoneInfo("Europe/Berlin")

MINUTELY = {
    "t": ["12:00", "12:05", "12:10"],
    "dc_p1": ["180", "182", None],
    "dc_p2": ["176", "179", "150"],
    "dc_i1": ["5.1", "5.2", None],
    "dc_i2": ["5.0", "5.1", "4.2"],
    "dc_v1": ["35.2", "35.0", None],
    "dc_v2": ["35.1", "35.0", "34.9"],
    "ac_v1": ["231", "232", "233"],
    "ac_f": ["50.0", "50.01", "49.99"],
    "ac_t": ["38", "39", "40"],
    "ac_p1": ["345", "349", "300"],
}


def all_day_labels(step: int = 5) -> tuple[str, ...]:
    return tuple(f"{m // 60:02d}:{m % 60:02d}" for m in range(0, 24 * 60, step))


def test_from_minutely_latest_and_peaks() -> None:
    data = from_minutely(parse_inverter_minutely(MINUTELY), DAY)
    assert data.source == "detail" and data.channels == 2
    assert data.readings["dc_voltage_ch1"].value == 35.0 and data.readings["dc_voltage_ch1"].label == "12:05"
    assert data.readings["dc_voltage_ch2"].label == "12:10"
    assert data.readings["ac_voltage"].value == 233.0
    assert data.readings["frequency"].value == 49.99 and data.readings["temperature"].value == 40.0
    view = power_view(data)
    assert view.ac_estimated is False
    assert view.ac_latest is not None and view.ac_latest.value == 300.0
    assert view.ac_peak == 349.0
    assert view.dc_latest[1].value == 182.0 and view.dc_latest[1].label == "12:05"
    assert view.dc_peak == {1: 182.0, 2: 179.0}


def test_manual_field_name_ac_p_is_accepted() -> None:
    body = {k: v for k, v in MINUTELY.items() if k != "ac_p1"} | {"ac_p": ["1", "2", "3"]}
    data = from_minutely(parse_inverter_minutely(body), DAY)
    assert data.ac_power == (1.0, 2.0, 3.0)


def test_from_batch_picks_one_inverter() -> None:
    batch = parse_batch_power(
        {
            "time": ["10:00", "10:05"],
            "power": {"701000001234-1": [45, 56], "701000001234-2": [40, 50], "701000009999-1": [1, 2]},
        }
    )
    data = from_batch(batch, "701000001234", DAY)
    assert data is not None and data.source == "batch"
    assert data.dc_power == {1: (45.0, 56.0), 2: (40.0, 50.0)}
    assert from_batch(batch, "700000000000", DAY) is None
    view = power_view(data)
    assert view.ac_estimated is True
    assert view.ac_series == pytest.approx((85 * 0.95, 106 * 0.95))


def test_freshest_rule() -> None:
    detail = SourceData("detail", DAY, ("12:00", "12:30"), ac_power=(1.0, 2.0), dc_power={1: (1.0, 2.0)})
    later = SourceData("batch", DAY, ("12:00", "23:00"), dc_power={1: (1.0, 0.0)})
    same = SourceData("batch", DAY, ("12:00", "12:30"), dc_power={1: (1.0, 2.0)})
    # a trailing label without any value does not count as fresher
    hollow = SourceData("batch", DAY, ("12:00", "23:00"), dc_power={1: (1.0, None)})
    yesterday = SourceData("batch", date(2026, 6, 20), ("23:55",), dc_power={1: (0.0,)})
    tomorrow_early = SourceData("batch", date(2026, 6, 22), ("05:00",), dc_power={1: (3.0,)})
    assert freshest(detail, later) is later
    assert freshest(detail, same) is detail  # ties go to detail (it measured AC)
    assert freshest(detail, hollow) is detail
    assert freshest(detail, yesterday) is detail
    assert freshest(detail, tomorrow_early) is tomorrow_early
    assert freshest(None, later) is later and freshest(detail, None) is detail and freshest(None, None) is None


def test_label_minutes() -> None:
    assert label_minutes("00:00") == 0 and label_minutes("23:55") == 1435 and label_minutes("24:00") == 1440
    assert label_minutes("12-00") is None and label_minutes("25:00") is None


def test_persistence_round_trip() -> None:
    data = from_minutely(parse_inverter_minutely(MINUTELY), DAY)
    back = SourceData.from_dict(data.to_dict())
    assert back == data
    assert pack_series((1.0, None, 2.26, 1234.5)) == "1,,2.3,1234.5"
    assert unpack_series("1,,2.3") == (1.0, None, 2.3)
    assert pack_series(()) == "" and unpack_series("") == ()


def test_bucket_series_averages_and_skips_gaps() -> None:
    times = ("12:00", "12:05", "12:10", "12:15", "12:20")
    labels, values = bucket_series(times, {"a": (10.0, 20.0, None, 40.0, None)}, 15)
    assert labels == ["12:00", "12:15"]
    assert values["a"] == [15.0, 40.0]
    labels, values = bucket_series(("12:00", "12:05"), {"a": (None, None)}, 10)
    assert values["a"] == [None]


def test_fit_series_thins_until_it_fits() -> None:
    times = all_day_labels()
    series = {f"s{n}": tuple(100000.0 + i for i in range(len(times))) for n in range(5)}
    native = fit_series({}, times, series)
    assert native["series_step_min"] == 5 and len(native["hourly_times"]) == 288
    small = fit_series({}, times, series, budget=6000)
    assert small["series_step_min"] in (10, 15, 20, 30, 60)
    assert attribute_size(small) <= 6000
    assert len(small["hourly_times"]) == len(small["s0"]) < 288
    hopeless = fit_series({}, times, series, budget=100)
    assert hopeless["series_step_min"] is None and hopeless["hourly_times"] == []


def longest_day_four_channels(ac: float, dc: float) -> SourceData:
    """A four-channel inverter reporting every 5 minutes for 24 hours (more than any real day)."""
    times = all_day_labels()
    n = len(times)
    return SourceData(
        "detail",
        DAY,
        times,
        ac_power=tuple(ac + i / 7 for i in range(n)),
        dc_power={c: tuple(dc + i / 3 for i in range(n)) for c in (1, 2, 3, 4)},
    )


def test_largest_attributes_of_a_four_channel_inverter_on_the_longest_day() -> None:
    who = InverterIdentity("902000001001", "QT2", "216000000103", 4)
    worst = 0
    for ac, dc in ((1999.0, 599.0), (19999.5, 9999.5)):  # realistic, then absurdly wide numbers
        detail = longest_day_four_channels(ac, dc)
        batch = SourceData("batch", DAY, detail.times[:-1], dc_power=dict(detail.dc_power))
        for fresh in (detail, batch):
            states = inverter_states(who, detail if fresh is detail else None, batch, BERLIN)
            sizes = attribute_sizes(states)
            worst = max(worst, *sizes.values())
            power = states["sensor.apsystems_inverter_902000001001_power"][1]
            assert len(power["hourly_times"]) >= 24
    print(f"largest attributes, 4-channel inverter, 288 points: {worst} bytes (limit {ATTRIBUTE_LIMIT_BYTES})")
    assert worst <= SERIES_BUDGET_BYTES < ATTRIBUTE_LIMIT_BYTES
