"""Every endpoint's parser against the reference's example bodies (apsystems-openapi.md §7)."""

import json
from datetime import date

import pytest

from apsystems.api import records as rec
from apsystems.api.errors import ResponseFormatError
from apsystems.api.values import to_float, to_int


def data_of(body: str):
    return json.loads(body)["data"]


def test_system_details_reference_body() -> None:
    d = rec.parse_system_details(
        data_of(
            '{"data":{"sid":"AZ12649A3DFF","create_date":"2022-09-01","capacity":"1.28","type":1,'
            '"timezone":"Asia/Shanghai","ecu":["203000001234"],"light":1,'
            '"authorization_code":"ff8080815501b29d0155088b2ebb06ad"},"code":0}'
        )
    )
    assert d.sid == "AZ12649A3DFF"
    assert d.create_date == date(2022, 9, 1)
    assert d.capacity_kw == pytest.approx(1.28)
    assert d.system_type == 1 and d.light == 1
    assert d.timezone == "Asia/Shanghai"
    assert d.ecus == (rec.EcuRef(raw="203000001234", eid="203000001234"),)
    assert d.authorization_code == "ff8080815501b29d0155088b2ebb06ad"


def test_sub_user_ecu_queries_the_virtual_ecu() -> None:
    d = rec.parse_system_details({"ecu": ["203000001236-002405253708", "203000001234"]})
    virtual, plain = d.ecus
    assert virtual.is_virtual and virtual.eid == "002405253708" and virtual.main_eid == "203000001236"
    assert not plain.is_virtual and plain.eid == "203000001234"


def test_inverter_list_reference_body() -> None:
    ecus = rec.parse_inverter_list(
        data_of(
            '{"data":[{"eid":"203000001234","type":0,"timezone":"Asia/Shanghai",'
            '"inverter":[{"uid":"902000001234","type":"QT2D"},{"uid":"902000001235","type":"QT2D"}]}],"code":0}'
        )
    )
    (ecu,) = ecus
    assert ecu.ecu.eid == "203000001234" and ecu.ecu_type == 0 and ecu.timezone == "Asia/Shanghai"
    assert [i.uid for i in ecu.inverters] == ["902000001234", "902000001235"]
    assert all(i.model == "QT2D" and i.channels == 4 and i.ecu.eid == "203000001234" for i in ecu.inverters)
    assert not ecu.has_meter and not ecu.has_storage


def test_inverter_list_storage_ecu_and_empty() -> None:
    ecus = rec.parse_inverter_list(
        [{"eid": "203000009999", "type": 2, "model": "ELS", "capacity": "5.0", "inverter": []}]
    )
    assert ecus[0].has_storage and ecus[0].capacity_kwh == 5.0 and ecus[0].model == "ELS"
    assert rec.parse_inverter_list([]) == () and rec.parse_inverter_list(None) == ()
    with pytest.raises(ResponseFormatError):
        rec.parse_inverter_list({"eid": "x"})


@pytest.mark.parametrize(
    ("model", "channels"),
    [("DS3", 2), ("DS3-L", 2), ("YC600", 2), ("QS1", 4), ("QT2", 4), ("QT2D", 4), ("ds3", 2), (None, 2), ("XYZ9", 2)],
)
def test_channels_by_model(model: str | None, channels: int) -> None:
    assert rec.channels_for_model(model) == channels


def test_meters_and_storages_lists() -> None:
    assert rec.parse_id_list(data_of('{"data":["203000001234"],"code":0}')) == ("203000001234",)


def test_summary_reference_and_pre_dawn_null() -> None:
    s = rec.parse_energy_summary(
        data_of('{"data":{"today":"12.28","month":"12.28","year":"12.28","lifetime":"12.28"},"code":0}')
    )
    assert s == rec.EnergySummary(12.28, 12.28, 12.28, 12.28)
    dropped = rec.parse_energy_summary(
        data_of('{"data":{"month":"68.79","year":"134.67","lifetime":"5559.20"},"code":0}')
    )
    assert dropped.today is None and dropped.lifetime == pytest.approx(5559.2)
    assert rec.parse_energy_summary({"today": None, "month": 1, "year": "x", "lifetime": 2.5}) == rec.EnergySummary(
        None, 1.0, None, 2.5
    )


def test_system_energy_series() -> None:
    series = rec.parse_energy_series(data_of('{"data":["567.23","550.32","320.12"],"code":0}'), "monthly")
    assert series.values == (567.23, 550.32, 320.12)
    assert series.total == pytest.approx(1437.67)
    assert rec.parse_energy_series([None, 1, "2.5"], "hourly").total == pytest.approx(3.5)


def test_ecu_minutely_normalised_example() -> None:
    m = rec.parse_ecu_minutely(
        data_of(
            '{"data":{"time":["10:00","10:05"],"energy":["0.02","0.02"],"power":["224","217"],"today":"4.67"},"code":0}'
        )
    )
    assert m.times == ("10:00", "10:05")
    assert m.energy_kwh == (0.02, 0.02) and m.power_w == (224.0, 217.0) and m.today_kwh == 4.67


def test_meter_summary_reference_body() -> None:
    m = rec.parse_meter_summary(
        data_of(
            '{"code":0,"data":{'
            '"today":{"consumed":"394.408090","exported":"0.000000","imported":"560.523540","produced":"833.884550"},'
            '"month":{"consumed":"394.408090","exported":"0.000000","imported":"560.523540","produced":"833.884550"},'
            '"year":{"consumed":"6394.408090","exported":"0.000000","imported":"4560.523540","produced":"1833.884550"},'
            '"lifetime":{"consumed":"6394.458090","exported":"0.000000","imported":"4561.643540",'
            '"produced":"1833.894550"}}}'
        )
    )
    assert m.today.consumed == pytest.approx(394.40809)
    assert m.lifetime.imported == pytest.approx(4561.64354) and m.year.exported == 0.0


def test_meter_period_and_minutely() -> None:
    p = rec.parse_meter_period(
        data_of(
            '{"code":0,"data":{"time":["01","02"],"produced":["40.300","50.016"],"consumed":["40.300","50.016"],'
            '"imported":["40.300","50.016"],"exported":["40.300","50.016"]}}'
        ),
        "daily",
    )
    assert p.times == ("01", "02") and p.produced == (40.3, 50.016) and p.exported == (40.3, 50.016)
    m = rec.parse_meter_minutely(
        data_of(
            '{"code":0,"data":{"today":{"consumed":"5.996600","exported":"0.071860","imported":"3.712280",'
            '"produced":"2.356180"},"time":["23:57"],'
            '"power":{"consumed":["167.96"],"imported_exported":["167.96"],"produced":["0.00"]},'
            '"energy":{"consumed":["0.015620"],"exported":["0"],"imported":["0.01562"],"produced":["0.00000"]}}}'
        )
    )
    assert m.today.exported == pytest.approx(0.07186) and m.times == ("23:57",)
    assert m.power_w["imported_exported"] == (167.96,) and m.energy_kwh["imported"] == (0.01562,)


def test_inverter_summary_reference_and_fligneul_shape() -> None:
    s = rec.parse_inverter_summary(
        data_of(
            '{"data":{"d1":"12.28","m1":"12.28","y1":"12.28","t1":"12.28","d2":"1","m2":"2","y2":"3","t2":"4",'
            '"d3":"12.28","m3":"12.28","y3":"12.28","t3":"12.28","d4":"12.28","m4":"12.28","y4":"12.28","t4":"12.28"},'
            '"code":0}'
        )
    )
    assert sorted(s.channels) == [1, 2, 3, 4]
    assert s.channels[2] == rec.ChannelTotals(1.0, 2.0, 3.0, 4.0)
    no_today = rec.parse_inverter_summary({"m1": "1", "y1": "2", "t1": "3", "m2": "1", "y2": "2", "t2": "3"})
    assert sorted(no_today.channels) == [1, 2] and no_today.channels[1].today is None
    assert no_today.lifetime == 6.0


def test_inverter_energy_reference_body() -> None:
    e = rec.parse_inverter_energy(
        data_of('{"data":{"e1":["567.23","550.32","320.12"],"e2":["567.23","550.32","320.12"]},"code":0}'), "daily"
    )
    assert sorted(e.channels) == [1, 2] and e.channels[1] == (567.23, 550.32, 320.12)


DS3_MINUTELY = (
    '{"data":{"t":["12:00","12:05"],"dc_p1":["180","182"],"dc_p2":["176","179"],"dc_i1":["5.1","5.2"],'
    '"dc_i2":["5.0","5.1"],"dc_v1":["35.2","35.0"],"dc_v2":["35.1","35.0"],"dc_e1":["0.015","0.015"],'
    '"dc_e2":["0.015","0.015"],"ac_v1":["231","232"],"ac_f":["50.0","50.0"],"ac_t":["38","39"],'
    '"ac_p1":["345","349"]},"code":0}'
)


def test_inverter_minutely_two_channel_with_ac_p1() -> None:
    m = rec.parse_inverter_minutely(data_of(DS3_MINUTELY))
    assert m.times == ("12:00", "12:05") and m.channel_count == 2
    assert m.ac_power_w == (345.0, 349.0)
    assert m.dc_power_w == {1: (180.0, 182.0), 2: (176.0, 179.0)}
    assert m.dc_current_a[2] == (5.0, 5.1) and m.dc_voltage_v[1] == (35.2, 35.0)
    assert m.dc_energy_kwh[1] == (0.015, 0.015) and m.ac_voltage_v == {1: (231.0, 232.0)}
    assert m.ac_frequency_hz == (50.0, 50.0) and m.temperature_c == (38.0, 39.0)


def test_inverter_minutely_manual_ac_p_and_four_channels() -> None:
    body = {"t": ["12:00"], "ac_p": ["700"], "ac_f": [49.98], "ac_t": [None]}
    for n in range(1, 5):
        body[f"dc_p{n}"] = [str(170 + n)]
        body[f"dc_v{n}"] = ["35"]
        body[f"dc_i{n}"] = ["5"]
    m = rec.parse_inverter_minutely(body)
    assert m.ac_power_w == (700.0,) and m.channel_count == 4 and m.dc_power_w[4] == (174.0,)
    assert m.temperature_c == (None,)


def test_batch_power_and_energy() -> None:
    p = rec.parse_batch_power(
        data_of('{"data":{"time":["10:00","10:05","10:10","10:15"],"power":{"701000001234-1":[45,56,78,98]}},"code":0}')
    )
    assert p.times == ("10:00", "10:05", "10:10", "10:15")
    assert p.power_w == {("701000001234", 1): (45.0, 56.0, 78.0, 98.0)}
    e = rec.parse_batch_energy(data_of('{"data":{"energy":["701000001234-1-1.24","701000001234-2-0.98"]},"code":0}'))
    assert e.energy_kwh == {("701000001234", 1): 1.24, ("701000001234", 2): 0.98}
    assert rec.parse_batch_energy({"energy": ["garbage", "7-x-1"]}).energy_kwh == {}


def test_storage_records() -> None:
    latest = rec.parse_storage_latest(
        data_of(
            '{"data":{"mode":"4","soc":"97","time":"23:57","discharge":"394.408","charge":"0.000",'
            '"produced":"560.523","consumed":"560.523","exported":"560.523","imported":"833.884"},"code":0}'
        )
    )
    assert latest.mode == 4 and latest.soc_percent == 97.0 and latest.time == "23:57"
    assert latest.values["imported"] == 833.884 and latest.values["charge"] == 0.0
    totals = dict.fromkeys(rec.STORAGE_FIELDS, "1.5")
    summary = rec.parse_storage_summary({"today": totals, "month": totals, "year": totals, "lifetime": None})
    assert summary.today["discharge"] == 1.5 and summary.lifetime["discharge"] is None
    period = rec.parse_storage_period({"time": ["01", "02"], "discharge": ["1", "2"], "charge": ["0", "1"]}, "daily")
    assert period.series == {"discharge": (1.0, 2.0), "charge": (0.0, 1.0)}
    minutely = rec.parse_storage_minutely(
        {
            "today": {"discharge": "394.408"},
            "time": ["23:57"],
            "power": {"discharge": ["167.961"]},
            "energy": {"discharge": ["0.1"]},
        }
    )
    assert minutely.today["discharge"] == 394.408 and minutely.power_w["discharge"] == (167.961,)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12.28", 12.28),
        (12, 12.0),
        (0.5, 0.5),
        (" 3 ", 3.0),
        ("", None),
        (None, None),
        ("abc", None),
        ("NaN", None),
        ("inf", None),
        (True, None),
        ([1], None),
        ("-1.5", -1.5),
    ],
)
def test_numbers_from_strings_or_numbers(raw, expected) -> None:
    assert to_float(raw) == expected


def test_ints() -> None:
    assert to_int("4") == 4 and to_int(1) == 1 and to_int("1.5") is None and to_int(None) is None


def test_wrong_shapes_raise_format_errors() -> None:
    with pytest.raises(ResponseFormatError, match="'time'"):
        rec.parse_ecu_minutely({"time": "10:00"})
    with pytest.raises(ResponseFormatError):
        rec.parse_energy_summary(["12.28"])
    with pytest.raises(ResponseFormatError):
        rec.parse_energy_series({"a": 1}, "hourly")
