"""Probe app: uses each AppDaemon feature our apps rely on, in ways a test can observe.

* ``set_state`` of a sensor in ``default`` with friendly_name / unit / device_class / state_class;
* a start counter in the persistent user namespace and another in a JSON file in the config dir;
* ``run_in`` (one short timer, one an hour away for scheduler inspection);
* ``listen_event("probe_ping")`` answered by ``fire_event("probe_pong")`` and ``notify``;
* ``listen_state`` on an ``input_button``;
* ``persistent_notification/create`` at start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from appdaemon.plugins.hass import Hass

from .state_file import bump_counter

POWER_ENTITY = "sensor.probe_power"
STARTS_ENTITY = "sensor.probe_starts"
NAMESPACE_COUNTER = "probe.starts"
STATE_FILE = "probe_state.json"
BUTTON = "input_button.probe_refresh"


class ProbeApp(Hass):
    """The probe; args: ``user_namespace`` (default ``apsystems``), ``power_w`` (default 123.4)."""

    def initialize(self) -> None:
        self.user_ns = str(self.args.get("user_namespace", "apsystems"))
        self.pings = 0
        self.log("probe initialising in %s", self.get_timezone())
        self.debug_marker()

        self.set_state(
            POWER_ENTITY,
            state=float(self.args.get("power_w", 123.4)),
            attributes={
                "friendly_name": "Probe power",
                "unit_of_measurement": "W",
                "device_class": "power",
                "state_class": "measurement",
            },
            check_existence=False,
        )

        previous = self.get_state(NAMESPACE_COUNTER, namespace=self.user_ns)
        namespace_starts = previous + 1 if isinstance(previous, int) else 1
        self.set_state(NAMESPACE_COUNTER, state=namespace_starts, namespace=self.user_ns, check_existence=False)
        file_starts = bump_counter(Path(self.config_dir) / STATE_FILE)
        self.set_state(
            STARTS_ENTITY,
            state=namespace_starts,
            attributes={"friendly_name": "Probe starts", "file_starts": file_starts},
            check_existence=False,
        )

        self.hourly_handle = self.run_in(self.on_hourly, 3600, marker="hourly")
        self.run_in(self.on_soon, 0.2)
        self.listen_event(self.on_ping, "probe_ping")
        self.listen_state(self.on_button, BUTTON)
        # Hass.persistent_notification() annotates id as int (4.5.13) while HA's notification_id is
        # a string, so call the service directly, as our apps do.
        self.call_service(
            "persistent_notification/create", message="Probe started", title="Probe", notification_id="probe_started"
        )
        self.log("probe initialised: namespace starts %s, file starts %s", namespace_starts, file_starts)

    def debug_marker(self) -> None:
        self.log("probe debug marker", level="DEBUG")

    def on_soon(self, **kwargs: Any) -> None:
        self.set_state("sensor.probe_timer", state="fired", check_existence=False)

    def on_hourly(self, **kwargs: Any) -> None:
        self.set_state("sensor.probe_hourly", state=str(kwargs.get("marker")), check_existence=False)

    def on_ping(self, event_type: str, data: dict[str, Any], **kwargs: Any) -> None:
        self.pings += 1
        request_id = data.get("request_id")
        self.fire_event("probe_pong", request_id=request_id, pings=self.pings)
        self.notify(f"ping {request_id}", title="Probe")

    def on_button(self, entity: str, attribute: str, old: Any, new: Any, **kwargs: Any) -> None:
        self.set_state("sensor.probe_button", state=str(new), check_existence=False)

    def ping_count(self) -> int:
        return self.pings

    def describe(self) -> dict[str, Any]:
        # get_timezone() is annotated str but returns the pytz zone in 4.5.13; str() gives its name.
        return {"name": self.name, "time_zone": str(self.get_timezone()), "now": self.get_now().isoformat()}

    def terminate(self) -> None:
        self.log("probe terminating")
