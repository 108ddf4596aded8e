"""Fixtures: a fake cloud on 127.0.0.1 with a fixed clock, and a signing test client."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest
import requests

from apsystems.api.signing import sign_request
from fakes.apsystems_cloud import (
    DEFAULT_APP_ID,
    DEFAULT_APP_SECRET,
    SECOND_APP_ID,
    SECOND_APP_SECRET,
    FakeCloud,
    preset,
)

# 13:07 BST in London on a Monday in June: the sun is up, the day is half done.
NOON_ISH = datetime(2026, 6, 15, 12, 7, tzinfo=timezone.utc)
USER = "/user/api/v2"
INSTALLER = "/installer/api/v2"


class Api:
    """A minimal signed client (the project's signing module as the client side)."""

    def __init__(self, cloud: FakeCloud, app_id: str = DEFAULT_APP_ID, secret: str = DEFAULT_APP_SECRET) -> None:
        self.cloud = cloud
        self.app_id = app_id
        self.secret = secret
        self.session = requests.Session()

    def headers(self, path: str, method: str = "GET", **kwargs: Any) -> dict[str, str]:
        return sign_request(self.app_id, self.secret, path, method, **kwargs).as_dict()

    def request(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        hdrs = self.headers(path, method) if headers is None else headers
        return self.session.request(
            method, self.cloud.url + path, params=params, json=json_body, headers=hdrs, timeout=10
        )

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        resp = self.request("GET", path, params=params or None)
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body

    def data(self, path: str, **params: Any) -> Any:
        """GET and insist on code 0."""
        body = self.get(path, **params)
        assert body["code"] == 0, body
        return body["data"]

    def code(self, path: str, **params: Any) -> int:
        return int(self.get(path, **params)["code"])

    def post(self, path: str, json_body: Any = None, **params: Any) -> dict[str, Any]:
        resp = self.request("POST", path, params=params or None, json_body=json_body)
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body


@pytest.fixture
def cloud() -> Iterator[FakeCloud]:
    fake = FakeCloud(
        site=preset("demo"),
        credentials={DEFAULT_APP_ID: DEFAULT_APP_SECRET, SECOND_APP_ID: SECOND_APP_SECRET},
    )
    fake.clock.set_fixed(NOON_ISH)
    with fake:
        yield fake
    assert fake.internal_errors == []


@pytest.fixture
def api(cloud: FakeCloud) -> Api:
    return Api(cloud)


@pytest.fixture
def southern() -> Iterator[FakeCloud]:
    fake = FakeCloud(site=preset("southern"))
    fake.clock.set_fixed(NOON_ISH)  # 22:07 in Canberra, a winter evening
    with fake:
        yield fake
    assert fake.internal_errors == []


@pytest.fixture
def large() -> Iterator[FakeCloud]:
    fake = FakeCloud(site=preset("large"))
    fake.clock.set_fixed(NOON_ISH)
    with fake:
        yield fake
    assert fake.internal_errors == []


def kwh(text: str) -> Decimal:
    return Decimal(text)


def control(cloud: FakeCloud, method: str, path: str, body: Any = None) -> requests.Response:
    return requests.request(method, cloud.url + "/_fake/" + path, json=body, timeout=10)
