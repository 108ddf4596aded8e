"""The texts of the persistent notifications: what happened, and what the user can do."""

from __future__ import annotations

from apsystems.api.errors import CODE_ADVICE, QUOTA_CODE, describe_code

API_LIMIT_ID = "apsystems_api_limit"
AUTH_ID = "apsystems_auth"
BUDGET_ID = "apsystems_budget"
LIMIT_CODES = frozenset({QUOTA_CODE, 7001, 7002, 7003})
AUTH_NOTICE_CODES = frozenset({2000, 2001, 2002, 2003, 2004, 3000, 3001, 3002, 3003, 3004, 4000})


def api_limit_notice(code: int, used: int, quota: int) -> tuple[str, str]:
    title = "APsystems: API limit reached"
    if code == QUOTA_CODE:
        what = (
            f"The APsystems API reported code 2005 ({describe_code(code)}) after {used} of {quota} calls"
            " counted this month. All calls stop until the month rolls over; one probe call a day checks"
            " for an earlier reset. The last values stay on your sensors."
        )
    else:
        what = (
            f"The APsystems API reported code {code} ({describe_code(code)}). Polling continues at the"
            " planned pace; the last values stay on your sensors."
        )
    hint = (
        " If this happens every month, raise `monthly_quota` only if your plan allows it, or reduce"
        " per-inverter detail (`inverter_detail: false`) in apps.yaml."
    )
    return title, what + hint + " This notification goes away after the next successful call."


def auth_notice(code: int) -> tuple[str, str]:
    advice = CODE_ADVICE.get(code, "Check the App ID, the App Secret and this machine's clock.")
    return (
        "APsystems: credentials or signature rejected",
        f"The APsystems API answered code {code} ({describe_code(code)}). {advice}"
        " The credentials are `aps_app_id` and `aps_app_secret` in secrets.yaml. Check them with"
        " `python3 -m apsystems check` in the apps folder.",
    )


def budget_notice(scan_interval_s: int, projected: int, quota: int) -> tuple[str, str]:
    return (
        "APsystems: polling interval too short for the quota",
        f"With the fixed scan interval of {scan_interval_s} s this month needs about {projected} calls,"
        f" more than the quota of {quota}. Calls stop when the quota is used up. Set `auto_interval: true`"
        " (recommended: it spreads the quota over the month) or a longer `scan_interval` in apps.yaml.",
    )
