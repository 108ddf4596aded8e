"""Typed records for every APsystems OpenAPI response, and the parsers that build them.

Parsers are tolerant by design: numbers arrive as strings or numbers, null stays None, and
only a payload of the wrong overall shape raises ``ResponseFormatError``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Generic, TypeVar

from apsystems.api.errors import ResponseFormatError
from apsystems.api.values import as_mapping, float_list, str_list, to_date, to_float, to_int, to_str

Series = tuple[float | None, ...]
P = TypeVar("P")
# The periods of every summary endpoint, in the order the records list them.
PERIODS = ("today", "month", "year", "lifetime")

# Channels per inverter model; an unknown model falls back to the channels seen in its data.
MODEL_CHANNELS: dict[str, int] = {
    "DS3": 2,
    "DS3-L": 2,
    "DS3-H": 2,
    "DS3-S": 2,
    "DS3D": 2,
    "DS3-D": 2,
    "DS3D-L": 2,
    "YC600": 2,
    "YC500": 2,
    "YC500A": 2,
    "YC500I": 2,
    "EZ1": 2,
    "EZ1-M": 2,
    "EZ1-H": 2,
    "QS1": 4,
    "QS1A": 4,
    "QT2": 4,
    "QT2D": 4,
    "YC1000": 4,
    "YC1000-3": 4,
    "DS3D-4": 4,
    "YC250": 1,
    "YC200": 1,
}
DEFAULT_CHANNELS = 2


def channels_for_model(model: str | None) -> int:
    """How many DC inputs an inverter model has (2 when the model is unknown)."""
    if not model:
        return DEFAULT_CHANNELS
    key = model.strip().upper()
    if key in MODEL_CHANNELS:
        return MODEL_CHANNELS[key]
    for known, channels in MODEL_CHANNELS.items():
        if key.startswith(known):
            return channels
    return DEFAULT_CHANNELS


@dataclass(frozen=True)
class EcuRef:
    """An ECU as listed for a system; sub-user systems list ``main-virtual`` ids.

    Data queries must use ``eid``: the virtual ECU for a sub-user entry, else the id itself.
    """

    raw: str
    eid: str
    main_eid: str | None = None

    @property
    def is_virtual(self) -> bool:
        return self.main_eid is not None


def parse_ecu_ref(value: str) -> EcuRef:
    text = value.strip()
    if "-" in text:
        main, virtual = text.split("-", 1)
        if main and virtual:
            return EcuRef(raw=text, eid=virtual, main_eid=main)
    return EcuRef(raw=text, eid=text)


@dataclass(frozen=True)
class SystemDetails:
    sid: str | None
    create_date: date | None
    capacity_kw: float | None
    system_type: int | None  # 1 PV, 2 storage, 3 PV & storage
    timezone: str | None
    ecus: tuple[EcuRef, ...]
    light: int | None  # 1 green, 2 yellow, 3 red, 4 grey
    authorization_code: str | None


def parse_system_details(data: Any) -> SystemDetails:
    obj = as_mapping(data, "data")
    return SystemDetails(
        sid=to_str(obj.get("sid")),
        create_date=to_date(obj.get("create_date")),
        capacity_kw=to_float(obj.get("capacity")),
        system_type=to_int(obj.get("type")),
        timezone=to_str(obj.get("timezone")),
        ecus=tuple(parse_ecu_ref(e) for e in str_list(obj.get("ecu"), "ecu")),
        light=to_int(obj.get("light")),
        authorization_code=to_str(obj.get("authorization_code")),
    )


@dataclass(frozen=True)
class InverterInfo:
    uid: str
    model: str | None
    ecu: EcuRef

    @property
    def channels(self) -> int:
        return channels_for_model(self.model)


@dataclass(frozen=True)
class EcuDevices:
    """One ECU of the inverter list, with its inverters (key ``inverter``, singular)."""

    ecu: EcuRef
    ecu_type: int | None  # 0 ECU, 1 with meter, 2 with storage
    timezone: str | None
    inverters: tuple[InverterInfo, ...]
    model: str | None = None
    capacity_kwh: float | None = None

    @property
    def has_meter(self) -> bool:
        return self.ecu_type == 1

    @property
    def has_storage(self) -> bool:
        return self.ecu_type == 2


def parse_inverter_list(data: Any) -> tuple[EcuDevices, ...]:
    if data is None:
        return ()
    if not isinstance(data, list):
        raise ResponseFormatError(f"expected a list of ECUs, got {type(data).__name__}")
    ecus: list[EcuDevices] = []
    for item in data:
        obj = as_mapping(item, "ecu")
        eid = to_str(obj.get("eid"))
        if eid is None:
            continue
        ref = parse_ecu_ref(eid)
        inverters = []
        raw_inverters = obj.get("inverter") if obj.get("inverter") is not None else obj.get("inverters")
        for raw in raw_inverters if isinstance(raw_inverters, list) else []:
            inv = as_mapping(raw, "inverter")
            uid = to_str(inv.get("uid"))
            if uid is not None:
                inverters.append(InverterInfo(uid=uid, model=to_str(inv.get("type")), ecu=ref))
        ecus.append(
            EcuDevices(
                ecu=ref,
                ecu_type=to_int(obj.get("type")),
                timezone=to_str(obj.get("timezone")),
                inverters=tuple(inverters),
                model=to_str(obj.get("model")),
                capacity_kwh=to_float(obj.get("capacity")),
            )
        )
    return tuple(ecus)


def parse_id_list(data: Any) -> tuple[str, ...]:
    """Meters and storages endpoints: a plain list of ECU ids."""
    return str_list(data, "data")


@dataclass(frozen=True)
class PeriodTotals(Generic[P]):
    """One value per period of a summary endpoint: today, this month, this year, lifetime."""

    today: P
    month: P
    year: P
    lifetime: P


SummaryT = TypeVar("SummaryT", bound="PeriodTotals[Any]")


def _per_period(read: Callable[[str], P]) -> dict[str, P]:
    """``read`` applied to each period name, as the keyword arguments of a ``PeriodTotals``."""
    return {period: read(period) for period in PERIODS}


def _summary(record: type[SummaryT], data: Any, read: Callable[[Any, str], Any]) -> SummaryT:
    """A summary answer: ``read`` turns each period's value (named for errors) into the record's field."""
    obj = as_mapping(data, "data")
    return record(**_per_period(lambda period: read(obj.get(period), period)))


@dataclass(frozen=True)
class EnergySummary(PeriodTotals[float | None]):
    """kWh totals; ``today`` is None before the first upload of the day."""


def parse_energy_summary(data: Any) -> EnergySummary:
    return _summary(EnergySummary, data, lambda value, _period: to_float(value))


@dataclass(frozen=True)
class EnergySeries:
    """kWh per bucket: 24 hours, the days of a month, 12 months, or the years since install."""

    level: str
    values: Series

    @property
    def total(self) -> float:
        return sum(v for v in self.values if v is not None)


def parse_energy_series(data: Any, level: str) -> EnergySeries:
    return EnergySeries(level=level, values=float_list(data, "data"))


@dataclass(frozen=True)
class EcuMinutely:
    """The ECU's 5-minute curve: ``energy`` is kWh per interval (it sums to ``today``)."""

    times: tuple[str, ...]
    energy_kwh: Series
    power_w: Series
    today_kwh: float | None


def parse_ecu_minutely(data: Any) -> EcuMinutely:
    obj = as_mapping(data, "data")
    return EcuMinutely(
        times=str_list(obj.get("time"), "time"),
        energy_kwh=float_list(obj.get("energy"), "energy"),
        power_w=float_list(obj.get("power"), "power"),
        today_kwh=to_float(obj.get("today")),
    )


@dataclass(frozen=True)
class ChannelTotals(PeriodTotals[float | None]):
    """One DC channel's kWh totals."""


@dataclass(frozen=True)
class InverterSummary:
    """Per-channel kWh totals: dN today, mN month, yN year, tN lifetime."""

    channels: dict[int, ChannelTotals]

    @property
    def lifetime(self) -> float | None:
        values = [c.lifetime for c in self.channels.values() if c.lifetime is not None]
        return sum(values) if values else None


def _channel_numbers(obj: dict[str, Any], prefixes: tuple[str, ...]) -> list[int]:
    found = set()
    for key in obj:
        for prefix in prefixes:
            suffix = key[len(prefix) :]
            if key.startswith(prefix) and suffix.isdigit():
                found.add(int(suffix))
    return sorted(found)


# The inverter summary's key prefix per period: d1 is channel 1 today, t1 its lifetime.
CHANNEL_PREFIXES = {"today": "d", "month": "m", "year": "y", "lifetime": "t"}


def _channel_totals(obj: dict[str, Any], channel: int) -> ChannelTotals:
    return ChannelTotals(**_per_period(lambda period: to_float(obj.get(f"{CHANNEL_PREFIXES[period]}{channel}"))))


def parse_inverter_summary(data: Any) -> InverterSummary:
    obj = as_mapping(data, "data")
    numbers = _channel_numbers(obj, tuple(CHANNEL_PREFIXES.values()))
    return InverterSummary(channels={n: _channel_totals(obj, n) for n in numbers})


@dataclass(frozen=True)
class InverterEnergy:
    """Per-channel kWh per bucket (keys e1..e4)."""

    level: str
    channels: dict[int, Series]


def parse_inverter_energy(data: Any, level: str) -> InverterEnergy:
    obj = as_mapping(data, "data")
    return InverterEnergy(
        level=level,
        channels={n: float_list(obj.get(f"e{n}"), f"e{n}") for n in _channel_numbers(obj, ("e",))},
    )


@dataclass(frozen=True)
class InverterMinutely:
    """One inverter's 5-minute detail; channel dicts are keyed 1..4 and hold only present channels."""

    times: tuple[str, ...]
    ac_power_w: Series
    dc_power_w: dict[int, Series]
    dc_current_a: dict[int, Series]
    dc_voltage_v: dict[int, Series]
    dc_energy_kwh: dict[int, Series]
    ac_voltage_v: dict[int, Series]
    ac_frequency_hz: Series
    temperature_c: Series

    @property
    def channel_count(self) -> int:
        keys = set(self.dc_power_w) | set(self.dc_voltage_v) | set(self.dc_current_a)
        return max(keys) if keys else 0


def _series_by_channel(obj: dict[str, Any], prefix: str) -> dict[int, Series]:
    return {n: float_list(obj.get(f"{prefix}{n}"), f"{prefix}{n}") for n in _channel_numbers(obj, (prefix,))}


def parse_inverter_minutely(data: Any) -> InverterMinutely:
    obj = as_mapping(data, "data")
    # The manual names the AC power `ac_p`; the live API sends `ac_p1`. Accept both, prefer ac_p1.
    ac_key = "ac_p1" if obj.get("ac_p1") is not None else "ac_p"
    return InverterMinutely(
        times=str_list(obj.get("t"), "t"),
        ac_power_w=float_list(obj.get(ac_key), ac_key),
        dc_power_w=_series_by_channel(obj, "dc_p"),
        dc_current_a=_series_by_channel(obj, "dc_i"),
        dc_voltage_v=_series_by_channel(obj, "dc_v"),
        dc_energy_kwh=_series_by_channel(obj, "dc_e"),
        ac_voltage_v=_series_by_channel(obj, "ac_v"),
        ac_frequency_hz=float_list(obj.get("ac_f"), "ac_f"),
        temperature_c=float_list(obj.get("ac_t"), "ac_t"),
    )


@dataclass(frozen=True)
class BatchPower:
    """Every inverter channel's power (W) for the day, keyed (uid, channel), aligned with ``times``."""

    times: tuple[str, ...]
    power_w: dict[tuple[str, int], Series]


def _uid_channel(key: str) -> tuple[str, int] | None:
    uid, _, channel = key.strip().rpartition("-")
    number = to_int(channel)
    return (uid, number) if uid and number is not None else None


def parse_batch_power(data: Any) -> BatchPower:
    obj = as_mapping(data, "data")
    power: dict[tuple[str, int], Series] = {}
    for key, values in as_mapping(obj.get("power"), "power").items():
        ident = _uid_channel(key)
        if ident is not None:
            power[ident] = float_list(values, key)
    return BatchPower(times=str_list(obj.get("time"), "time"), power_w=power)


@dataclass(frozen=True)
class BatchEnergy:
    """Every inverter channel's energy (kWh) for the day, from entries ``uid-channel-energy``."""

    energy_kwh: dict[tuple[str, int], float | None]


def parse_batch_energy(data: Any) -> BatchEnergy:
    obj = as_mapping(data, "data")
    energy: dict[tuple[str, int], float | None] = {}
    for entry in str_list(obj.get("energy"), "energy"):
        parts = entry.split("-", 2)
        if len(parts) == 3 and (channel := to_int(parts[1])) is not None:
            energy[(parts[0], channel)] = to_float(parts[2])
    return BatchEnergy(energy_kwh=energy)


@dataclass(frozen=True)
class MeterTotals:
    consumed: float | None
    exported: float | None
    imported: float | None
    produced: float | None


def parse_meter_totals(data: Any, name: str) -> MeterTotals:
    obj = as_mapping(data, name)
    return MeterTotals(
        consumed=to_float(obj.get("consumed")),
        exported=to_float(obj.get("exported")),
        imported=to_float(obj.get("imported")),
        produced=to_float(obj.get("produced")),
    )


@dataclass(frozen=True)
class MeterSummary(PeriodTotals[MeterTotals]):
    """The meter's kWh totals per period."""


def parse_meter_summary(data: Any) -> MeterSummary:
    return _summary(MeterSummary, data, parse_meter_totals)


@dataclass(frozen=True)
class MeterPeriod:
    """kWh per bucket; the meaning of the ``time`` labels ("01", "02") is undocumented."""

    level: str
    times: tuple[str, ...]
    produced: Series
    consumed: Series
    imported: Series
    exported: Series


def parse_meter_period(data: Any, level: str) -> MeterPeriod:
    obj = as_mapping(data, "data")
    return MeterPeriod(
        level=level,
        times=str_list(obj.get("time"), "time"),
        **{k: float_list(obj.get(k), k) for k in ("produced", "consumed", "imported", "exported")},
    )


@dataclass(frozen=True)
class DeviceMinutely(Generic[P]):
    """A meter's or battery's 5-minute data: ``today``'s totals (kWh), power (W) and energy (kWh) by name."""

    today: P
    times: tuple[str, ...]
    power_w: dict[str, Series] = field(default_factory=dict)
    energy_kwh: dict[str, Series] = field(default_factory=dict)


MinutelyT = TypeVar("MinutelyT", bound="DeviceMinutely[Any]")


def _named_series(data: Any, name: str) -> dict[str, Series]:
    return {k: float_list(v, f"{name}.{k}") for k, v in as_mapping(data, name).items()}


def _device_minutely(record: type[MinutelyT], data: Any, read_today: Callable[[Any, str], Any]) -> MinutelyT:
    """The meter and storage 5-minute answers differ only in how their ``today`` object reads."""
    obj = as_mapping(data, "data")
    return record(
        today=read_today(obj.get("today"), "today"),
        times=str_list(obj.get("time"), "time"),
        power_w=_named_series(obj.get("power"), "power"),
        energy_kwh=_named_series(obj.get("energy"), "energy"),
    )


@dataclass(frozen=True)
class MeterMinutely(DeviceMinutely[MeterTotals]):
    """Meter 5-minute data; the sign of ``imported_exported`` (W) is undocumented."""


def parse_meter_minutely(data: Any) -> MeterMinutely:
    return _device_minutely(MeterMinutely, data, parse_meter_totals)


STORAGE_FIELDS = ("discharge", "charge", "produced", "consumed", "exported", "imported")


@dataclass(frozen=True)
class StorageLatest:
    """Latest storage readings; ``mode``'s mapping is undocumented, powers are presumably W."""

    mode: int | None
    soc_percent: float | None
    time: str | None
    values: dict[str, float | None]


def parse_storage_latest(data: Any) -> StorageLatest:
    obj = as_mapping(data, "data")
    return StorageLatest(
        mode=to_int(obj.get("mode")),
        soc_percent=to_float(obj.get("soc")),
        time=to_str(obj.get("time")),
        values={k: to_float(obj.get(k)) for k in STORAGE_FIELDS},
    )


@dataclass(frozen=True)
class StorageSummary(PeriodTotals[dict[str, float | None]]):
    """kWh totals per period, each a map of discharge/charge/produced/consumed/exported/imported."""


def _storage_totals(data: Any, name: str) -> dict[str, float | None]:
    obj = as_mapping(data, name)
    return {k: to_float(obj.get(k)) for k in STORAGE_FIELDS}


def parse_storage_summary(data: Any) -> StorageSummary:
    return _summary(StorageSummary, data, _storage_totals)


@dataclass(frozen=True)
class StoragePeriod:
    """Storage energy per bucket (kWh) for hourly/daily/monthly/yearly levels."""

    level: str
    times: tuple[str, ...]
    series: dict[str, Series]


def parse_storage_period(data: Any, level: str) -> StoragePeriod:
    obj = as_mapping(data, "data")
    return StoragePeriod(
        level=level,
        times=str_list(obj.get("time"), "time"),
        series={k: float_list(obj.get(k), k) for k in STORAGE_FIELDS if k in obj},
    )


@dataclass(frozen=True)
class StorageMinutely(DeviceMinutely[dict[str, float | None]]):
    """Storage 5-minute data: ``today`` holds the totals of the requested date."""


def parse_storage_minutely(data: Any) -> StorageMinutely:
    return _device_minutely(StorageMinutely, data, _storage_totals)
