"""The inverter app's state file: last values and job days survive a restart."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from apsystems.api.errors import NetworkError
from apsystems.api.records import EcuDevices, SystemDetails, parse_system_details
from apsystems.budget.pacing import CallDecision
from apsystems.inverters.site_store import Discovery, DiscoveryStep
from apsystems.inverters.store import InverterStore
from apsystems.inverters.telemetry import Latest, SourceData

DAY = date(2026, 6, 21)


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "inverters_x.json"
    store = InverterStore(path, "SID1")
    rec = store.record("703000001001")
    rec.model, rec.ecu_id = "DS3", "216000000101"
    rec.detail = SourceData(
        "detail",
        DAY,
        ("12:00", "12:05"),
        ac_power=(300.0, None),
        dc_power={1: (150.0, 151.5), 2: (None, 140.0)},
        readings={"temperature": Latest(39.0, "12:05")},
    )
    rec.batch = SourceData("batch", DAY, ("23:00",), dc_power={1: (0.0,), 2: (0.0,)})
    store.jobs["detail"] = DAY.isoformat()
    store.save()

    again = InverterStore(path, "sid1")
    assert again.jobs == {"detail": "2026-06-21"}
    back = again.records["703000001001"]
    assert back == rec


def test_other_system_or_corrupt_file_starts_afresh(tmp_path: Path) -> None:
    path = tmp_path / "inverters_x.json"
    store = InverterStore(path, "SID1")
    store.record("1").model = "DS3"
    store.save()
    assert InverterStore(path, "OTHER").records == {}
    path.write_text("{not json", encoding="utf-8")
    assert InverterStore(path, "SID1").records == {}


def test_bad_reading_is_dropped_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "inverters_x.json"
    path.write_text(
        '{"sid": "S", "inverters": {"1": {"model": "DS3", "detail": {"source": "nonsense", "day": "x"}}}}',
        encoding="utf-8",
    )
    store = InverterStore(path, "S")
    assert store.records["1"].model == "DS3" and store.records["1"].detail is None


def test_forget(tmp_path: Path) -> None:
    store = InverterStore(tmp_path / "f.json", "S")
    store.record("1")
    store.record("2")
    store.forget(["1", "3"])
    assert list(store.records) == ["2"]


def test_discovery_spends_one_call_per_step(tmp_path: Path) -> None:
    """Two slow answers in one AppDaemon callback would pass its 10 s warning: one call a step."""

    calls: list[str] = []

    class Client:
        def system_details(self, sid: str) -> SystemDetails:
            calls.append("details")
            return parse_system_details({"sid": sid, "timezone": "Europe/Berlin", "capacity": "2.4", "ecu": []})

        def inverters(self, sid: str) -> list[EcuDevices]:
            calls.append("inverters")
            return []

    discovery = Discovery("AZ12649A3DFF")
    assert discovery.step(Client(), "2027-06-01T12:00:00+00:00") is None  # type: ignore[arg-type]
    pending_after_details = discovery.pending
    assert calls == ["details"] and pending_after_details
    site = discovery.step(Client(), "2027-06-01T12:00:00+00:00")  # type: ignore[arg-type]
    pending_after_list = discovery.pending
    assert calls == ["details", "inverters"] and not pending_after_list
    assert site is not None and site.sid == "AZ12649A3DFF" and site.timezone == "Europe/Berlin"


class Gate:
    """The budget's gate: allows while ``allowed``, and remembers what was asked."""

    def __init__(self, allowed: bool = True) -> None:
        self.allowed = allowed
        self.asked: list[tuple[int, str]] = []

    @contextmanager
    def spending(self, cost: int, purpose: str) -> Iterator[CallDecision]:
        self.asked.append((cost, purpose))
        yield CallDecision(self.allowed, False, "ok" if self.allowed else "quota reached")


class FlakyClient:
    """Details fine; the inverter list fails once with ``error``, then answers."""

    def __init__(self, error: Exception) -> None:
        self.error: Exception | None = error

    def system_details(self, sid: str) -> SystemDetails:
        return parse_system_details({"sid": sid, "timezone": "Europe/Berlin", "capacity": "2.4", "ecu": []})

    def inverters(self, sid: str) -> list[EcuDevices]:
        if self.error is not None:
            error, self.error = self.error, None
            raise error
        return []


def test_a_budgeted_discovery_step_logs_refusals_and_failures() -> None:
    lines: list[str] = []
    gate, discovery = Gate(), Discovery("AZ12649A3DFF")
    client: Any = FlakyClient(NetworkError("timed out"))  # the two calls discovery makes

    def step(what: str = "Discovery", *, quiet_refusal: bool = False) -> DiscoveryStep:
        return discovery.budgeted_step(
            gate, client, "2027-06-01T12:00:00+00:00", what=what, warn=lines.append, quiet_refusal=quiet_refusal
        )

    first = step()
    assert first.pending and not first.failed and gate.asked == [(1, "discovery")]
    failed = step("Meter scan (start)")
    assert failed.failed and not failed.pending and discovery.pending  # the same step again next time
    assert lines == ["Meter scan (start) failed, trying again later: timed out"]
    gate.allowed = False
    assert step(quiet_refusal=True).failed and len(lines) == 1  # the budget app tells about its refusals
    assert step().failed and lines[-1] == "Discovery postponed by the API budget: quota reached"
    gate.allowed = True
    done = step()
    assert done.site is not None and done.site.sid == "AZ12649A3DFF" and not done.pending
    assert len(gate.asked) == 5
