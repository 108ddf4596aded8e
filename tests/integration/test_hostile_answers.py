"""Hostile answers from the fake cloud over real HTTP: each is a typed error, bounded, and counted once."""

from __future__ import annotations

import time

import pytest

from apsystems.api.client import ApsystemsClient, RequestRecord
from apsystems.api.errors import BodyTooLargeError, DeadlineError, RedirectError, ResponseFormatError
from fakes.apsystems_cloud import DEFAULT_APP_ID, DEFAULT_APP_SECRET, FakeCloud

DEADLINE_S = 2.0


@pytest.fixture
def bounded(cloud: FakeCloud, sent: list[RequestRecord]) -> ApsystemsClient:
    return ApsystemsClient(
        DEFAULT_APP_ID,
        DEFAULT_APP_SECRET,
        base_url=cloud.url,
        on_request=sent.append,
        connect_timeout_s=2,
        read_timeout_s=6,
        deadline_s=DEADLINE_S,
        clock=cloud.clock.timestamp,
    )


def test_a_trickling_body_fails_at_the_deadline_and_is_counted(
    bounded: ApsystemsClient, cloud: FakeCloud, sent: list[RequestRecord]
) -> None:
    # One byte every 0.5 s never trips a 6 s read timeout; only the total deadline stops it.
    cloud.faults.inject("trickle", delay_s=0.5, times=1)
    started = time.monotonic()
    with pytest.raises(DeadlineError, match="deadline"):
        bounded.system_summary(cloud.sid)
    took = time.monotonic() - started
    assert took < DEADLINE_S + 1.5  # the body alone would take ~100 s at this pace
    assert len(sent) == cloud.calls.total == 1 and sent[0].error == "deadline"
    bounded.system_summary(cloud.sid)  # the next call works on a fresh connection
    assert len(sent) == cloud.calls.total == 2


def test_a_redirect_is_refused_naming_the_host_and_counted_once(
    bounded: ApsystemsClient, cloud: FakeCloud, sent: list[RequestRecord]
) -> None:
    cloud.faults.inject("redirect", location="https://collector.invalid/steal", times=1)
    with pytest.raises(RedirectError, match=r"collector\.invalid") as caught:
        bounded.system_summary(cloud.sid)
    assert caught.value.target_host == "collector.invalid"
    assert len(sent) == cloud.calls.total == 1 and sent[0].http_status == 302


def test_json_nested_100000_deep_is_a_format_error_and_counted(
    bounded: ApsystemsClient, cloud: FakeCloud, sent: list[RequestRecord]
) -> None:
    cloud.faults.inject("nest", times=1)
    with pytest.raises(ResponseFormatError, match="nested too deeply"):
        bounded.system_summary(cloud.sid)
    assert len(sent) == cloud.calls.total == 1 and sent[0].error == "bad envelope"


def test_a_body_inflating_to_50_mb_is_capped_without_reading_it_whole(
    bounded: ApsystemsClient, cloud: FakeCloud, sent: list[RequestRecord]
) -> None:
    cloud.faults.inject("inflate", times=1)
    with pytest.raises(BodyTooLargeError, match="larger than the 4194304 byte cap"):
        bounded.system_summary(cloud.sid)
    assert len(sent) == cloud.calls.total == 1 and sent[0].error == "body too large"


def test_a_declared_oversize_body_is_refused_before_reading(cloud: FakeCloud, sent: list[RequestRecord]) -> None:
    small = ApsystemsClient(
        DEFAULT_APP_ID,
        DEFAULT_APP_SECRET,
        base_url=cloud.url,
        on_request=sent.append,
        max_body_bytes=1024,
        clock=cloud.clock.timestamp,
    )
    cloud.faults.inject("corrupt", size=4096, times=1)
    with pytest.raises(BodyTooLargeError, match="declares 4096 bytes"):
        small.system_summary(cloud.sid)
    assert len(sent) == cloud.calls.total == 1


def test_binary_garbage_is_a_format_error_and_counted(
    bounded: ApsystemsClient, cloud: FakeCloud, sent: list[RequestRecord]
) -> None:
    cloud.faults.inject("corrupt", times=1)
    with pytest.raises(ResponseFormatError, match="not JSON"):
        bounded.system_summary(cloud.sid)
    assert len(sent) == cloud.calls.total == 1


def test_the_deadline_is_bounded_under_appdaemons_warning(cloud: FakeCloud) -> None:
    with pytest.raises(ValueError, match="deadline_s"):
        ApsystemsClient(DEFAULT_APP_ID, DEFAULT_APP_SECRET, base_url=cloud.url, deadline_s=12)
