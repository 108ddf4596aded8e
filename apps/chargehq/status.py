"""The state and attributes of ``sensor.chargehq_push_status``, from the plan and the sender.

Built only from what is known after the POST, so the entity never claims a success that did
not happen, and from the key-less body, so the API key never reaches Home Assistant.
"""

from __future__ import annotations

from typing import Any

from chargehq.payload import PushPlan, PushState
from chargehq.sender import SenderStatus

STATUS_ENTITY = "sensor.chargehq_push_status"
FRIENDLY_NAME = "Charge HQ push status"


def status_state(plan: PushPlan | None, sender: SenderStatus | None) -> PushState:
    """``ok`` only when the data were good and the last request was accepted."""
    if plan is None:
        return "unconfigured"
    if plan.state == "ok" and sender is not None and sender.consecutive_failures > 0:
        return "error"
    return plan.state


def status_entity(plan: PushPlan | None, sender: SenderStatus | None) -> tuple[PushState, dict[str, Any]]:
    """``(state, attributes)`` for ``set_state``; ``plan`` is the last plan pushed (or built)."""
    state = status_state(plan, sender)
    attributes: dict[str, Any] = {"friendly_name": FRIENDLY_NAME, "icon": "mdi:ev-station"}
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
