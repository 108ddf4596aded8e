"""The ``apsystems_check`` event inside AppDaemon: the command line's check, reported as a notification.

On Home Assistant OS the add-on has no shell, so users cannot run ``python -m apsystems check``;
the event (or ``check_on_start: true`` on the budget app) runs the same check with the
production app's credentials. Its four calls go through the budget (purpose ``manual``) and
its ledger like any other, and they run on a thread of their own: four slow answers must not
hold an AppDaemon callback past its 10 s warning.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from appdaemon.plugins.hass.hassapi import Hass

from apsystems.api.check import CHECK_CALLS, CHECK_NOTICE_ID, run_check
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
        self._running = threading.Lock()
        self.thread: threading.Thread | None = None

    def on_event(self, event_type: str, data: Any, **_kwargs: Any) -> None:
        """``listen_event`` callback; event data ``sid`` (optional) picks the system."""
        wanted = data.get("sid") if isinstance(data, Mapping) else None
        if wanted and str(wanted).lower() != self._sid.lower():
            return
        if not self._running.acquire(blocking=False):
            self._app.log(f"{event_type}: a credential check of system {self._sid} is already running")
            return
        self.thread = threading.Thread(target=self._run, name=f"apsystems-check-{self._sid}", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            with self._budget.spending(CHECK_CALLS, "manual") as decision:
                if not decision.allowed:
                    self._report(
                        f"APsystems: check of system {self._sid} not run",
                        f"The API budget refused its {CHECK_CALLS} calls: {decision.reason}",
                    )
                    return
                client = self._make_client()
                try:
                    report = run_check(client, self._sid)
                finally:
                    client.close()
            self._report(*report.notice())
        except Exception as exc:  # a thread's exception would vanish silently: say it instead
            self._report(f"APsystems: check of system {self._sid} failed", f"{type(exc).__name__}: {exc}")
        finally:
            self._running.release()

    def _report(self, title: str, message: str) -> None:
        self._app.log(f"{title}: {message}")
        self._notifier.create(CHECK_NOTICE_ID, title, message)
