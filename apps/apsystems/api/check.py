"""The credential check: four calls that show what the account sees, or what to fix.

One implementation for the ``python -m apsystems check`` command line and the
``apsystems_check`` event inside AppDaemon (a persistent notification), so both say the same.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TypeVar

from apsystems.api.client import ApsystemsClient
from apsystems.api.errors import ApsystemsError, AuthError, NoDataError, describe_code
from apsystems.api.records import EcuDevices
from apsystems.common.months import zone_or

T = TypeVar("T")

CHECK_CALLS = 4  # details, summary, hourly energy, inverter list
CHECK_EVENT = "apsystems_check"
CHECK_NOTICE_ID = "apsystems_check"


@dataclass
class CheckReport:
    """What the check found, line by line; ``failed_code`` is the API's code when it failed on one."""

    sid: str
    lines: list[str] = field(default_factory=list)
    ok: bool = False
    auth_failed: bool = False
    failed_code: int | None = None
    lifetime_kwh: float | None = None
    inverters: int | None = None

    def say(self, text: str) -> None:
        self.lines.append(text)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def notice(self) -> tuple[str, str]:
        """``(title, message)`` of the persistent notification that reports this check."""
        if self.ok:
            title = f"APsystems: credentials work for system {self.sid}"
        elif self.auth_failed:
            title = f"APsystems: credentials refused for system {self.sid} (code {self.failed_code})"
        else:
            title = f"APsystems: check of system {self.sid} failed"
        return title, "\n\n".join(self.lines)


def run_check(client: ApsystemsClient, sid: str, day: date | None = None) -> CheckReport:
    """Spend up to four calls on ``sid`` and report in plain words; never raises an API error."""
    report = CheckReport(sid)
    report.say(f"Checking system {sid} at {client.base_url} …")
    try:
        details = client.system_details(sid)
        report.say(
            f"System {details.sid or sid}: capacity {_kw(details.capacity_kw)}, time zone {details.timezone or '?'}, "
            f"{len(details.ecus)} ECU(s): {', '.join(e.raw for e in details.ecus) or 'none'}."
        )
        summary = client.system_summary(sid)
        report.lifetime_kwh = summary.lifetime
        report.say(
            f"Energy: lifetime {_kwh(summary.lifetime)}, this year {_kwh(summary.year)}, "
            f"this month {_kwh(summary.month)}, today {_kwh(summary.today)}."
        )
        hourly_day = day or _today_in(details.timezone)
        hourly = _optional(lambda: client.system_energy(sid, "hourly", hourly_day))
        if hourly is None:
            report.say(
                f"Hourly energy for {hourly_day}: no data yet (code 1001; normal at night or for a future date)."
            )
        else:
            producing = sum(1 for v in hourly.values if v)
            report.say(
                f"Hourly energy for {hourly_day}: {len(hourly.values)} hours, sum {hourly.total:.2f} kWh, "
                f"{producing} hour(s) with production."
            )
        ecus = client.inverters(sid)
        report.inverters = sum(len(e.inverters) for e in ecus)
        report.say(describe_inverters(ecus))
    except AuthError as exc:
        report.auth_failed = True
        report.failed_code = exc.code
        report.say(f"FAILED: APsystems answered code {exc.code}: {describe_code(exc.code or 0)}")
        report.say(f"What to check: {exc.advice}")
        return report
    except ApsystemsError as exc:
        report.failed_code = exc.code
        report.say(f"FAILED: {exc}")
        if exc.advice:
            report.say(f"What to check: {exc.advice}")
        return report
    report.ok = True
    report.say("OK: the credentials work.")
    return report


def _optional(call: Callable[[], T]) -> T | None:
    """Run ``call``; 1001 (no data) is a normal answer, not a failure."""
    try:
        return call()
    except NoDataError:
        return None


def describe_inverters(ecus: Sequence[EcuDevices]) -> str:
    total = sum(len(e.inverters) for e in ecus)
    lines = [f"Inverters: {total} on {len(ecus)} ECU(s)."]
    for ecu in ecus:
        models: dict[str, int] = {}
        for inverter in ecu.inverters:
            models[inverter.model or "unknown"] = models.get(inverter.model or "unknown", 0) + 1
        listing = ", ".join(f"{n} × {m}" for m, n in sorted(models.items())) or "no inverters"
        lines.append(f"  ECU {ecu.ecu.raw}: {listing}")
    return "\n".join(lines)


def _today_in(time_zone: str | None) -> date:
    return datetime.now(zone_or(time_zone, "UTC", lambda _message: None)).date() if time_zone else date.today()


def _kwh(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.2f} kWh"


def _kw(value: float | None) -> str:
    return "unknown" if value is None else f"{value:g} kW"
