"""Scan diffs: added, removed, kept; a failed or empty list never removes anything."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from apsystems.api.errors import NetworkError
from apsystems.api.records import EcuDevices, InverterInfo, parse_ecu_ref
from apsystems.budget.pacing import CallDecision
from apsystems.inverters.scan import adopt_site, apply_scan, diff_inverters, read_list
from apsystems.inverters.site_store import SiteInfo
from apsystems.inverters.store import InverterStore

ECU1 = parse_ecu_ref("216000000101")
ECU2 = parse_ecu_ref("216000000102")
NOW = "2026-06-21T12:00:00+02:00"


def inv(uid: str, model: str = "DS3", ecu: str = "216000000101") -> InverterInfo:
    return InverterInfo(uid, model, parse_ecu_ref(ecu))


def devices(*inverters: InverterInfo) -> tuple[EcuDevices, ...]:
    by_ecu: dict[str, list[InverterInfo]] = {}
    for i in inverters:
        by_ecu.setdefault(i.ecu.raw, []).append(i)
    return tuple(EcuDevices(parse_ecu_ref(e), 0, "Europe/Berlin", tuple(v)) for e, v in by_ecu.items())


def site(*inverters: InverterInfo) -> SiteInfo:
    return SiteInfo("B0XD123A3BHJ", "Europe/Berlin", 3.0, (ECU1, ECU2), devices(*inverters), "2026-06-01T00:00:00")


def test_diff() -> None:
    a, b, c = inv("1"), inv("2"), inv("3")
    added, removed, kept, changed = diff_inverters([a, b], [b, c])
    assert added == (c,) and removed == (a,) and kept == (b,) and changed == ()


def test_model_or_ecu_change_is_reported_as_changed() -> None:
    old = inv("1", "DS3")
    new = inv("1", "QS1", "216000000102")
    _, _, kept, changed = diff_inverters([old], [new])
    assert kept == (new,) and changed == (new,)


def test_duplicates_count_once() -> None:
    a = inv("1")
    added, removed, kept, _ = diff_inverters([a, a], [a, inv("1", ecu="216000000102")])
    assert added == () and removed == () and kept == (a,)


def test_apply_scan_accepts_a_real_list() -> None:
    before = site(inv("1"), inv("2"))
    result = apply_scan(before, devices(inv("2"), inv("3", "QS1", "216000000102")), NOW)
    assert result.accepted and result.modified
    assert [i.uid for i in result.added] == ["3"] and [i.uid for i in result.removed] == ["1"]
    assert [i.uid for i in result.site.inverters] == ["2", "3"]
    assert result.site.discovered_at == NOW and result.site.ecus == before.ecus
    assert result.summary() == "1 added, 1 removed, 1 kept (0 changed)"


def test_failed_scan_removes_nothing() -> None:
    before = site(inv("1"), inv("2"))
    result = apply_scan(before, None, NOW)
    assert not result.accepted and result.site is before
    assert result.removed == () and result.added == () and [i.uid for i in result.kept] == ["1", "2"]


def test_empty_list_removes_nothing() -> None:
    before = site(inv("1"), inv("2"))
    for answer in ((), (EcuDevices(ECU1, 0, "Europe/Berlin", ()),)):
        result = apply_scan(before, answer, NOW)
        assert not result.accepted and result.site is before and result.removed == ()
        assert "empty" in result.reason


def test_ids_the_api_should_never_send_are_refused_with_a_log_line() -> None:
    from apsystems.inverters.scan import checked_site  # noqa: PLC0415 - only this test needs it

    good = inv("703000000001")
    bad_uid = inv("../../../escaped")
    bad_ecu = InverterInfo("703000000002", "DS3", parse_ecu_ref("2160 0.x"))
    warnings: list[str] = []
    checked = checked_site(site(good, bad_uid, bad_ecu), warnings.append)
    assert [i.uid for i in checked.inverters] == ["703000000001"]
    assert len(warnings) == 2 and "'../../../escaped'" in warnings[0] + warnings[1]
    clean = site(good)
    assert checked_site(clean, warnings.append) is clean


def test_adopting_a_site_records_identities_and_names_the_orphans(tmp_path: Path) -> None:
    store = InverterStore(tmp_path / "inverters.json", "B0XD123A3BHJ")
    store.record("9").model = "QS1"  # kept from a list that had it
    adoption = adopt_site(site(inv("1"), inv("2", "QS1", "216000000102"), inv("../x")), store, list[str]().append)
    assert [i.uid for i in adoption.site.inverters] == ["1", "2"]  # checked: an id the API never sends is dropped
    assert adoption.orphans == ("9",)
    assert (store.records["2"].model, store.records["2"].ecu_id) == ("QS1", "216000000102")
    assert "9" in store.records  # removing is the caller's (with the entities)


def test_adopting_an_empty_list_names_no_orphan(tmp_path: Path) -> None:
    store = InverterStore(tmp_path / "inverters.json", "B0XD123A3BHJ")
    store.record("1")
    assert adopt_site(site(), store, list[str]().append).orphans == ()
    assert adopt_site(site(inv("../x")), store, list[str]().append).orphans == ()  # nothing valid left is empty too


class Gate:
    def __init__(self, allowed: bool) -> None:
        self.allowed = allowed

    @contextmanager
    def spending(self, cost: int, purpose: str) -> Iterator[CallDecision]:
        assert (cost, purpose) == (1, "discovery")
        yield CallDecision(self.allowed, False, "ok" if self.allowed else "no room")


def test_a_scan_reads_the_list_once_under_the_gate() -> None:
    before, lines = site(inv("1"), inv("2")), list[str]()
    asked: list[int] = []

    def fetch() -> tuple[EcuDevices, ...]:
        asked.append(1)
        return devices(inv("2"))

    assert read_list(Gate(False), fetch, before, NOW, "Inverter scan (x)", lines.append) is None
    assert asked == [] and lines == ["Inverter scan (x) refused by the API budget: no room"]
    result = read_list(Gate(True), fetch, before, NOW, "Inverter scan (x)", lines.append)
    assert result is not None and [i.uid for i in result.removed] == ["1"] and asked == [1]

    def failing() -> tuple[EcuDevices, ...]:
        raise NetworkError("timed out")

    result = read_list(Gate(True), failing, before, NOW, "Inverter scan (x)", lines.append)
    assert result is not None and not result.accepted and result.removed == ()
    assert lines[-1] == "Inverter scan (x) failed: timed out"
