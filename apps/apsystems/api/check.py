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
from apsystems.api.records import EcuDevices, EnergySummary, SystemDetails
from apsystems.common.months import zone_or

T = TypeVar("T")

CHECK_CALLS = 4  # details, summary, hourly energy, inverter list
CHECK_EVENT = "apsystems_check"
CHECK_NOTICE_ID = "apsystems_check"


@dataclass
class CheckReport:
    """What the check found, line by line; ``failed_code`` is the API's code when it failed on one."""

    sid: str
    day: date | None = None
    time_zone: str | None = None
    lines: list[str] = field(default_factory=list)
    ok: bool = False
    auth_failed: bool = False
    failed_code: int | None = None
    lifetime_kwh: float | None = None
    inverters: int | None = None

    def say(self, text: str) -> None:
        self.lines.append(text)

    def start(self, client: ApsystemsClient) -> None:
        self.say(f"Checking system {self.sid} at {client.base_url} …")

    def run_step(self, step: CheckStep, client: ApsystemsClient) -> bool:
        """One call of the check; False (and the failure explained) when the check must stop here."""
        try:
            step(client, self)
        except AuthError as exc:
            self.auth_failed = True
            self.failed_code = exc.code
            self.say(f"FAILED: APsystems answered code {exc.code}: {describe_code(exc.code or 0)}")
            self.say(f"What to check: {exc.advice}")
            return False
        except ApsystemsError as exc:
            self.failed_code = exc.code
            self.say(f"FAILED: {exc}")
            if exc.advice:
                self.say(f"What to check: {exc.advice}")
            return False
        if step is CHECK_STEPS[-1]:
            self.ok = True
            self.say("OK: the credentials work.")
        return True

    def stop(self, reason: str) -> None:
        """The check could not go on for a reason of ours (the budget refused a call)."""
        self.say(f"Stopped: {reason}")

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
    report = CheckReport(sid, day=day)
    report.start(client)
    for step in CHECK_STEPS:
        if not report.run_step(step, client):
            break
    return report


def _details(client: ApsystemsClient, report: CheckReport) -> None:
    details = client.system_details(report.sid)
    report.time_zone = details.timezone
    report.say(describe_system(details, report.sid))


def _summary(client: ApsystemsClient, report: CheckReport) -> None:
    summary = client.system_summary(report.sid)
    report.lifetime_kwh = summary.lifetime
    report.say(describe_energy(summary))


def _hourly(client: ApsystemsClient, report: CheckReport) -> None:
    hourly_day = report.day or _today_in(report.time_zone)
    hourly = _optional(lambda: client.system_energy(report.sid, "hourly", hourly_day))
    if hourly is None:
        report.say(f"Hourly energy for {hourly_day}: no data yet (code 1001; normal at night or for a future date).")
        return
    producing = sum(1 for v in hourly.values if v)
    report.say(
        f"Hourly energy for {hourly_day}: {len(hourly.values)} hours, sum {hourly.total:.2f} kWh, "
        f"{producing} hour(s) with production."
    )


def _inverters(client: ApsystemsClient, report: CheckReport) -> None:
    ecus = client.inverters(report.sid)
    report.inverters = sum(len(e.inverters) for e in ecus)
    report.say(describe_inverters(ecus))


CheckStep = Callable[[ApsystemsClient, CheckReport], None]
CHECK_STEPS: tuple[CheckStep, ...] = (_details, _summary, _hourly, _inverters)  # one API call each


def _optional(call: Callable[[], T]) -> T | None:
    """Run ``call``; 1001 (no data) is a normal answer, not a failure."""
    try:
        return call()
    except NoDataError:
        return None


def describe_system(details: SystemDetails, sid: str) -> str:
    ecus = ", ".join(e.raw for e in details.ecus) or "none"
    return (
        f"System {details.sid or sid}: capacity {_kw(details.capacity_kw)}, "
        f"time zone {details.timezone or '?'}, {len(details.ecus)} ECU(s): {ecus}."
    )


def describe_energy(summary: EnergySummary) -> str:
    return (
        f"Energy: lifetime {_kwh(summary.lifetime)}, this year {_kwh(summary.year)}, "
        f"this month {_kwh(summary.month)}, today {_kwh(summary.today)}."
    )


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
