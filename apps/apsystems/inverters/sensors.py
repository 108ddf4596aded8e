"""The inverter app's entities: published from what the store holds, removed when they are gone.

Publishing spends no call: each inverter's sensors come from its stored readings, and each
ECU has one sensor counting its inverters (with ``publish: mqtt`` that sensor is what puts the
ECU's device into Home Assistant). What no longer exists is removed through the publisher (with
MQTT an empty retained config, so Home Assistant drops the entity and, with its last entity,
the device): an inverter the list no longer has, a channel sensor an inverter no longer has,
and the sensor of an ECU that no listed inverter reports through any more. An empty list never
removes anything (see ``inverters.scan``): a site without a single inverter keeps every ECU.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import tzinfo

from apsystems.api.records import channels_for_model
from apsystems.common.entities import Publisher
from apsystems.inverters.entities import (
    InverterIdentity,
    channel_count,
    ecu_entity,
    entity_ids,
    entity_specs,
    inverter_states,
)
from apsystems.inverters.site_store import SiteInfo
from apsystems.inverters.store import InverterStore
from apsystems.inverters.telemetry import attribute_size


@dataclass(frozen=True)
class PublishSummary:
    """What a publish did: how many inverter entities there are, and the largest attributes."""

    full: bool  # every inverter, not only some
    entities: int
    largest: tuple[int, str]  # (bytes, entity id): HA stops recording attributes over 16 KiB

    def report(self) -> str | None:
        """The line a full publish is worth (none for a few inverters after a call)."""
        if not self.full or not self.largest[0]:
            return None
        return (
            f"Published {self.entities} inverter entities;"
            f" largest attributes {self.largest[0]} bytes ({self.largest[1]})"
        )


def ecu_inverters(site: SiteInfo | None) -> dict[str, list[str]]:
    """ECU id (as listed) -> the uids of its inverters, for the ECUs that have any."""
    by_ecu: dict[str, list[str]] = {}
    for inv in site.inverters if site is not None else ():
        if inv.ecu.raw:
            by_ecu.setdefault(inv.ecu.raw, []).append(inv.uid)
    return by_ecu


class InverterSensors:
    """The entities of one system's inverters and ECUs, through one ``Publisher``."""

    def __init__(self, publisher: Publisher, sid: str, store: InverterStore, log: Callable[[str], None]) -> None:
        self.publisher = publisher
        self.sid = sid
        self.store = store
        self._log = log
        self._published: dict[str, list[str]] = {}  # uid -> the entity ids published for it
        # ECUs whose sensor may be in HA: the stored inverters' ECUs (from before a restart) and
        # every ECU published since, so that one left without inverters loses its sensor.
        self._ecus: set[str] = {r.ecu_id for r in store.records.values() if r.ecu_id}
        self.largest_attributes: tuple[int, str] = (0, "")

    def publish(self, site: SiteInfo | None, tz: tzinfo, uids: Iterable[str] | None = None) -> PublishSummary:
        """Publish the sensors of ``uids`` (default: every inverter) and every ECU's sensor."""
        wanted = None if uids is None else set(uids)
        largest = self.largest_attributes if wanted is not None else (0, "")
        for inv in site.inverters if site is not None else ():
            if wanted is not None and inv.uid not in wanted:
                continue
            record = self.store.record(inv.uid)
            who = InverterIdentity(
                uid=inv.uid,
                model=inv.model,
                ecu_id=inv.ecu.raw,
                channels=channel_count(inv.channels, record.detail, record.batch),
            )
            states = inverter_states(who, record.detail, record.batch, tz)
            specs = entity_specs(who.uid, who.model, who.channels, who.ecu_id, self.sid)
            entities = {spec.entity_id: spec.entity for spec in specs}
            for entity_id, (state, attributes) in states.items():
                size = attribute_size(attributes)
                if size > largest[0]:
                    largest = (size, entity_id)
                self.publisher.publish(entities[entity_id], state, attributes)
            for stale in set(self._published.get(inv.uid, ())) - set(states):
                self.publisher.remove(stale)
            self._published[inv.uid] = list(states)
        self.largest_attributes = largest
        self._publish_ecus(site)
        return PublishSummary(wanted is None, sum(len(ids) for ids in self._published.values()), largest)

    def _publish_ecus(self, site: SiteInfo | None) -> None:
        """One sensor per ECU (its inverter count, with their uids); gone ECUs lose theirs."""
        by_ecu = ecu_inverters(site)
        for eid, uids in sorted(by_ecu.items()):
            self.publisher.publish(ecu_entity(eid, self.sid), len(uids), {"inverters": sorted(uids)})
        if not by_ecu:  # an empty list never removes anything
            return
        for eid in sorted(self._ecus - set(by_ecu)):
            self.publisher.remove(ecu_entity(eid, self.sid).entity_id)
            self._log(f"Removed the sensor of ECU {eid}: no listed inverter reports through it any more")
        self._ecus = set(by_ecu)

    def remove_inverter(self, uid: str) -> None:
        """Remove every entity of ``uid`` (those published, else those its stored model implies)
        and forget its readings; the caller saves the store."""
        record = self.store.records.get(uid)
        ids = self._published.pop(uid, None)
        if ids is None:
            model = record.model if record else None
            channels = channel_count(channels_for_model(model), record.detail if record else None)
            if record is not None:
                channels = channel_count(channels, record.batch)
            ids = entity_ids(uid, model, channels)
        for entity_id in ids:
            self.publisher.remove(entity_id)
        self.store.forget([uid])
        self._log(f"Removed inverter {uid} and its {len(ids)} entities")
