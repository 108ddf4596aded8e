"""A round of meter and battery calls, run one call at a time (no AppDaemon).

A meters app's work after a production poll can be several calls: one per meter, two per
battery, a lifetime summary per new device, one per device to close the past day. An
AppDaemon callback that waits for two slow answers nears AppDaemon's 10 s warning, so the
app runs a round in slices: a slice stops as soon as it has run ``SLICE_S`` (at most one
slow answer per callback) and the rest follows in a callback of its own. The round keeps
what one call leaves for the next (a battery's ``latest`` answer for its minutely call).

What a call does to a record, and what it logs, is what a read always did: a failed or
unsound answer keeps the last values and is remembered in ``failed`` for Charge HQ.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from enum import Enum
from time import monotonic

from apsystems.api.client import ApsystemsClient
from apsystems.api.errors import ApsystemsError
from apsystems.api.records import StorageLatest
from apsystems.household import reader
from apsystems.household.store import DeviceRecord

SLICE_S = 1.0

Warn = Callable[[str], None]


class Step(str, Enum):
    SEED = "seed"  # the device's lifetime from the cloud's summary (a new device)
    METER = "meter"  # the meter's minutely period for the day
    STORAGE_LATEST = "storage_latest"  # a battery's SoC, mode and powers
    STORAGE_PERIOD = "storage_period"  # the battery's day, with the latest answer: its reading
    CLOSE = "close"  # the past day's final totals (the lifetime counter's day change)


@dataclass(frozen=True)
class Call:
    """One API call of a round."""

    eid: str
    step: Step


def read_calls(records: Iterable[DeviceRecord]) -> list[Call]:
    """One read of each record: one call per meter, two per battery (``reader.read_cost``)."""
    calls: list[Call] = []
    for record in records:
        if record.kind == "meter":
            calls.append(Call(record.eid, Step.METER))
        else:
            calls += [Call(record.eid, Step.STORAGE_LATEST), Call(record.eid, Step.STORAGE_PERIOD)]
    return calls


def first_calls(records: Iterable[DeviceRecord]) -> list[Call]:
    """New devices: the lifetime summary, then a first read."""
    calls: list[Call] = []
    for record in records:
        calls += [Call(record.eid, Step.SEED), *read_calls([record])]
    return calls


def close_calls(records: Iterable[DeviceRecord], day: date) -> list[Call]:
    """One call per device whose counter still has a day before ``day`` open."""
    return [Call(r.eid, Step.CLOSE) for r in records if (open_day := r.counter.open_day()) and open_day < day]


@dataclass
class Round:
    """The calls left of one round and what they share.

    ``read_at`` is the instant a round of reads stands for, a discovery's first read included (so
    the night cadence counts from it); None for a round of day closes;
    ``reservation`` holds the budget's reservation of the round's calls until the round ends,
    however many callbacks it takes.
    """

    calls: list[Call]
    day: date
    tz: tzinfo
    read_at: datetime | None = None
    latest: dict[str, StorageLatest] = field(default_factory=dict)
    reservation: ExitStack = field(default_factory=ExitStack)

    def run_slice(
        self,
        attempt: Callable[[Call], bool],
        started: float,
        *,
        clock: Callable[[], float] = monotonic,
        slice_s: float = SLICE_S,
    ) -> bool:
        """Make calls while the callback (begun at ``started``) has run no more than ``slice_s``;
        ``attempt`` returns False to end the round (the budget refused). True when it is over."""
        while self.calls:
            if clock() - started > slice_s:
                return False
            if not attempt(self.calls.pop(0)):
                self.calls.clear()
        return True

    def end(self) -> None:
        """Free the budget's reservation (the calls are counted as they are sent)."""
        self.calls.clear()
        self.reservation.close()

    def execute(
        self,
        call: Call,
        client: ApsystemsClient,
        sid: str,
        records: Mapping[str, DeviceRecord],
        failed: dict[str, str],
        warn: Warn,
    ) -> None:
        """Make ``call`` and apply its answer to its record."""
        record = records.get(call.eid)
        if record is None:  # removed by a scan meanwhile
            return
        if call.step is Step.SEED:
            try:
                reader.seed(client, sid, record, self.day)
            except ApsystemsError as exc:
                warn(f"Lifetime of {record.kind} {record.eid} not read: {exc}")
        elif call.step is Step.CLOSE:
            open_day = record.counter.open_day()
            try:
                reader.close_day(client, sid, record, self.tz)
            except ApsystemsError as exc:
                warn(f"Closing {open_day} of {record.kind} {record.eid} failed: {exc}")
            record.counter.observe(self.day, {})  # closed or not, the next read rolls the counter over
        elif call.step is Step.STORAGE_LATEST:
            try:
                self.latest[record.eid] = client.storage_latest(sid, record.eid)
            except ApsystemsError as exc:
                self._failed(record, failed, warn, f"read failed ({exc})")
                self._skip_rest_of_read(record.eid)
        else:
            self._read(call, record, client, sid, failed, warn)

    def _read(
        self, call: Call, record: DeviceRecord, client: ApsystemsClient, sid: str, failed: dict[str, str], warn: Warn
    ) -> None:
        try:
            if call.step is Step.METER:
                ok = reader.read_meter(client, sid, record, self.day, self.tz)
            else:
                ok = reader.read_storage(client, sid, record, self.latest.pop(record.eid), self.day, self.tz)
        except ApsystemsError as exc:
            self._failed(record, failed, warn, f"read failed ({exc})")
            return
        if ok:
            failed.pop(record.eid, None)
        else:
            self._failed(record, failed, warn, "the cloud's answer held no sound value")

    @staticmethod
    def _failed(record: DeviceRecord, failed: dict[str, str], warn: Warn, why: str) -> None:
        reason = f"{record.kind} {record.eid}: {why}"
        failed[record.eid] = reason
        warn(f"{reason}; keeping the last values")

    def _skip_rest_of_read(self, eid: str) -> None:
        """A battery whose ``latest`` failed: its minutely call would give no reading."""
        self.calls = [c for c in self.calls if not (c.eid == eid and c.step is Step.STORAGE_PERIOD)]
