"""Pure parts of the bounded HTTP layer: which URLs deserve a start-up warning."""

from __future__ import annotations

import logging

import pytest

from apsystems.api.bounded_http import insecure_url_warning
from apsystems.api.client import ApsystemsClient


@pytest.mark.parametrize(
    ("url", "warned"),
    [
        ("https://api.apsystemsema.com:9282", False),
        ("http://127.0.0.1:9282", False),
        ("http://localhost:8765/push", False),
        ("http://[::1]:9282", False),
        ("http://api.apsystemsema.com:9282", True),
        ("http://192.168.1.20:9282", True),
    ],
)
def test_plain_http_to_another_host_is_warned(url: str, warned: bool) -> None:
    message = insecure_url_warning(url, "APsystems base_url")
    assert (message is not None) == warned
    if message is not None:
        assert url in message and "unencrypted" in message


def test_the_client_warns_at_start_up(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        ApsystemsClient("a" * 32, "b" * 12, base_url="http://api.apsystemsema.com:9282").close()
    assert "plain http://" in caplog.text and "b" * 12 not in caplog.text
