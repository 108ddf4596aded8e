"""The inverter app's memory on disk: each inverter's last telemetry and when the jobs last ran.

HA forgets ``set_state`` entities when it restarts and AppDaemon re-runs ``initialize()``;
with this file the app publishes every inverter's last values again without a call, and a
restart on the same day does not repeat the day's detail or batch job.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apsystems.common.json_file import read_json_object, write_json_atomic
from apsystems.inverters.telemetry import SourceData

_LOGGER = logging.getLogger(__name__)
FORMAT_VERSION = 1


@dataclass
class InverterRecord:
    """What is known about one inverter: its identity and the last answer of each source."""

    model: str | None = None
    ecu_id: str | None = None
    detail: SourceData | None = None
    batch: SourceData | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "ecu_id": self.ecu_id,
            "detail": self.detail.to_dict() if self.detail else None,
            "batch": self.batch.to_dict() if self.batch else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InverterRecord:
        return cls(
            model=data.get("model"),
            ecu_id=data.get("ecu_id"),
            detail=_source(data.get("detail")),
            batch=_source(data.get("batch")),
        )


def _source(data: Any) -> SourceData | None:
    if not isinstance(data, dict):
        return None
    try:
        return SourceData.from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        _LOGGER.warning("Ignoring a saved inverter reading (%s)", exc)
        return None


class InverterStore:
    """Load once, mutate in memory, ``save()`` after each job (one write per job, not per call)."""

    def __init__(self, path: Path, sid: str) -> None:
        self.path = path
        self.sid = sid
        self.records: dict[str, InverterRecord] = {}
        self.jobs: dict[str, str] = {}  # job name -> local day (ISO) or time (ISO) it last ran
        self._load()

    def _load(self) -> None:
        data = read_json_object(self.path)
        if data is None:
            return
        if str(data.get("sid", "")).lower() != self.sid.lower():
            _LOGGER.info("Saved inverter values in %s are for another system; starting afresh", self.path)
            return
        for uid, raw in (data.get("inverters") or {}).items():
            if isinstance(raw, dict):
                self.records[str(uid)] = InverterRecord.from_dict(raw)
        self.jobs = {str(k): str(v) for k, v in (data.get("jobs") or {}).items() if v is not None}

    def save(self) -> None:
        write_json_atomic(
            self.path,
            {
                "version": FORMAT_VERSION,
                "sid": self.sid,
                "jobs": self.jobs,
                "inverters": {uid: rec.to_dict() for uid, rec in sorted(self.records.items())},
            },
        )

    def record(self, uid: str) -> InverterRecord:
        return self.records.setdefault(uid, InverterRecord())

    def forget(self, uids: list[str]) -> None:
        for uid in uids:
            self.records.pop(uid, None)
