"""The inverter jobs' loops, without AppDaemon: slicing, the retry rule, batch-to-inverter matching.

A job calls the API once per inverter (detail) or per ECU (batch). A callback that waits for
two slow answers nears AppDaemon's 10 s warning, so a slice stops as soon as it has run for
``SLICE_S``: at most one slow request per callback, and the rest runs as its own callback.
Failures in a row count across slices, so a cloud that times out on every call costs
``MAX_FAILURES_IN_A_ROW`` calls per run, not that many per slice. A ``JobRun`` carries a run
from slice to slice, so every job goes on through one and the same callback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from time import monotonic
from typing import Generic, TypeVar

from apsystems.api.client import ApsystemsClient
from apsystems.api.errors import ApsystemsError
from apsystems.api.records import BatchPower
from apsystems.inverters.site_store import SiteInfo, SpendingGate
from apsystems.inverters.store import InverterStore
from apsystems.inverters.telemetry import SourceData, from_batch, from_minutely
from apsystems.production.tracker import Outcome, outcome_of

T = TypeVar("T")

SLICE_S = 1.0
MAX_FAILURES_IN_A_ROW = 3

Log = Callable[[str, str], None]  # (message, level)


@dataclass
class FailureStreak:
    """Failures in a row within one run of a job, carried from slice to slice."""

    count: int = 0
    limit: int = MAX_FAILURES_IN_A_ROW

    def go_on(self, purpose: str, target: str, outcome: Outcome, log: Log) -> bool:
        """Whether the loop goes on after ``outcome``: answers and one-off failures yes, limits no."""
        if outcome.succeeded:
            self.count = 0
            if outcome.kind == "no_data":
                log(f"{purpose} {target}: no data (1001); keeping the last values", "DEBUG")
            return True
        if outcome.kind in ("transient", "error"):
            self.count += 1
            log(f"{purpose} {target} failed, waiting for the next run: {outcome.message}", "WARNING")
            if self.count >= self.limit:
                log(f"{purpose}: {self.limit} failures in a row; stopping until the next run", "INFO")
                return False
            return True
        # auth, quota, rate limit: the budget app raises the notification; stop this loop
        log(f"{purpose} stopped, APsystems refused ({outcome.kind}): {outcome.message}", "WARNING")
        return False


@dataclass
class SliceResult(Generic[T]):
    """What one slice did: the items that succeeded, and those left for the next callback."""

    done: list[T] = field(default_factory=list)
    rest: list[T] = field(default_factory=list)
    stopped: bool = False


def run_slice(
    items: Sequence[T],
    attempt: Callable[[T], Outcome | None],
    streak: FailureStreak,
    *,
    purpose: str,
    log: Log,
    label: Callable[[T], str] = str,
    clock: Callable[[], float] = monotonic,
    slice_s: float = SLICE_S,
) -> SliceResult[T]:
    """Call ``attempt`` for each item until the slice has run ``slice_s`` or the loop must stop.

    ``attempt`` returns None when the budget refused the call (the loop stops), else the outcome.
    """
    result: SliceResult[T] = SliceResult()
    started = clock()
    for index, item in enumerate(items):
        if index and clock() - started > slice_s:
            result.rest = list(items[index:])
            return result
        outcome = attempt(item)
        if outcome is None:
            result.stopped = True
            return result
        if outcome.succeeded:
            result.done.append(item)
        if not streak.go_on(purpose, label(item), outcome, log):
            result.stopped = True
            return result
    return result


PREPAID = "extra batch"  # its calls were allowed together before the run began
PER_ECU = ("batch", PREPAID)


@dataclass(frozen=True)
class JobRun:
    """One run of a job between its slices: what is left to read, and how it has gone so far."""

    purpose: str  # "detail", "manual" (a refresh), "batch" or "extra batch"; the budget's purpose too
    items: tuple[str, ...]  # inverter uids, or ECU ids for a batch: those still to read
    day: date
    wanted: int  # items at the start
    origin: str = ""  # who asked for a manual refresh
    failures: int = 0  # in a row so far (``FailureStreak``)
    read: int = 0

    @classmethod
    def start(cls, purpose: str, items: Sequence[str], day: date, origin: str = "") -> JobRun:
        return cls(purpose, tuple(items), day, len(items), origin)

    @property
    def per_ecu(self) -> bool:
        return self.purpose in PER_ECU

    def label(self, item: str) -> str:
        return f"ECU {item}" if self.per_ecu else item

    def report(self) -> str:
        """The line at the end of the run."""
        if self.purpose == "manual":
            return f"Manual refresh ({self.origin}): {self.read} of {self.wanted} inverter(s) read"
        if self.per_ecu:
            return f"{self.purpose.capitalize()} power: {self.read} of {self.wanted} ECU(s) read for {self.day}"
        return f"Inverter {self.purpose}: {self.read} of {self.wanted} due inverter(s) read for {self.day}"


def run_step(
    run: JobRun,
    gate: SpendingGate,
    call: Callable[[str, date], Outcome],
    log: Log,
    *,
    clock: Callable[[], float] = monotonic,
) -> tuple[JobRun, list[str]]:
    """One slice of ``run``, each call through the budget's gate (an extra batch's were allowed
    together); the run as it goes on (finished when no item is left) and the items read now."""
    streak = FailureStreak(run.failures)

    def attempt(item: str) -> Outcome | None:
        if run.purpose == PREPAID:
            return call(item, run.day)
        with gate.spending(1, run.purpose) as decision:
            if not decision.allowed:
                log(f"Stopping {run.purpose}: {decision.reason}", "INFO")
                return None
            return call(item, run.day)

    result = run_slice(run.items, attempt, streak, purpose=run.purpose, log=log, label=run.label, clock=clock)
    rest = replace(run, items=tuple(result.rest), failures=streak.count, read=run.read + len(result.done))
    return rest, result.done


class Readings:
    """The jobs' two calls, each answer kept in the store (which is saved once a slice)."""

    def __init__(self, client: ApsystemsClient, sid: str, store: InverterStore) -> None:
        self.client, self.sid, self.store = client, sid, store

    def for_run(self, run: JobRun, site: SiteInfo | None) -> Callable[[str, date], Outcome]:
        """The call each item of ``run`` takes: batch power per ECU, else an inverter's detail."""
        if not run.per_ecu:
            return self.detail
        return lambda eid, day: self.batch(site, eid, day)

    def detail(self, uid: str, day: date) -> Outcome:
        """One inverter's minutely detail of ``day``."""
        try:
            minutely = self.client.inverter_energy_minutely(self.sid, uid, day)
        except ApsystemsError as exc:
            return outcome_of(exc)
        self.store.record(uid).detail = from_minutely(minutely, day)
        return Outcome("ok")

    def batch(self, site: SiteInfo | None, eid: str, day: date) -> Outcome:
        """Batch power of ``day`` for every inverter of ECU ``eid``."""
        try:
            batch = self.client.batch_power(self.sid, eid, day)
        except ApsystemsError as exc:
            return outcome_of(exc)
        if site is not None:
            for uid, data in batch_by_inverter(site, eid, batch, day).items():
                self.store.record(uid).batch = data
        return Outcome("ok")


def batch_by_inverter(site: SiteInfo, eid: str, batch: BatchPower, day: date) -> dict[str, SourceData]:
    """Each inverter of ECU ``eid`` that the batch answer has data for."""
    found: dict[str, SourceData] = {}
    for device in site.devices:
        if device.ecu.eid != eid:
            continue
        for inv in device.inverters:
            data = from_batch(batch, inv.uid, day)
            if data is not None:
                found[inv.uid] = data
    return found


def inverters_of(site: SiteInfo | None, eids: Iterable[str]) -> list[str]:
    """The uids behind the ECUs ``eids`` (to publish what a batch answer changed)."""
    wanted = set(eids)
    return [inv.uid for d in (site.devices if site else ()) if d.ecu.eid in wanted for inv in d.inverters]


def batch_eids(site: SiteInfo | None) -> list[str]:
    """ECUs that have inverters (a meter- or storage-only ECU has no batch power)."""
    if site is None:
        return []
    return list(dict.fromkeys(d.ecu.eid for d in site.devices if d.inverters))


def refresh_targets(known: Sequence[str], wanted: Iterable[str] | None) -> tuple[list[str], list[str]]:
    """(the known uids to refresh, the requested uids nobody knows); ``None`` means every inverter."""
    if wanted is None:
        return list(known), []
    asked = {str(u).strip().lower() for u in wanted}
    targets = [uid for uid in known if uid.lower() in asked]
    return targets, sorted(asked - {uid.lower() for uid in known})


def requested_uids(raw: object) -> list[str] | None:
    """The ``uid`` of a refresh event: one (an unquoted uid in an HA script arrives as a number),
    a list, or None for every inverter."""
    if isinstance(raw, (str, int)) and not isinstance(raw, bool) and str(raw).strip():
        return [str(raw)]
    if isinstance(raw, list):
        return [str(u) for u in raw]
    return None
