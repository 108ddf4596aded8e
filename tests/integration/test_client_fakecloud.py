"""The client against the fake cloud over real HTTP: every endpoint, every fault, the hook."""

from __future__ import annotations

import contextlib
import logging
from datetime import date

import pytest

from apsystems.api.client import ApsystemsClient, RequestRecord
from apsystems.api.errors import (
    ApiError,
    AuthError,
    NetworkError,
    NoDataError,
    QuotaExhaustedError,
    RateLimitedError,
    ResponseFormatError,
    ServerHttpError,
    TransientApiError,
    TransientError,
)
from fakes.apsystems_cloud import DEFAULT_APP_ID, DEFAULT_APP_SECRET, FakeCloud, preset
from tests.integration.conftest import MIDDAY

TODAY = date(2026, 6, 15)


def test_every_end_user_endpoint_parses(client: ApsystemsClient, cloud: FakeCloud) -> None:
    sid = cloud.sid
    details = client.system_details(sid)
    assert details.sid == sid and details.timezone == "Europe/London" and len(details.ecus) == 1
    (ecu,) = client.inverters(sid)
    assert len(ecu.inverters) == 4 and all(i.model == "DS3" and i.channels == 2 for i in ecu.inverters)
    eid, uid = ecu.ecu.eid, ecu.inverters[0].uid
    assert isinstance(client.meters(sid), tuple)
    summary = client.system_summary(sid)
    assert summary.lifetime is not None and summary.lifetime >= (summary.year or 0) >= (summary.month or 0)
    hourly = client.system_energy(sid, "hourly", TODAY)
    assert len(hourly.values) == 24 and hourly.values[13] == 0.0  # 13:07 local: the hour is in progress
    assert 0 < hourly.total <= (summary.today or 0)  # hourly stops at the last complete hour
    assert len(client.system_energy(sid, "daily", TODAY).values) == 30
    assert len(client.system_energy(sid, "monthly", TODAY).values) == 12
    assert len(client.system_energy(sid, "yearly").values) >= 1
    assert client.ecu_summary(sid, eid).today == pytest.approx(summary.today, abs=0.011)
    assert len(client.ecu_energy(sid, eid, "hourly", TODAY).values) == 24
    minutely = client.ecu_energy_minutely(sid, eid, TODAY)
    assert minutely.times and len(minutely.times) == len(minutely.energy_kwh) == len(minutely.power_w)
    assert sum(v or 0 for v in minutely.energy_kwh) == pytest.approx(minutely.today_kwh, abs=0.011)
    assert set(client.inverter_summary(sid, uid).channels) == {1, 2}
    assert set(client.inverter_energy(sid, uid, "daily", TODAY).channels) == {1, 2}
    detail = client.inverter_energy_minutely(sid, uid, TODAY)
    assert detail.channel_count == 2 and len(detail.ac_power_w) == len(detail.times) > 0
    batch = client.batch_power(sid, eid, TODAY)
    assert {key[0] for key in batch.power_w} == {i.uid for i in ecu.inverters}
    energy = client.batch_energy(sid, eid, TODAY)
    assert len(energy.energy_kwh) == 8


def test_meter_and_storage_endpoints() -> None:
    with FakeCloud(site=preset("southern")) as cloud:
        cloud.clock.set_fixed(MIDDAY)
        api = ApsystemsClient(DEFAULT_APP_ID, DEFAULT_APP_SECRET, base_url=cloud.url, clock=cloud.clock.timestamp)
        ecus = api.inverters(cloud.sid)
        meter = next(e for e in ecus if e.has_meter).ecu.eid
        storage = next(e for e in ecus if e.has_storage).ecu.eid
        day = date(2026, 6, 15)
        assert api.meters(cloud.sid) == (meter,)
        assert api.meter_summary(cloud.sid, meter).lifetime.consumed is not None
        assert api.meter_period(cloud.sid, meter, "daily", day).times
        assert api.meter_period_minutely(cloud.sid, meter, day).times
        assert api.storage_latest(cloud.sid, storage).soc_percent is not None
        assert api.storage_summary(cloud.sid, storage).today["charge"] is not None
        assert api.storage_period(cloud.sid, storage, "daily", day).series
        assert api.storage_period_minutely(cloud.sid, storage, day).times
        installer = ApsystemsClient(
            DEFAULT_APP_ID,
            DEFAULT_APP_SECRET,
            base_url=cloud.url,
            storage_prefix="/installer",
            clock=cloud.clock.timestamp,
        )
        assert installer.storage_latest(cloud.sid, storage).soc_percent is not None


def test_sub_user_ecu_queries_the_virtual_ecu() -> None:
    with FakeCloud(site=preset("shared")) as cloud:
        cloud.clock.set_fixed(MIDDAY)
        api = ApsystemsClient(DEFAULT_APP_ID, DEFAULT_APP_SECRET, base_url=cloud.url, clock=cloud.clock.timestamp)
        (ref,) = api.system_details(cloud.sid).ecus
        assert ref.is_virtual
        assert api.ecu_energy_minutely(cloud.sid, ref.eid, date(2026, 6, 15)).today_kwh


def test_octet_stream_content_type_is_parsed(client: ApsystemsClient, cloud: FakeCloud) -> None:
    cloud.faults.inject("octet_stream", times=1)
    assert client.system_summary(cloud.sid).lifetime is not None


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (5000, TransientApiError),
        (7002, RateLimitedError),
        (7003, RateLimitedError),
        (2005, QuotaExhaustedError),
        (1001, NoDataError),
        (4000, AuthError),
        (2001, AuthError),
        (4001, ApiError),
        (6000, TransientApiError),
    ],
)
def test_injected_codes_raise_typed_errors(
    client: ApsystemsClient, cloud: FakeCloud, code: int, kind: type[ApiError]
) -> None:
    cloud.faults.inject_code(code, times=1)
    with pytest.raises(kind) as caught:
        client.system_summary(cloud.sid)
    assert caught.value.code == code
    assert client.system_summary(cloud.sid).lifetime is not None  # only the next call was affected


def test_faults_at_a_rate_are_deterministic_and_typed(client: ApsystemsClient, cloud: FakeCloud) -> None:
    cloud.faults.inject_code(5000, rate=0.5)
    outcomes = []
    for _ in range(20):
        try:
            client.system_summary(cloud.sid)
            outcomes.append("ok")
        except TransientApiError:
            outcomes.append("5000")
    assert 0 < outcomes.count("5000") < 20


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        ({"kind": "malformed_json"}, ResponseFormatError),
        ({"kind": "http_status", "status": 500}, ServerHttpError),
        ({"kind": "http_status", "status": 503}, ServerHttpError),
        ({"kind": "drop"}, NetworkError),
        ({"kind": "delay", "delay_s": 3.0}, NetworkError),
    ],
)
def test_transport_faults_become_transient_errors(
    client: ApsystemsClient, cloud: FakeCloud, fault: dict[str, object], kind: type
) -> None:
    cloud.faults.inject(times=1, **fault)  # type: ignore[arg-type]
    with pytest.raises(kind) as caught:
        client.system_summary(cloud.sid)
    assert isinstance(caught.value, TransientError)


def test_a_bad_secret_is_an_auth_error_naming_the_causes(cloud: FakeCloud) -> None:
    api = ApsystemsClient(DEFAULT_APP_ID, "wrongsecret1", base_url=cloud.url, clock=cloud.clock.timestamp)
    with pytest.raises(AuthError) as caught:
        api.system_summary(cloud.sid)
    assert caught.value.code == 4000
    assert "clock" in str(caught.value) and "App Secret" in str(caught.value)
    unknown = ApsystemsClient("f" * 32, DEFAULT_APP_SECRET, base_url=cloud.url, clock=cloud.clock.timestamp)
    with pytest.raises(AuthError) as caught:
        unknown.system_summary(cloud.sid)
    assert caught.value.code == 2001


def test_quota_past_the_limit_is_2005(client: ApsystemsClient, cloud: FakeCloud) -> None:
    cloud.set_quota_used(999)
    client.system_summary(cloud.sid)
    with pytest.raises(QuotaExhaustedError):
        client.system_summary(cloud.sid)


def test_hook_counts_exactly_the_requests_sent(
    client: ApsystemsClient, cloud: FakeCloud, sent: list[RequestRecord]
) -> None:
    cloud.calls.reset()
    cloud.faults.inject_code(5000, times=2)
    cloud.faults.inject("http_status", status=500, times=1)
    cloud.faults.inject("malformed_json", times=1)
    cloud.faults.inject("drop", times=1)
    for _ in range(8):
        with contextlib.suppress(TransientError):
            client.system_summary(cloud.sid)
    for level in ("hourly", "daily"):
        client.system_energy(cloud.sid, level, TODAY)
    with pytest.raises(NoDataError):
        client.system_energy(cloud.sid, "hourly", date(2026, 6, 20))  # future: 1001
    assert len(sent) == cloud.calls.total == 11
    assert [r.code for r in sent[:2]] == [5000, 5000]
    assert sent[-1].code == 1001 and sent[-1].params == {"energy_level": "hourly", "date_range": "2026-06-20"}
    assert any(r.http_status == 500 and r.code is None for r in sent)


def test_a_server_that_is_down_is_not_counted(sent: list[RequestRecord]) -> None:
    with FakeCloud(site=preset("demo")) as cloud:
        url = cloud.url
    api = ApsystemsClient(
        DEFAULT_APP_ID, DEFAULT_APP_SECRET, base_url=url, on_request=sent.append, connect_timeout_s=1, read_timeout_s=1
    )
    with pytest.raises(NetworkError):
        api.system_summary("AZ12649A3DFF")
    assert sent == []


def test_a_broken_hook_does_not_break_the_call(cloud: FakeCloud) -> None:
    def hook(_record: RequestRecord) -> None:
        raise RuntimeError("ledger disk full")

    api = ApsystemsClient(
        DEFAULT_APP_ID, DEFAULT_APP_SECRET, base_url=cloud.url, on_request=hook, clock=cloud.clock.timestamp
    )
    assert api.system_summary(cloud.sid).lifetime is not None


def test_debug_logs_show_the_request_but_never_the_secret(
    client: ApsystemsClient, cloud: FakeCloud, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client.system_energy(cloud.sid, "hourly", TODAY)
    cloud.faults.inject_code(4000, times=1)
    with pytest.raises(AuthError) as caught:
        client.system_summary(cloud.sid)
    text = caplog.text + str(caught.value) + repr(client)
    assert f"/user/api/v2/systems/energy/{cloud.sid}" in caplog.text
    assert "energy_level" in caplog.text and "HTTP 200" in caplog.text and "code=4000" in caplog.text
    assert DEFAULT_APP_SECRET not in text
    assert "X-CA-Signature" not in text


def test_configuration_errors_are_clear() -> None:
    with pytest.raises(ValueError, match="read_timeout_s 9"):
        ApsystemsClient(DEFAULT_APP_ID, DEFAULT_APP_SECRET, read_timeout_s=9)
    with pytest.raises(ValueError, match="aps_app_secret"):
        ApsystemsClient(DEFAULT_APP_ID, " ")
    with pytest.raises(ValueError, match="ftp://x"):
        ApsystemsClient(DEFAULT_APP_ID, DEFAULT_APP_SECRET, base_url="ftp://x")
    with pytest.raises(ValueError, match="minutely"):
        ApsystemsClient(DEFAULT_APP_ID, DEFAULT_APP_SECRET).system_energy("AZ1", "minutely")


def test_tls_verification_stays_on() -> None:
    api = ApsystemsClient(DEFAULT_APP_ID, DEFAULT_APP_SECRET)
    assert api._session.verify is True
    assert api.timeout == (3.05, 6.0)  # one failed call stays under AppDaemon's 10 s warning
