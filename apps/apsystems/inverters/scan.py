"""What an inverter scan changes: added, removed and kept inverters.

A scan re-reads the inverter list. The list decides which per-inverter entities exist, so a
bad answer must not delete anything: a failed request or a list without a single inverter
(APsystems has been seen to answer empty lists transiently) leaves the site as it was, the
same protection the reference integration uses before pruning devices.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from apsystems.api.errors import ApsystemsError
from apsystems.api.records import EcuDevices, InverterInfo
from apsystems.inverters.site_store import SiteInfo, SpendingGate
from apsystems.inverters.store import InverterStore


@dataclass(frozen=True)
class ScanResult:
    """The site to keep and how its inverters changed; nothing changes unless ``accepted``."""

    site: SiteInfo
    accepted: bool
    reason: str
    added: tuple[InverterInfo, ...] = ()
    removed: tuple[InverterInfo, ...] = ()
    kept: tuple[InverterInfo, ...] = ()  # as the new list has them
    changed: tuple[InverterInfo, ...] = ()  # kept, but now another model or ECU

    @property
    def modified(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def summary(self) -> str:
        return (
            f"{len(self.added)} added, {len(self.removed)} removed, {len(self.kept)} kept ({len(self.changed)} changed)"
        )


def _unique(inverters: Sequence[InverterInfo]) -> dict[str, InverterInfo]:
    """By uid, first listing wins (an inverter listed under two ECUs is one inverter)."""
    out: dict[str, InverterInfo] = {}
    for inv in inverters:
        out.setdefault(inv.uid, inv)
    return out


def diff_inverters(
    previous: Sequence[InverterInfo], current: Sequence[InverterInfo]
) -> tuple[tuple[InverterInfo, ...], tuple[InverterInfo, ...], tuple[InverterInfo, ...], tuple[InverterInfo, ...]]:
    """(added, removed, kept, changed), each sorted by uid; kept/changed carry the new info."""
    old = _unique(previous)
    new = _unique(current)
    added = tuple(new[uid] for uid in sorted(set(new) - set(old)))
    removed = tuple(old[uid] for uid in sorted(set(old) - set(new)))
    kept = tuple(new[uid] for uid in sorted(set(old) & set(new)))
    changed = tuple(inv for inv in kept if (inv.model, inv.ecu.raw) != (old[inv.uid].model, old[inv.uid].ecu.raw))
    return added, removed, kept, changed


def apply_scan(previous: SiteInfo, answer: Sequence[EcuDevices] | None, now_iso: str) -> ScanResult:
    """The outcome of a scan whose inverter list was ``answer`` (None: the request failed)."""
    unchanged = tuple(_unique(previous.inverters).values())
    if answer is None:
        return ScanResult(previous, False, "the inverter list could not be read", kept=unchanged)
    devices = tuple(answer)
    listed = [inv for ecu in devices for inv in ecu.inverters]
    if not listed:
        return ScanResult(previous, False, "the inverter list came back empty; nothing is removed", kept=unchanged)
    added, removed, kept, changed = diff_inverters(previous.inverters, listed)
    site = replace(previous, devices=devices, discovered_at=now_iso)
    return ScanResult(site, True, "ok", added, removed, kept, changed)


def read_list(
    gate: SpendingGate,
    fetch: Callable[[], Sequence[EcuDevices]],
    site: SiteInfo,
    now_iso: str,
    what: str,
    warn: Callable[[str], None],
) -> ScanResult | None:
    """A scan of ``site``: its inverter list (``fetch``), one call under the budget's ``discovery`` gate.

    None when the budget refused; a failed call is a result that changes nothing.
    """
    answer = None
    with gate.spending(1, "discovery") as decision:
        if not decision.allowed:
            warn(f"{what} refused by the API budget: {decision.reason}")
            return None
        try:
            answer = fetch()
        except ApsystemsError as exc:
            warn(f"{what} failed: {exc}")
    return apply_scan(site, answer, now_iso)


# What the API really returns as an inverter uid or an ECU id: letters and digits. Anything else
# would make an invalid entity id, or a request path or file name outside the expected one.
_DEVICE_ID = re.compile(r"^[A-Za-z0-9]{1,32}$")


def valid_device_id(value: str) -> bool:
    return bool(_DEVICE_ID.match(value))


def checked_site(site: SiteInfo, warn: Callable[[str], None]) -> SiteInfo:
    """``site`` without the ECUs and inverters whose ids the API should never send; one line each."""
    devices: list[EcuDevices] = []
    for device in site.devices:
        if not (valid_device_id(device.ecu.eid) and valid_device_id(device.ecu.raw.replace("-", ""))):
            warn(f"Ignoring ECU {device.ecu.raw!r} from the API: an ECU id has only letters and digits")
            continue
        kept = []
        for inv in device.inverters:
            if valid_device_id(inv.uid):
                kept.append(inv)
            else:
                warn(f"Ignoring inverter {inv.uid!r} from the API: an inverter uid has only letters and digits")
        devices.append(replace(device, inverters=tuple(kept)))
    ecus = tuple(e for e in site.ecus if valid_device_id(e.eid))
    if (
        len(devices) == len(site.devices)
        and ecus == site.ecus
        and sum(len(d.inverters) for d in devices) == len(site.inverters)
    ):
        return site
    return replace(site, ecus=ecus, devices=tuple(devices))


@dataclass(frozen=True)
class Adoption:
    """A site taken as the truth: the site as checked, and the stored inverters it no longer lists."""

    site: SiteInfo
    orphans: tuple[str, ...]  # uids whose entities and readings are to be removed


def adopt_site(site: SiteInfo, store: InverterStore, warn: Callable[[str], None]) -> Adoption:
    """Check ``site``, record each listed inverter's model and ECU in ``store``, and name the orphans.

    An empty list never removes anything: no orphans then, whatever the store holds.
    """
    site = checked_site(site, warn)
    for inv in site.inverters:
        record = store.record(inv.uid)
        record.model, record.ecu_id = inv.model, inv.ecu.raw
    listed = {inv.uid for inv in site.inverters}
    orphans = tuple(sorted(set(store.records) - listed)) if listed else ()
    return Adoption(site, orphans)
