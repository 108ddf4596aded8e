"""One read of a meter or battery through the client, into its record (no AppDaemon).

A meter read is one call (the day's minutely period); a battery read is two (``latest`` for
SoC and mode, the minutely period for the day's energies); closing a day is one minutely
call for the past date. A read whose answer cannot give a sound value changes nothing, so a
bad answer never reaches a sensor or a lifetime counter.
"""

from __future__ import annotations

from datetime import date, tzinfo

from apsystems.api.client import ApsystemsClient
from apsystems.api.records import StorageLatest
from apsystems.household.entities import meter_states, storage_states
from apsystems.household.readings import meter_reading, storage_reading
from apsystems.household.store import DeviceRecord

METER_CALLS = 1
STORAGE_CALLS = 2


def read_cost(record: DeviceRecord) -> int:
    return METER_CALLS if record.kind == "meter" else STORAGE_CALLS


def seed(client: ApsystemsClient, sid: str, record: DeviceRecord, day: date) -> None:
    """Start the lifetime counter from the cloud's own lifetime (one summary call)."""
    if record.kind == "meter":
        summary = client.meter_summary(sid, record.eid)
        record.counter.seed(day, vars(summary.lifetime), vars(summary.today))
    else:
        totals = client.storage_summary(sid, record.eid)
        record.counter.seed(day, totals.lifetime, totals.today)


def read(client: ApsystemsClient, sid: str, record: DeviceRecord, day: date, tz: tzinfo) -> bool:
    """Read ``record`` for ``day`` and update its states; False when the answer held no sound value."""
    if record.kind == "meter":
        return read_meter(client, sid, record, day, tz)
    return read_storage(client, sid, record, client.storage_latest(sid, record.eid), day, tz)


def read_meter(client: ApsystemsClient, sid: str, record: DeviceRecord, day: date, tz: tzinfo) -> bool:
    """A meter's read: its minutely period for ``day`` (one call)."""
    m = meter_reading(client.meter_period_minutely(sid, record.eid, day), day, tz)
    if m is None:
        return False
    record.states = meter_states(m, record.counter.observe(day, m.today_kwh))
    record.measured_at = m.at.isoformat()
    return True


def read_storage(
    client: ApsystemsClient, sid: str, record: DeviceRecord, latest: StorageLatest, day: date, tz: tzinfo
) -> bool:
    """A battery's read, second half: its minutely period for ``day`` (one call) with ``latest``."""
    s = storage_reading(latest, client.storage_period_minutely(sid, record.eid, day), day, tz)
    if s is None:
        return False
    record.states = storage_states(s, record.counter.observe(day, s.today_kwh))
    record.measured_at = s.at.isoformat()
    return True


def close_day(client: ApsystemsClient, sid: str, record: DeviceRecord, tz: tzinfo) -> bool:
    """Close the counter's open day with that day's final totals (one call)."""
    day = record.counter.open_day()
    if day is None:
        return False
    if record.kind == "meter":
        m = meter_reading(client.meter_period_minutely(sid, record.eid, day), day, tz)
        totals = None if m is None else m.today_kwh
    else:
        flows = client.storage_period_minutely(sid, record.eid, day)
        totals = {k: float(flows.today.get(k) or 0.0) for k in record.counter.keys}
    if totals is None:
        return False
    record.counter.close_day(day, totals)
    return True
