"""The meters app's apps.yaml arguments: the credentials every API app has, nothing else yet.

The night cadence is the budget app's ``night_interval`` (the budget plans those calls).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apsystems.common.args import CREDENTIAL_KEYS, PUBLISH_KEYS, Credentials, check_keys, parse_credentials

LABEL = "meters app"


def parse_household_args(args: Mapping[str, Any]) -> Credentials:
    """Validate the arguments; raises ValueError naming the first bad key and what is allowed."""
    check_keys(args, CREDENTIAL_KEYS | PUBLISH_KEYS, LABEL)
    return parse_credentials(args, LABEL)
