"""What we know about the user's system (time zone, ECUs, inverters), kept on disk.

Discovery costs two API calls (details and inverter list); keeping the answer means that
AppDaemon restarts, HA restarts and code reloads spend none.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from apsystems.api.client import ApsystemsClient
from apsystems.api.errors import ApsystemsError
from apsystems.api.records import EcuDevices, EcuRef, InverterInfo, SystemDetails, parse_ecu_ref
from apsystems.budget.pacing import CallDecision
from apsystems.common.entities import system_model
from apsystems.common.json_file import read_json_object, write_json_atomic

_LOGGER = logging.getLogger(__name__)
FORMAT_VERSION = 1
DISCOVERY_RETRY_S = 1800  # after a refused or failed discovery step
DISCOVERY_STEP_S = 1  # the second discovery call, in a callback of its own


@dataclass(frozen=True)
class SiteInfo:
    """The discovered shape of one system."""

    sid: str
    timezone: str | None
    capacity_kw: float | None
    ecus: tuple[EcuRef, ...]
    devices: tuple[EcuDevices, ...]
    discovered_at: str
    system_type: int | None = None  # 1 PV, 2 storage, 3 PV & storage; None in files written before 0.2.0

    @property
    def model(self) -> str | None:
        """The system device's model: its kind and capacity."""
        return system_model(self.system_type, self.capacity_kw)

    @property
    def inverters(self) -> tuple[InverterInfo, ...]:
        return tuple(inv for ecu in self.devices for inv in ecu.inverters)

    @property
    def query_eids(self) -> tuple[str, ...]:
        """The ECU ids to query: from the inverter list when known, else from the details."""
        refs = [d.ecu for d in self.devices] or list(self.ecus)
        return tuple(dict.fromkeys(r.eid for r in refs))

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "sid": self.sid,
            "timezone": self.timezone,
            "capacity_kw": self.capacity_kw,
            "system_type": self.system_type,
            "ecus": [e.raw for e in self.ecus],
            "devices": [
                {
                    "eid": d.ecu.raw,
                    "type": d.ecu_type,
                    "timezone": d.timezone,
                    "model": d.model,
                    "capacity_kwh": d.capacity_kwh,
                    "inverters": [{"uid": i.uid, "type": i.model} for i in d.inverters],
                }
                for d in self.devices
            ],
            "discovered_at": self.discovered_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SiteInfo:
        devices = []
        for raw in data.get("devices") or []:
            ref = parse_ecu_ref(str(raw["eid"]))
            devices.append(
                EcuDevices(
                    ecu=ref,
                    ecu_type=raw.get("type"),
                    timezone=raw.get("timezone"),
                    inverters=tuple(
                        InverterInfo(str(i["uid"]), i.get("type"), ref) for i in raw.get("inverters") or []
                    ),
                    model=raw.get("model"),
                    capacity_kwh=raw.get("capacity_kwh"),
                )
            )
        return cls(
            sid=str(data["sid"]),
            timezone=data.get("timezone"),
            capacity_kw=data.get("capacity_kw"),
            ecus=tuple(parse_ecu_ref(str(e)) for e in data.get("ecus") or []),
            devices=tuple(devices),
            discovered_at=str(data.get("discovered_at", "")),
            system_type=data.get("system_type") if isinstance(data.get("system_type"), int) else None,
        )


def zone_name(site: SiteInfo | None, fallback: str) -> str:
    """The system's time zone: the discovered site's, else ``fallback`` (the budget app's)."""
    return (site.timezone if site is not None else None) or fallback


def site_from_api(details: SystemDetails, devices: tuple[EcuDevices, ...], sid: str, now_iso: str) -> SiteInfo:
    return SiteInfo(
        sid=details.sid or sid,
        timezone=details.timezone or next((d.timezone for d in devices if d.timezone), None),
        capacity_kw=details.capacity_kw,
        ecus=details.ecus,
        devices=devices,
        discovered_at=now_iso,
        system_type=details.system_type,
    )


class SiteStore:
    """Load and save one system's ``SiteInfo`` as JSON."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self, sid: str) -> SiteInfo | None:
        data = read_json_object(self.path)
        if data is None:
            return None
        try:
            info = SiteInfo.from_dict(data)
        except (KeyError, TypeError, ValueError) as exc:
            _LOGGER.warning("Ignoring the saved site in %s (%s); it will be discovered again", self.path, exc)
            return None
        if info.sid.lower() != sid.lower():
            _LOGGER.info("Saved site %s is not the configured %s; discovering again", info.sid, sid)
            return None
        return info

    def save(self, info: SiteInfo) -> None:
        write_json_atomic(self.path, info.to_dict())


class SpendingGate(Protocol):
    """The budget app's gate, the one part of it the inverters package needs: may calls be spent now?"""

    def spending(self, cost: int, purpose: str) -> AbstractContextManager[CallDecision]: ...


@dataclass(frozen=True)
class DiscoveryStep:
    """What one budgeted discovery step gave: the site once complete, else a step left or a failure."""

    site: SiteInfo | None = None
    failed: bool = False  # refused by the budget or the call failed: try again later

    @property
    def pending(self) -> bool:
        """The details are read; the inverter list is the step left (in a callback of its own)."""
        return self.site is None and not self.failed


class Discovery:
    """Discovery in two steps of one call each: system details (time zone, ECUs), then the inverter list.

    One call per step, so that an app can give each its own AppDaemon callback: two slow answers
    in one callback would pass AppDaemon's 10 s warning. A failed step is tried again as it is.
    """

    def __init__(self, sid: str) -> None:
        self.sid = sid
        self._details: SystemDetails | None = None

    @property
    def pending(self) -> bool:
        """The details are read; the inverter list is the step left."""
        return self._details is not None

    def step(self, client: ApsystemsClient, now_iso: str) -> SiteInfo | None:
        """Spend one call; the site once the second step succeeded, else None (a step is left)."""
        if self._details is None:
            self._details = client.system_details(self.sid)
            return None
        devices = client.inverters(self.sid)
        site = site_from_api(self._details, devices, self.sid, now_iso)
        self._details = None
        return site

    def budgeted_step(
        self,
        gate: SpendingGate,
        client: ApsystemsClient,
        now_iso: str,
        *,
        what: str,
        warn: Callable[[str], None],
        quiet_refusal: bool = False,
    ) -> DiscoveryStep:
        """``step`` under the budget's ``discovery`` gate, as every app that discovers takes it.

        A refusal or a failed call is a line through ``warn`` (``what`` names the work, e.g.
        "Discovery"; ``quiet_refusal`` leaves the refusal to the budget app's own notice).
        """
        with gate.spending(1, "discovery") as decision:
            if not decision.allowed:
                if not quiet_refusal:
                    warn(f"{what} postponed by the API budget: {decision.reason}")
                return DiscoveryStep(failed=True)
            try:
                return DiscoveryStep(self.step(client, now_iso))
            except ApsystemsError as exc:
                warn(f"{what} failed, trying again later: {exc}")
                return DiscoveryStep(failed=True)
