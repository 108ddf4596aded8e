"""One budget app per App ID in one AppDaemon: a second one is refused, naming both apps."""

from __future__ import annotations

import pytest

from apsystems.ha.wiring import claim_app_id, release_app_id

pytestmark = pytest.mark.appdaemon

APP_ID = "wiring-test-app-id-0123456789abcdef"


def test_second_budget_on_one_app_id_is_refused_and_release_frees_it() -> None:
    claim_app_id(APP_ID, "budget_home")
    try:
        claim_app_id(APP_ID, "budget_home")  # AppDaemon re-initializing the same app is fine
        with pytest.raises(ValueError) as failure:
            claim_app_id(APP_ID, "budget_barn")
        message = str(failure.value)
        assert "'budget_home'" in message and "'budget_barn'" in message and APP_ID not in message
    finally:
        release_app_id(APP_ID, "budget_home")
    claim_app_id(APP_ID, "budget_barn")
    release_app_id(APP_ID, "budget_barn")
