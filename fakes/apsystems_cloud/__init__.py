"""A fake APsystems OpenAPI cloud for tests and the offline demo (never deployed).

Start one with ``FakeCloud(site=preset("demo")).start()`` or ``python -m fakes.apsystems_cloud``.
"""

from __future__ import annotations

from .auth import Authenticator, expected_signature, last_path_segment
from .clock import FakeClock
from .faults import Fault, FaultInjector
from .presets import (
    DEFAULT_APP_ID,
    DEFAULT_APP_SECRET,
    DEFAULT_CREDENTIALS,
    PRESETS,
    SECOND_APP_ID,
    SECOND_APP_SECRET,
    preset,
)
from .quota import QuotaLedger
from .server import FakeCloud, FakeRequest, FakeResponse
from .site import EcuSpec, InverterSpec, SiteSpec, StorageSpec, build_site, load_site, site_from_dict
from .state import Options
from .stats import CallStats, LoggedRequest

__all__ = [
    "DEFAULT_APP_ID",
    "DEFAULT_APP_SECRET",
    "DEFAULT_CREDENTIALS",
    "PRESETS",
    "SECOND_APP_ID",
    "SECOND_APP_SECRET",
    "Authenticator",
    "CallStats",
    "EcuSpec",
    "FakeClock",
    "FakeCloud",
    "FakeRequest",
    "FakeResponse",
    "Fault",
    "FaultInjector",
    "InverterSpec",
    "LoggedRequest",
    "Options",
    "QuotaLedger",
    "SiteSpec",
    "StorageSpec",
    "build_site",
    "expected_signature",
    "last_path_segment",
    "load_site",
    "preset",
    "site_from_dict",
]
