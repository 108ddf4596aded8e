"""History the fake serves agrees across levels, back to an installation 420 days ago, and
a later correction of a past day keeps every level agreeing (issue 14)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from fakes.apsystems_cloud import FakeCloud, preset

from .conftest import USER, Api, control

TODAY = date(2026, 6, 15)  # NOON_ISH in London
INSTALLED = TODAY - timedelta(days=420)


def dsum(values: list[str]) -> Decimal:
    return sum((Decimal(v) for v in values), Decimal(0))


class History:
    def __init__(self, cloud: FakeCloud) -> None:
        self.api = Api(cloud)
        self.sid = cloud.sid

    def energy(self, level: str, rng: str | None = None) -> list[str]:
        params = {"energy_level": level} | ({"date_range": rng} if rng else {})
        return list(self.api.data(f"{USER}/systems/energy/{self.sid}", **params))

    def lifetime(self) -> Decimal:
        return Decimal(self.api.data(f"{USER}/systems/summary/{self.sid}")["lifetime"])


@pytest.fixture
def history(cloud: FakeCloud) -> History:
    spec = preset("demo").to_dict() | {"create_date": INSTALLED.isoformat()}
    assert control(cloud, "POST", "site", {"site": spec}).status_code == 200
    assert cloud.site.create_date == INSTALLED
    return History(cloud)


def months_since(first: date, last: date) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    y, m = first.year, first.month
    while (y, m) <= (last.year, last.month):
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def test_installation_date_is_settable_and_reported(history: History) -> None:
    details = history.api.data(f"{USER}/systems/details/{history.sid}")
    assert details["create_date"] == INSTALLED.isoformat()


def test_every_level_agrees_back_to_installation(history: History) -> None:
    for back in range(1, 31):
        day = TODAY - timedelta(days=back)
        daily = history.energy("daily", day.strftime("%Y-%m"))
        assert dsum(history.energy("hourly", day.isoformat())) == Decimal(daily[day.day - 1]), day
    years: dict[int, Decimal] = {}
    for y, m in months_since(INSTALLED, TODAY):
        daily = history.energy("daily", f"{y}-{m:02d}")
        monthly = history.energy("monthly", str(y))
        assert dsum(daily) == Decimal(monthly[m - 1]), (y, m)
        years[y] = years.get(y, Decimal(0)) + dsum(daily)
    first_daily = history.energy("daily", INSTALLED.strftime("%Y-%m"))
    assert all(v == "0.00" for v in first_daily[: INSTALLED.day - 1])
    assert first_daily[INSTALLED.day - 1] != "0.00"
    yearly = history.energy("yearly")
    assert [Decimal(v) for v in yearly] == [years[y] for y in sorted(years)]
    assert dsum(yearly) == history.lifetime()


def test_correction_of_a_past_day_moves_every_level_together(cloud: FakeCloud, history: History) -> None:
    day = TODAY - timedelta(days=3)
    month = day.strftime("%Y-%m")
    hourly_before = history.energy("hourly", day.isoformat())
    daily_before = history.energy("daily", month)
    lifetime_before = history.lifetime()

    reply = control(cloud, "POST", "site/correction", {"day": day.isoformat(), "factor": 1.1})
    assert reply.status_code == 200, reply.text
    assert reply.json()["corrections"] == {day.isoformat(): 1.1}

    hourly = history.energy("hourly", day.isoformat())
    daily = history.energy("daily", month)
    assert hourly != hourly_before
    assert dsum(hourly) == Decimal(daily[day.day - 1])
    assert Decimal(daily[day.day - 1]) == pytest.approx(
        Decimal(daily_before[day.day - 1]) * Decimal("1.1"), abs=Decimal("0.02")
    )
    assert [v for i, v in enumerate(daily) if i != day.day - 1] == [
        v for i, v in enumerate(daily_before) if i != day.day - 1
    ]
    assert dsum(daily) == Decimal(history.energy("monthly", str(day.year))[day.month - 1])
    assert dsum(history.energy("yearly")) == history.lifetime()
    assert history.lifetime() - lifetime_before == Decimal(daily[day.day - 1]) - Decimal(daily_before[day.day - 1])

    undo = control(cloud, "POST", "site/correction", {"day": day.isoformat(), "factor": 1.0})
    assert undo.json()["corrections"] == {}
    assert history.energy("hourly", day.isoformat()) == hourly_before


@pytest.mark.parametrize(
    "body",
    [
        {"day": TODAY.isoformat(), "factor": 1.1},  # not a past day
        {"day": (INSTALLED - timedelta(days=1)).isoformat(), "factor": 1.1},  # before installation
        {"day": "2026-06-10", "factor": -0.5},
        {"day": "2026-06-10", "factor": 3},
        {"day": "10.06.2026", "factor": 1.1},
        {"factor": 1.1},
    ],
)
def test_bad_corrections_are_refused_with_400(cloud: FakeCloud, history: History, body: dict[str, object]) -> None:
    reply = control(cloud, "POST", "site/correction", body)
    assert reply.status_code == 400, reply.text
    assert cloud.site.corrections == {}


def test_corrections_survive_the_site_json(cloud: FakeCloud, history: History) -> None:
    control(cloud, "POST", "site/correction", {"day": "2026-06-10", "factor": 0.8})
    corrected = history.energy("hourly", "2026-06-10")
    saved = control(cloud, "GET", "site").json()
    assert saved["corrections"] == {"2026-06-10": 0.8}
    saved.pop("empty_inverter_list")
    assert control(cloud, "POST", "site", {"site": saved}).status_code == 200
    assert history.energy("hourly", "2026-06-10") == corrected
