"""The ``apsystems_check`` event inside AppDaemon: the command line's check, reported as a notification.

On Home Assistant OS the add-on has no shell, so users cannot run ``python -m apsystems check``;
the event (or ``check_on_start: true`` on the budget app) runs the same check with the
production app's credentials. Each of its four calls is asked of the budget (purpose
``manual``) and counted by its ledger like any other, and each runs in a callback of its own,
so four slow answers never hold one AppDaemon callback past its 10 s warning.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from appdaemon.plugins.hass.hassapi import Hass

from apsystems.api.check import CHECK_NOTICE_ID, CHECK_STEPS, CheckReport
from apsystems.api.client import ApsystemsClient
from apsystems.ha.support import Notifier
from apsystems.ha.wiring import Budget


class CredentialCheck:
    """Runs at most one check at a time for one system and reports it once."""

    def __init__(self, app: Hass, sid: str, budget: Budget, make_client: Callable[[], ApsystemsClient]) -> None:
        self._app = app
        self._sid = sid
        self._budget = budget
        self._make_client = make_client
        self._notifier = Notifier(app)
        self._client: ApsystemsClient | None = None

    def on_event(self, event_type: str, data: Any, **_kwargs: Any) -> None:
        """``listen_event`` callback; event data ``sid`` (optional) picks the system."""
        wanted = data.get("sid") if isinstance(data, Mapping) else None
        if wanted and str(wanted).lower() != self._sid.lower():
            return
        if self._client is not None:
            self._app.log(f"{event_type}: a credential check of system {self._sid} is already running")
            return
        self._client = self._make_client()
        report = CheckReport(self._sid)
        report.start(self._client)
        self._app.run_in(self._step, 0, report=report, index=0)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _step(self, **kwargs: Any) -> None:
        report: CheckReport = kwargs["report"]
        index: int = kwargs["index"]
        client = self._client
        if client is None:  # closed by terminate()
            return
        with self._budget.spending(1, "manual") as decision:
            if decision.allowed:
                go_on = report.run_step(CHECK_STEPS[index], client)
            else:
                report.stop(f"the API budget refused the call: {decision.reason}")
                go_on = False
        if go_on and index + 1 < len(CHECK_STEPS):
            self._app.run_in(self._step, 0, report=report, index=index + 1)
            return
        self.close()
        title, message = report.notice()
        self._app.log(f"{title}: {message}")
        self._notifier.create(CHECK_NOTICE_ID, title, message)
