"""The state and attributes of a forwarder's status entity, from the plan and the sender.

Each forwarder app has its own entity, named after the app: ``sensor.<app>_push_status``. The
app of the example is called ``chargehq``, so existing installs keep ``sensor.chargehq_push_status``;
a second forwarder can no longer overwrite the first one's status.

Built only from what is known after the POST, so the entity never claims a success that did
not happen, and from the key-less body, so the API key never reaches Home Assistant.
"""

from __future__ import annotations

import re
from typing import Any

from apsystems.common.entities import Entity, chargehq_device
from chargehq.payload import PushPlan, PushState
from chargehq.sender import SenderStatus

DEFAULT_APP_NAME = "chargehq"
STATUS_ENTITY = "sensor.chargehq_push_status"
FRIENDLY_NAME = "Charge HQ push status"


def _slug(app_name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", app_name.lower()).strip("_") or DEFAULT_APP_NAME


def status_entity_id(app_name: str) -> str:
    """``sensor.<app name as an object id>_push_status``; ``sensor.chargehq_push_status`` for ``chargehq``."""
    return f"sensor.{_slug(app_name)}_push_status"


def status_entity_model(app_name: str) -> Entity:
    """The status entity in the entity model, on the forwarder's device."""
    return Entity(
        status_entity_id(app_name), friendly_name(app_name), chargehq_device(_slug(app_name)), icon="mdi:ev-station"
    )


def friendly_name(app_name: str) -> str:
    """The entity's name; the app's name is added when it is not the default one."""
    return FRIENDLY_NAME if app_name == DEFAULT_APP_NAME else f"{FRIENDLY_NAME} ({app_name})"


def status_state(plan: PushPlan | None, sender: SenderStatus | None) -> PushState:
    """``ok`` only when the data were good and the last request was accepted."""
    if plan is None:
        return "unconfigured"
    if plan.state == "ok" and sender is not None and sender.consecutive_failures > 0:
        return "error"
    return plan.state


def status_entity(
    plan: PushPlan | None, sender: SenderStatus | None, app_name: str = DEFAULT_APP_NAME
) -> tuple[PushState, dict[str, Any]]:
    """``(state, attributes)`` for ``set_state``; ``plan`` is the last plan pushed (or built)."""
    state = status_state(plan, sender)
    attributes: dict[str, Any] = {"friendly_name": friendly_name(app_name), "icon": "mdi:ev-station"}
    if sender is not None:
        attributes.update(sender.as_attributes())
    else:
        attributes.update(
            {"last_success": None, "last_attempt": None, "last_http_status": None, "consecutive_failures": 0}
        )
    if plan is not None:
        attributes["last_payload"] = plan.public_payload()
        attributes["equation_residual_kw"] = plan.equation_residual_kw
        if plan.problems:
            attributes["problems"] = list(plan.problems)
    else:
        attributes["last_payload"] = None
        attributes["equation_residual_kw"] = None
    return state, attributes
