"""The Charge HQ forwarder as an AppDaemon app: a thin adapter around the pure chargehq modules.

The push loop keeps exactly one thing pending at a time, either a timer or a request:

1. ``_tick`` (a ``run_in`` timer, in the app's thread) asks the ``Sender`` whether a push may go
   out; if not (a timer that fired early, an app restart), it re-arms for the rest of the wait.
   Otherwise it reads the sources, builds the plan and hands the POST to AppDaemon's executor
   (``submit_to_executor``): with up to 8 s for the whole exchange (5 s to connect, 6 s per read),
   a slow Charge HQ would otherwise hold the app's worker thread near AppDaemon's 10 s limit.
2. ``_on_sent`` (back in the app's thread) publishes the app's status entity and arms the
   next timer for ``Sender.seconds_until_allowed()``: the push interval, or the back-off.

The Sender persists its last attempt before each request, so neither an early timer nor a
restart can put two requests less than 30 s apart. The last published status is kept in a file
next to the Sender's, and ``initialize()`` publishes it again (Home Assistant forgets entities
set through its API when it restarts, and AppDaemon re-initialises apps when it reconnects).

Data freshness is judged on AppDaemon's clock (``get_now()``), request spacing on the Sender's
wall clock; ``pacing_clock()`` is the one seam, so tests can move that clock without waiting.
"""

from __future__ import annotations

import uuid
import zoneinfo
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, replace
from datetime import timezone
from pathlib import Path
from typing import Any

from appdaemon.plugins.hass.hassapi import Hass

from apsystems.common.args import PUBLISH_KEYS
from apsystems.common.json_file import read_json_object, write_json_atomic
from apsystems.ha.publisher import publisher_for
from apsystems.ha.support import ensure_user_namespace, log_version
from apsystems.household.share import HouseholdShare, household_entity
from apsystems.production.share import NAMESPACE, ProductionShare, production_entity
from chargehq.config import APSYSTEMS, SOURCE_KEYS, ChargeHQConfig, parse_config
from chargehq.errors import ConfigError, redact
from chargehq.payload import EquationReporter, PushPlan, build_push, unconfigured
from chargehq.sender import Clock, PushOutcome, Sender, utc_now
from chargehq.sources import ApsystemsSnapshot, read_sources
from chargehq.status import status_entity, status_entity_model

APP_KEYS = ("apsystems_sid", "state_dir", *sorted(PUBLISH_KEYS))
"""Keys this app reads besides those of ``parse_config``."""
DEFAULT_STATE_DIR = "apsystems_state"
"""Folder (under AppDaemon's config dir) for the pacing and status files."""
MIN_REARM_S = 1.0
"""Shortest wait when a timer fired before the Sender allowed a push (no busy loop)."""


@dataclass(frozen=True)
class AppSettings:
    """Everything the app needs from its args, validated."""

    config: ChargeHQConfig
    apsystems_sid: str | None
    state_dir: Path


def parse_app_args(args: Mapping[str, Any], config_dir: Path) -> AppSettings:
    """``parse_config`` plus this app's own keys; raises ConfigError with every problem at once."""
    problems: list[str] = []
    config: ChargeHQConfig | None = None
    try:
        config = parse_config(args, extra_keys=APP_KEYS)
    except ConfigError as err:
        problems.extend(err.problems)

    sid: str | None = None
    raw_sid = args.get("apsystems_sid")
    uses_apsystems = any(
        isinstance(value, str) and value.strip().lower() == APSYSTEMS
        for name, value in args.items()
        if name in SOURCE_KEYS
    )
    if isinstance(raw_sid, (str, int)) and not isinstance(raw_sid, bool) and str(raw_sid).strip():
        sid = str(raw_sid).strip()
    elif raw_sid is not None:
        problems.append("apsystems_sid must be your APsystems system ID (set `apsystems_sid: !secret aps_sid`)")
    elif uses_apsystems:
        problems.append(
            "apsystems_sid is missing: `<source>: apsystems` needs the system ID the APsystems apps poll "
            "(set `apsystems_sid: !secret aps_sid`)"
        )

    raw_dir = args.get("state_dir")
    state_dir = config_dir / DEFAULT_STATE_DIR
    if isinstance(raw_dir, str) and raw_dir.strip():
        state_dir = config_dir / Path(raw_dir.strip()).expanduser()  # an absolute path replaces config_dir
    elif raw_dir is not None:
        problems.append(f"state_dir must be a folder path, not {raw_dir!r}; leave it out to use {state_dir}")

    if problems or config is None:
        raise ConfigError(problems)
    return AppSettings(config=config, apsystems_sid=sid, state_dir=state_dir)


def apsystems_snapshot(share: ProductionShare | None) -> ApsystemsSnapshot | None:
    """The production app's shared reading in the form ``read_sources`` takes."""
    if share is None:
        return None
    time_zone: zoneinfo.ZoneInfo | None = None
    if share.time_zone:
        try:
            time_zone = zoneinfo.ZoneInfo(share.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            time_zone = None  # measured_at is aware anyway; the zone only places naive times
    return ApsystemsSnapshot(
        power_kw=share.power_kw,
        measured_at=share.measured_at,
        poll_interval_s=share.poll_interval_s,
        window_open=share.window_open,
        time_zone=time_zone,
    )


@dataclass(frozen=True)
class _Sent:
    """What the executor hands back: the request's outcome, tagged with the run that sent it."""

    run: str
    outcome: PushOutcome | None


def _problem_sources(plan: PushPlan) -> frozenset[str]:
    """Which sources a plan's problems are about (the text itself carries changing ages)."""
    return frozenset(problem.split(":", 1)[0].split(" (", 1)[0] for problem in plan.problems)


class ChargeHQForwarder(Hass):
    """Pushes the site's solar (and meter, and battery) data to Charge HQ; see the module docstring."""

    def pacing_clock(self) -> Clock:
        """The wall clock the Sender spaces requests by; a test subclass substitutes a fake one."""
        return utc_now

    def initialize(self) -> None:
        """Validate the args, publish the last known status, and start the push loop."""
        log_version(self)
        ensure_user_namespace(self, NAMESPACE)  # where the production app shares its latest power
        self._sender: Sender | None = None
        self._settings: AppSettings | None = None
        self._in_flight: Future[Any] | None = None
        self._pending_plan: PushPlan | None = None
        self._stopped = False
        self._run = uuid.uuid4().hex  # a reply to a request of an earlier run is ignored
        self._problem_key: tuple[str, frozenset[str]] | None = None
        self._share_malformed = False
        self._announced = False
        self._status_entity = status_entity_model(self.name)
        try:
            self._publisher = publisher_for(self, "Charge HQ forwarder")
        except ValueError as exc:
            self.log("Configuration error: %s", exc, level="ERROR")
            raise
        try:
            settings = parse_app_args(self.args, Path(self.config_dir))
        except ConfigError as err:
            self._publish_unconfigured(err)
            return
        config = settings.config
        self._settings = settings
        self._reporter = EquationReporter(config.tolerance_kw)
        self._status_path = settings.state_dir / f"chargehq_{self.name}_status.json"
        self._sender = Sender(
            config.api_key,
            endpoint=config.endpoint,
            push_interval_s=config.push_interval_s,
            state_path=settings.state_dir / f"chargehq_{self.name}.json",
            clock=self.pacing_clock(),
            logger=self.logger,
        )
        self._republish_last_status()
        wait = self._sender.seconds_until_allowed()
        sources = ", ".join(spec.label for spec in config.sources.values())
        self.log(
            "Charge HQ forwarder started: %s to %s every %g s; first push in %.0f s",
            sources,
            config.endpoint,
            config.push_interval_s,
            wait,
        )
        self._arm(wait)

    def terminate(self) -> None:
        """Stop the loop and close the HTTP session (after a request still under way, if any)."""
        self._stopped = True
        sender, future = self._sender, self._in_flight
        if sender is None:
            return
        if future is not None and not future.done():
            future.add_done_callback(lambda _done: sender.close())
        else:
            sender.close()

    # --- the loop ---------------------------------------------------------------------------

    def _arm(self, wait_s: float) -> None:
        self.run_in(self._tick, 0.0 if wait_s <= 0 else max(wait_s, MIN_REARM_S))

    def _tick(self, **kwargs: Any) -> None:
        """Timer callback: push now if the Sender allows it, else wait for the rest."""
        sender = self._sender
        if sender is None or self._stopped or self._in_flight is not None:
            return
        wait = sender.seconds_until_allowed()
        if wait > 0:
            self._arm(wait)
            return
        try:
            plan = self._build_plan()
            self._pending_plan = plan
            self._in_flight = self.submit_to_executor(self._post, sender, plan, self._run, callback=self._on_sent)
        except Exception:
            self._in_flight = None
            self._arm(sender.push_interval_s)  # keep the loop alive; AppDaemon logs the traceback
            raise

    def _post(self, sender: Sender, plan: PushPlan, run: str) -> _Sent:
        """Runs in AppDaemon's executor: the one blocking HTTP request. Never raises."""
        try:
            return _Sent(run, sender.push(plan.body()))
        except Exception as err:  # a bug must not stop the loop; the key is redacted from the text
            api_key = self._settings.config.api_key if self._settings else None
            self.logger.error("Charge HQ push crashed: %s", redact(f"{type(err).__name__}: {err}", api_key))
            return _Sent(run, None)

    def _on_sent(self, result: _Sent, **kwargs: Any) -> None:
        """Back in the app's thread after the request: publish the status, arm the next push."""
        sender, plan = self._sender, self._pending_plan
        if self._stopped or result.run != self._run or sender is None or plan is None:
            return
        self._in_flight = None
        outcome = result.outcome
        wait = sender.push_interval_s
        try:
            wait = sender.seconds_until_allowed()
            if outcome is None:  # crashed (logged): no status change, and no retry faster than the interval
                wait = max(wait, sender.push_interval_s)
            elif outcome.attempted:  # a push held back by the pacing changed nothing
                self._publish(plan)
                if outcome.accepted and not self._announced:
                    self._announced = True
                    self.log("Charge HQ accepted the first push (HTTP %s): %s", outcome.http_status, plan.body())
        finally:  # whatever failed above (AppDaemon logs it), the loop goes on
            self._arm(wait)

    # --- reading and building -------------------------------------------------------------------

    def _build_plan(self) -> PushPlan:
        assert self._settings is not None
        config = self._settings.config
        now = self.get_now().astimezone(timezone.utc)
        results = read_sources(
            config, self._read_entity, now=now, apsystems=self._read_apsystems(), household=self._read_household()
        )
        plan = build_push(results, now=now, expected=config.sources, tolerance_kw=config.tolerance_kw)
        self._log_changes(plan)
        return plan

    def _read_entity(self, entity_id: str) -> Mapping[str, object] | None:
        state = self.get_state(entity_id, attribute="all")
        return state if isinstance(state, Mapping) else None

    def _read_apsystems(self) -> ApsystemsSnapshot | None:
        assert self._settings is not None
        sid = self._settings.apsystems_sid
        if sid is None or not self._settings.config.uses_apsystems:
            return None
        entity = production_entity(sid)
        state = self.get_state(entity, namespace=NAMESPACE, attribute="all")
        if not isinstance(state, Mapping):
            return None
        attributes = state.get("attributes")
        share = ProductionShare.from_attributes(dict(attributes)) if isinstance(attributes, Mapping) else None
        if share is None and not self._share_malformed:
            self.log("%s in namespace %s is malformed: %s", entity, NAMESPACE, attributes, level="WARNING")
        self._share_malformed = share is None
        return apsystems_snapshot(share)

    def _read_household(self) -> HouseholdShare | None:
        """The meters app's shared meter and battery fields (None: not configured or not shared yet)."""
        assert self._settings is not None
        sid = self._settings.apsystems_sid
        if sid is None or not self._settings.config.uses_apsystems_household:
            return None
        state = self.get_state(household_entity(sid), namespace=NAMESPACE, attribute="all")
        attributes = state.get("attributes") if isinstance(state, Mapping) else None
        return HouseholdShare.from_attributes(attributes) if isinstance(attributes, Mapping) else None

    def _log_changes(self, plan: PushPlan) -> None:
        """Log a source problem, and the power-flow check, once per change rather than every push."""
        key = (plan.state, _problem_sources(plan))
        if key != self._problem_key:
            if plan.problems:
                self.log("Charge HQ gets an error push (%s): %s", plan.state, "; ".join(plan.problems), level="WARNING")
            elif self._problem_key is not None:
                self.log("Charge HQ sources are all available again")
            self._problem_key = key
        report = self._reporter.observe(plan)
        if report is not None:
            self.logger.log(report.level, report.message)

    # --- the status entity -----------------------------------------------------------------------

    def _publish(self, plan: PushPlan) -> None:
        assert self._sender is not None
        state, attributes = status_entity(plan, self._sender.status, self.name)
        self._publisher.publish(self._status_entity, state, attributes)
        try:
            write_json_atomic(self._status_path, {"state": state, "attributes": attributes})
        except OSError as err:
            self.log("cannot keep the Charge HQ status in %s: %s", self._status_path, err, level="WARNING")

    def _republish_last_status(self) -> None:
        saved = read_json_object(self._status_path)
        if saved is None:
            return
        state, attributes = saved.get("state"), saved.get("attributes")
        if isinstance(state, str) and isinstance(attributes, dict):
            self._publisher.publish(self._status_entity, state, attributes)

    def _publish_unconfigured(self, err: ConfigError) -> None:
        """The status says what to fix; the log names each bad key. The key's value appears in neither."""
        raw_key = self.args.get("api_key")
        secret = raw_key if isinstance(raw_key, str) else None
        problems = tuple(redact(problem, secret) for problem in err.problems)
        for problem in problems:
            self.log("Charge HQ forwarder is not configured: %s", problem, level="ERROR")
        plan = replace(unconfigured("; ".join(problems)), problems=problems)
        state, attributes = status_entity(plan, None, self.name)
        self._publisher.publish(self._status_entity, state, attributes)
