"""Mutable server state: the hosted sites (with run-time edits) and behaviour options."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from datetime import date, timedelta
from typing import Any

from .production import Production
from .site import EcuSpec, InverterSpec, SiteSpec, check_correction, model, next_uid


@dataclass
class Options:
    """Switches that change how the fake answers (all settable at run time)."""

    octet_stream: bool = False  # serve every JSON body as application/octet-stream
    emit_ac_p: bool = False  # inverter minutely: add "ac_p" next to "ac_p1"
    truncate_current_month: bool = False  # daily: only the days elapsed in the current month
    invalid_level_code: int = 4001  # answer to a bad or missing energy_level
    unknown_id_code: int = 4001  # answer to an unknown sid / eid / uid
    detail_retention_days: int | None = None  # minutely/hourly/batch older than this → 1001

    def update(self, raw: dict[str, Any]) -> None:
        names = {f.name for f in fields(self)}
        unknown = set(raw) - names
        if unknown:
            raise ValueError(f"unknown options: {', '.join(sorted(unknown))}")
        for key, value in raw.items():
            setattr(self, key, value)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class SiteState:
    """One hosted system: its spec, its production model and run-time switches."""

    def __init__(self, spec: SiteSpec) -> None:
        self.spec = spec
        self.production = Production(spec)
        self.empty_inverter_list = False
        self._lock = threading.Lock()

    def find_ecu(self, eid: str) -> EcuSpec | None:
        return next((e for e in self.spec.ecus if e.eid == eid), None)

    def find_inverter(self, uid: str, *, listed_only: bool = True) -> tuple[EcuSpec, InverterSpec] | None:
        for ecu, inv in self.spec.all_inverters():
            if inv.uid == uid and (inv.listed or not listed_only):
                return ecu, inv
        return None

    def remove_inverter(self, uid: str, today: date) -> InverterSpec:
        """Unlist an inverter; it keeps today's production and stops from tomorrow."""
        with self._lock:
            found = self.find_inverter(uid)
            if found is None:
                raise KeyError(uid)
            _, inv = found
            inv.listed = False
            inv.removed = today + timedelta(days=1)
            self.production.invalidate()
            return inv

    def add_inverter(
        self,
        eid: str,
        model_name: str,
        today: date,
        *,
        uid: str | None = None,
        panels_w: Sequence[float] | float = 400.0,
    ) -> InverterSpec:
        """Register a new inverter on an ECU; it produces from today on."""
        with self._lock:
            ecu = self.find_ecu(eid)
            if ecu is None:
                raise KeyError(eid)
            m = model(model_name)
            ratings = (
                tuple(float(p) for p in panels_w) if isinstance(panels_w, Sequence) else (float(panels_w),) * m.channels
            )
            inv = InverterSpec(uid or next_uid(self.spec, m.name), m.name, ratings, installed=today)
            if self.find_inverter(inv.uid, listed_only=False) is not None:
                raise ValueError(f"uid {inv.uid} already exists")
            ecu.inverters = [*ecu.inverters, inv]
            self.production.invalidate()
            return inv

    def restore_inverter(self, uid: str) -> InverterSpec:
        """Undo a removal (the inverter's history comes back too)."""
        with self._lock:
            found = self.find_inverter(uid, listed_only=False)
            if found is None:
                raise KeyError(uid)
            _, inv = found
            inv.listed = True
            inv.removed = None
            self.production.invalidate()
            return inv

    def correct_day(self, day: date, factor: float, today: date) -> None:
        """Scale one past day's production, as EMA does when it revises data later.

        The factor applies to the day's rating, so every level (minutely, hourly, daily,
        monthly, yearly, summary) and every device moves together and keeps agreeing.
        """
        if not self.spec.create_date <= day < today:
            raise ValueError(f"correction day {day} must be a past day since installation ({self.spec.create_date})")
        check_correction(day, factor)
        with self._lock:
            if factor == 1.0:
                self.spec.corrections.pop(day, None)
            else:
                self.spec.corrections[day] = factor
            self.production.invalidate()


def new_token() -> str:
    return secrets.token_hex(16)
