"""AppDaemon app: APsystems' own hourly and daily energy as a Home Assistant long-term statistic.

The work lives in ``apsystems.history.runner``; this class schedules it, feeds it today's
closed hours from the production app's sensor, and publishes the progress sensor and the
``apsystems_history`` notification. A failure here never touches the other apps.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from apsystems.api.client import ApsystemsClient
from apsystems.common.months import zone_or
from apsystems.ha.recorder_access import plugin_endpoint
from apsystems.ha.support import CloudApp, Notifier, app_logger, forward_library_logs, log_version, state_dir
from apsystems.ha.wiring import wire_app
from apsystems.history.config import LABEL, HistoryConfig, parse_history_args
from apsystems.history.entities import history_entity
from apsystems.history.metadata import solar_statistic_id
from apsystems.history.recorder_ws import ImportRefused, RecorderClient, RecorderEndpoint
from apsystems.history.runner import NOTIFICATION_ID, HistoryOptions, HistoryRunner
from apsystems.history.store import history_file, load_history, save_history
from apsystems.production.entities import energy_entities

TICK_S = 300
FIRST_TICK_S = 5
TASKS_PER_TICK = 2
MORE_DELAY_S = 2  # each read is one call: two keep a tick well under AppDaemon's 10 s warning
EVENING_DELAY = timedelta(minutes=15)  # after the window closes, so the last hour is uploaded


class HistoryApp(CloudApp):
    """Maintains ``apsystems:<sid>_solar_energy`` and publishes ``sensor.apsystems_<sid>_history``."""

    def initialize(self) -> None:
        forward_library_logs(self)
        log_version(self)
        self.client: ApsystemsClient | None = None
        self.cfg: HistoryConfig
        self.cfg, self.budget, client, self.publisher = wire_app(
            self, lambda: parse_history_args(self.args, self.today()), LABEL
        )
        self.client = client
        self.tz = zone_or(self.budget.site_time_zone, "UTC", self._warn)
        self.entity = history_entity(self.cfg.sid)
        self.notifier = Notifier(self)
        self._notified: str | None = None
        statistic_id = solar_statistic_id(self.cfg.sid)
        path = history_file(state_dir(self, self.args), statistic_id)
        endpoint = plugin_endpoint(self, self.cfg.ha_url, self.cfg.ha_token)
        self.runner = HistoryRunner(
            HistoryOptions(self.cfg.sid, self.cfg.history_days, self.cfg.history_since),
            load_history(path, statistic_id, self.tz),
            cloud=client,
            budget=self.budget,
            recorder=_recorder(endpoint),
            save=lambda history: save_history(path, history),
            log=app_logger(self),
        )
        self.runner.announce(self.get_now().astimezone(self.tz).date())  # the plan counts the history from now on
        today_entity = energy_entities(self.cfg.sid)["today_energy"].entity_id
        self.listen_state(self._today_changed, today_entity, attribute="all")
        self._publish()
        self.run_every(self._tick, f"now+{FIRST_TICK_S}", TICK_S)

    def today(self) -> date:
        now: datetime = self.get_now()
        return now.date()

    # ---- callbacks ----------------------------------------------------------------------------

    def _tick(self, **_kwargs: Any) -> None:
        try:
            now: datetime = self.get_now()
            today = now.astimezone(self.tz).date()
            window = self.budget.solar_window(now)
            evening = window.end is None or now >= window.end + EVENING_DELAY
            if evening and self.runner.history.evening_on != today and self.runner.history.since is not None:
                self.runner.evening(today)
            # Calls only in the evening: never alongside the day's polls, and at a time users can expect.
            made = self.runner.backfill(today, max_tasks=TASKS_PER_TICK) if evening else 0
            self.runner.sync()
            if made >= TASKS_PER_TICK and self.runner.days_left:
                self.run_in(self._tick, MORE_DELAY_S)  # today's share is not spent yet: carry on soon
        except Exception as exc:  # never let the history take AppDaemon's worker down
            self.runner.last_error = f"{type(exc).__name__}: {exc}"
            self.log(f"Energy history tick failed: {self.runner.last_error}", level="ERROR")
        self._publish()

    def _today_changed(self, entity: str, attribute: str, old: Any, new: Any, **_kwargs: Any) -> None:
        """Production published today's hourly energy: import the closed hours (no call)."""
        try:
            attributes = (new or {}).get("attributes", {}) if isinstance(new, dict) else {}
            hourly = attributes.get("hourly_kwh")
            day = attributes.get("date")
            now: datetime = self.get_now().astimezone(self.tz)
            if not isinstance(hourly, list) or len(hourly) != 24 or day != now.date().isoformat():
                return
            values = [float(v) if isinstance(v, int | float) else None for v in hourly]
            # The hour that closed last may still be uploading: it waits for the next update.
            self.runner.closed_hours(now.date(), values, max(0, now.hour - 1))
        except Exception as exc:
            self.log(f"Energy history: could not use today's hours: {type(exc).__name__}: {exc}", level="WARNING")
        self._publish()

    # ---- publishing ----------------------------------------------------------------------------

    def _publish(self) -> None:
        self.publisher.publish(self.entity, self.runner.status, self.runner.attributes())
        notice = self.runner.notice()
        if notice is not None and self._notified != notice[1]:
            self.notifier.create(NOTIFICATION_ID, *notice)
            self._notified = notice[1]
        elif notice is None and self._notified is not None:
            self.notifier.dismiss(NOTIFICATION_ID)
            self._notified = None

    def _warn(self, message: str) -> None:
        self.log(message, level="WARNING")


class _NoHomeAssistant:
    """No HASS plugin and no ``ha_url``/``ha_token``: every import is refused with advice."""

    def import_rows(self, metadata: dict[str, Any], rows: Any) -> None:
        raise ImportRefused("auth", "no Home Assistant connection (no HASS plugin, no ha_url and ha_token)")


def _recorder(endpoint: RecorderEndpoint | None) -> RecorderClient | _NoHomeAssistant:
    return RecorderClient(endpoint) if endpoint is not None else _NoHomeAssistant()
