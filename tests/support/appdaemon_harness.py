"""Run our apps inside a real, in-process AppDaemon 4.5.13 (no Home Assistant) from pytest.

Usage (pytest-asyncio, ``asyncio_mode = auto``; app and entity names are illustrative)::

    async def test_power_entity(tmp_path: Path) -> None:
        apps = {"production": {"module": "apsystems.production_app", "class": "ProductionApp", "sid": "X"}}
        async with AppDaemonHarness(tmp_path / "ad", apps, secrets={"aps_app_id": "id"}) as ad:
            entity = await ad.wait_for_entity("sensor.apsystems_x_power")
            assert entity.attributes["unit_of_measurement"] == "W"
            await ad.restart()  # same config dir: persisted state must survive

``tests/appdaemon/conftest.py`` wraps this in the ``appdaemon_factory`` fixture.

What the harness builds, per instance, in ``config_dir``::

    appdaemon.yaml     generated: location, time zone, a persistent user namespace, no plugins
    secrets.yaml       generated from ``secrets=``; AppDaemon's loader resolves ``!secret`` from it
    apps/apps.yaml     generated from the ``apps`` dict
    apps/<package>/    copies of the app packages (default: every package in the repo's apps/)
    namespaces/        AppDaemon's shelve files for the user namespace (survive restart())

How AppDaemon 4.5.13 resolves ``module:`` for our layout (``apps/apsystems/`` and
``apps/chargehq/`` are packages with ``__init__.py``), observed with the real AppDaemon and
pinned by tests/appdaemon/test_module_resolution.py:

* At start-up ``AppManagement._process_import_paths`` inserts ``app_dir`` itself at the front
  of ``sys.path``, plus the parent of every *top-level* package directory (for
  ``apps/apsystems/`` that is ``app_dir`` again) and every directory that holds ``.py`` files
  but no ``__init__.py``. Package directories themselves are NOT added.
* Hence ``module: apsystems.budget_app`` works, and inside it both ``from apsystems.budget.ledger
  import Ledger`` and ``from .ledger import Ledger`` work. ``module: budget_app`` fails with
  ``FailedImport … ModuleNotFoundError: No module named 'budget_app'`` (with
  ``import_method: legacy`` every directory is added, a bare name then imports the file as a
  top-level module and its relative imports fail with "attempted relative import with no
  known parent package").
* The dependency manager names every ``.py`` file by its full dotted name, walking up through
  directories that contain ``__init__.py`` (``dependency.get_full_module_name``), so names
  are unique per package: ``apsystems.api.errors`` and ``chargehq.errors`` coexist. Two files
  with the same dotted name (e.g. ``x/foo.py`` and ``y/foo.py`` without ``__init__.py``)
  collapse into one node and one of them silently wins.
* Reloading (``production_mode: false``, the default: files are checked every second): a
  changed file reloads that module, every module that imports it (transitively,
  from the top-level ``import``/``from`` statements parsed with ``ast``) and restarts the apps
  whose ``module`` is among them. ``from .ledger import X`` and ``from apsystems.budget.ledger import
  X`` record a dependency on ``apsystems.budget.ledger``; ``from . import ledger`` and ``from
  apsystems import ledger`` record one on the package ``apsystems`` only, so editing
  ``ledger.py`` would not restart the app. Imports inside functions or ``if TYPE_CHECKING:``
  are not seen.
* AppDaemon only imports the modules named by apps (and modules that import those); other
  files in the packages (``cli.py``, ``__main__.py``) are scanned but never imported.

AppDaemon internals this module relies on (all pinned at 4.5.13, re-check before moving the pin):

* ``appdaemon.logging.Logging`` is a process-wide singleton (``utils.Singleton``); its loggers
  ``AppDaemon`` / ``Error`` do not propagate and write to stdout, and every ``AppDaemon``
  adds a ``LogSubscriptionHandler`` to them that is never removed. Constructing it also sets
  ``logging.raiseExceptions = False`` for the process.
* ``Services.services`` / ``Services.app_registered_services`` are class attributes shared by
  every ``AppDaemon`` in the process; ``AppManagement.check_updates_lock`` is an
  ``asyncio.Lock`` created at import time (a class attribute).
* ``AppManagement.__init__`` inserts the ``appdaemon`` package directory into ``sys.path``
  and start-up inserts ``app_dir``; nothing removes them.
* ``AppManagement.dependency_manager`` must be attached before ``start()`` as ``__main__``
  does; the first ``Utility.app_update_event`` is set after all apps were started.
* ``State.state[namespace]``, ``Scheduler.schedule[app]``, ``Scheduler.exec_schedule``,
  ``Events.process_event``, ``Threading.threads[...]["queue"]`` and the admin entities
  ``app.<name>`` are read directly.
* ``appdaemon.utils.secrets`` is a module global set when a YAML file is read; ``apps.yaml``
  without a ``secrets.yaml`` next to it resolves ``!secret`` from the last one loaded (which
  is how the add-on's ``/config/secrets.yaml`` reaches ``apps/apps.yaml``). The harness loads
  ``appdaemon.yaml`` with AppDaemon's reader first, exactly like the CLI.

Only one harness may run at a time in a process (AppDaemon's singletons above).
"""

from __future__ import annotations

import asyncio
import copy
import functools
import importlib
import inspect
import logging
import queue
import shutil
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any, Final, TypeVar

import yaml
from appdaemon import exceptions as ade
from appdaemon import utils as ad_utils
from appdaemon.appdaemon import AppDaemon
from appdaemon.dependency_manager import DependencyManager
from appdaemon.logging import DuplicateFilter, Logging, LogSubscriptionHandler
from appdaemon.models.config import MainConfig
from appdaemon.services import Services

REPO_ROOT: Final = Path(__file__).resolve().parents[2]
REPO_APPS_DIR: Final = REPO_ROOT / "apps"

DEFAULT_USER_NAMESPACE: Final = "apsystems"
DEFAULT_FAKE_SERVICES: Final = (
    "persistent_notification/create",
    "persistent_notification/dismiss",
    "notify/notify",
)
_POLL_S: Final = 0.02
_AD_ROOT_LOGGERS: Final = ("AppDaemon", "Error")

_T = TypeVar("_T")

# The harness that is running, if any (AppDaemon's singletons allow one per process).
_active_harness: list[AppDaemonHarness] = []


@dataclass(frozen=True)
class Location:
    """Where AppDaemon thinks it is: drives the time zone and the sun times."""

    latitude: float
    longitude: float
    elevation: int  # AppDaemon 4.5 rejects a float elevation
    time_zone: str


SYDNEY: Final = Location(latitude=-33.8688, longitude=151.2093, elevation=58, time_zone="Australia/Sydney")
AMSTERDAM: Final = Location(latitude=52.3676, longitude=4.9041, elevation=0, time_zone="Europe/Amsterdam")
DEFAULT_LOCATION: Final = SYDNEY


class AppDaemonStartError(RuntimeError):
    """AppDaemon did not start, or did not initialise every expected app; the message has its log."""


@dataclass(frozen=True)
class ServiceCall:
    """One call an app made to a fake service (``run`` counts restarts, 0 = first start).

    ``raw_data`` is what AppDaemon delivered. In 4.5.13 a sync app's ``call_service`` (and so
    ``notify``/``persistent_notification``) always adds ``timeout: None`` to it (``sync_decorator``
    passes ``timeout`` to ``ADAPI.call_service``, which copies it into the data; the Hass plugin
    would forward it in ``service_data``). ``data`` is the same without that key.
    """

    run: int
    namespace: str
    domain: str
    service: str
    data: dict[str, Any]
    raw_data: dict[str, Any]

    @property
    def name(self) -> str:
        return f"{self.domain}/{self.service}"


@dataclass(frozen=True)
class FiredEvent:
    """An event AppDaemon processed in a non-admin namespace (includes ``state_changed``).

    ``data`` is what listeners receive; an app's ``fire_event`` adds ``timeout: None`` (4.5.13).
    """

    run: int
    namespace: str
    event_type: str
    data: dict[str, Any]


@dataclass(frozen=True)
class EntityState:
    entity_id: str
    state: Any
    attributes: dict[str, Any]
    last_changed: str | None


@dataclass(frozen=True)
class SchedulerEntry:
    """A pending scheduler entry of an app. ``kwargs`` are the callback's own (no ``__`` keys)."""

    handle: str
    callback: str
    timestamp: datetime
    interval_s: float
    repeat: bool
    type: str | None
    kwargs: dict[str, Any]


@dataclass(frozen=True)
class LogLine:
    run: int
    level: str
    logger: str
    message: str

    def __str__(self) -> str:
        return f"{self.level} {self.logger}: {self.message}"


class _CaptureHandler(logging.Handler):
    def __init__(self, sink: list[LogLine], run: Callable[[], int]) -> None:
        super().__init__(level=logging.NOTSET)
        self._sink = sink
        self._run = run

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string in some log call must not break the test
            message = f"{record.msg!r} % {record.args!r}"
        if record.exc_info and record.exc_info[1] is not None:
            message = f"{message}\n{logging.Formatter().formatException(record.exc_info)}"
        self._sink.append(LogLine(self._run(), record.levelname, record.name, message))


@dataclass
class _ProcessSnapshot:
    """Process-global state AppDaemon changes, restored when the harness stops."""

    sys_path: list[str]
    stashed_modules: dict[str, ModuleType]
    app_top_names: frozenset[str]
    secrets: Any
    exception_handler: Any = None
    loop: asyncio.AbstractEventLoop | None = None


def packages_in(apps_dir: Path) -> list[Path]:
    """Every package directory (one with ``__init__.py``) directly inside ``apps_dir``."""
    return sorted(p for p in Path(apps_dir).iterdir() if p.is_dir() and (p / "__init__.py").is_file())


def repo_packages() -> list[Path]:
    """The packages of the repo's ``apps/``: what a user copies into AppDaemon's apps folder."""
    return packages_in(REPO_APPS_DIR)


class AppDaemonHarness:
    """One AppDaemon configuration directory and the in-process AppDaemon running on it.

    Only one may run at a time in a process (AppDaemon's process-wide singletons).

    Args:
        config_dir: directory to create (or reuse) as AppDaemon's config directory.
        apps: the content of ``apps.yaml`` (app name -> ``module``, ``class`` and args).
        packages: package directories copied into ``apps/``; default: the repo's packages
            (``packages_in(dir)`` lists those of another apps folder).
        secrets: content of ``secrets.yaml`` (``!secret`` in ``apps`` strings is not possible from a
            dict; use :meth:`write_apps_yaml_text` for that).
        location: latitude/longitude/elevation/time zone.
        user_namespace: name of the user namespace declared with ``writeback: safe`` and
            ``persistent: true`` (the 4.5.13 persistence workaround).
        namespaces: replaces the whole ``namespaces:`` section when given.
        appdaemon_options: extra keys for the ``appdaemon:`` section.
        expect_running: apps that must be initialised for :meth:`start` to succeed; default: every
            app in ``apps`` that is not ``disable: true``.
        fake_services: ``domain/service`` names registered in ``default`` that record their calls.
        log_level: AppDaemon's ``loglevel`` (apps can still set ``log_level`` in ``apps``).
        start_timeout: seconds to wait for the apps to be initialised.
    """

    def __init__(
        self,
        config_dir: Path,
        apps: Mapping[str, Mapping[str, Any]],
        *,
        packages: Iterable[Path] | None = None,
        secrets: Mapping[str, Any] | None = None,
        location: Location = DEFAULT_LOCATION,
        user_namespace: str = DEFAULT_USER_NAMESPACE,
        namespaces: Mapping[str, Mapping[str, Any]] | None = None,
        appdaemon_options: Mapping[str, Any] | None = None,
        expect_running: Iterable[str] | None = None,
        fake_services: Iterable[str] = DEFAULT_FAKE_SERVICES,
        log_level: str = "INFO",
        start_timeout: float = 10.0,
    ) -> None:
        self._config_dir = Path(config_dir).resolve()
        self._apps: dict[str, Any] = _plain(apps)
        self._apps_text = yaml.safe_dump(self._apps, sort_keys=False)
        self._packages = [Path(p).resolve() for p in (repo_packages() if packages is None else packages)]
        self._secrets = _plain(secrets or {})
        self._location = location
        self._user_namespace = user_namespace
        self._namespaces = (
            _plain(namespaces)
            if namespaces is not None
            else {user_namespace: {"writeback": "safe", "persistent": True}}
        )
        self._appdaemon_options = _plain(appdaemon_options or {})
        self._expect_running = None if expect_running is None else list(expect_running)
        self._fake_services = tuple(fake_services)
        self._log_level = log_level
        self._start_timeout = start_timeout

        self._prepared = False
        self._ad: AppDaemon | None = None
        self._snapshot: _ProcessSnapshot | None = None
        self._run = -1
        self._logs: list[LogLine] = []
        self._capture = _CaptureHandler(self._logs, lambda: self._run)
        self._service_calls: list[ServiceCall] = []
        self._service_responses: dict[str, dict[str, Any]] = {}
        self._events: list[FiredEvent] = []

    # ------------------------------------------------------------------ paths and config files

    @property
    def config_dir(self) -> Path:
        return self._config_dir

    @property
    def app_dir(self) -> Path:
        return self._config_dir / "apps"

    @property
    def config_file(self) -> Path:
        return self._config_dir / "appdaemon.yaml"

    @property
    def location(self) -> Location:
        return self._location

    @property
    def user_namespace(self) -> str:
        return self._user_namespace

    def write_apps_yaml(self, apps: Mapping[str, Mapping[str, Any]]) -> None:
        """Replace ``apps/apps.yaml``; a running AppDaemon picks it up within ~1 s (reload)."""
        self._apps = _plain(apps)
        self._apps_text = yaml.safe_dump(self._apps, sort_keys=False)
        if self._prepared:
            (self.app_dir / "apps.yaml").write_text(self._apps_text, encoding="utf-8")

    def write_apps_yaml_text(self, text: str, apps: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        """Use ``text`` verbatim as ``apps/apps.yaml`` (for ``!secret`` tags).

        ``apps`` (same content as a dict, tags left out) tells which apps to expect; by default
        the apps of ``text`` read without resolving tags.
        """
        self._apps = _plain(apps) if apps is not None else _untagged_yaml(text)
        self._apps_text = text
        if self._prepared:
            (self.app_dir / "apps.yaml").write_text(self._apps_text, encoding="utf-8")

    def _prepare_config_dir(self) -> None:
        if self._prepared:
            return
        self._config_dir.mkdir(parents=True, exist_ok=True)
        self.app_dir.mkdir(exist_ok=True)
        for package in self._packages:
            if not (package / "__init__.py").is_file():
                raise ValueError(f"{package} is not a package (no __init__.py)")
            target = self.app_dir / package.name
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(package, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        (self.app_dir / "apps.yaml").write_text(self._apps_text, encoding="utf-8")
        (self._config_dir / "secrets.yaml").write_text(yaml.safe_dump(self._secrets), encoding="utf-8")
        appdaemon_section: dict[str, Any] = {
            "latitude": self._location.latitude,
            "longitude": self._location.longitude,
            "elevation": self._location.elevation,
            "time_zone": self._location.time_zone,
            "loglevel": self._log_level,
            "namespaces": self._namespaces,
            **self._appdaemon_options,
        }
        text = "# Generated by tests/support/appdaemon_harness.py (no plugins: no Home Assistant).\n"
        text += yaml.safe_dump({"appdaemon": appdaemon_section}, sort_keys=False)
        self.config_file.write_text(text, encoding="utf-8")
        self._prepared = True

    def _load_main_config(self) -> MainConfig:
        # Same steps as appdaemon.__main__.parse_config: AppDaemon's YAML reader (which also loads
        # secrets.yaml into appdaemon.utils.secrets) and the pydantic MainConfig model.
        raw = ad_utils.read_config_file(self.config_file)
        section = raw["appdaemon"]
        section["config_dir"] = self._config_dir
        section["config_file"] = self.config_file
        return MainConfig.model_validate(raw)

    # ------------------------------------------------------------------ lifecycle

    @property
    def running(self) -> bool:
        return self._ad is not None

    @property
    def ad(self) -> AppDaemon:
        """The running ``AppDaemon`` object (internals: prefer the helpers)."""
        if self._ad is None:
            raise RuntimeError("AppDaemon is not running")
        return self._ad

    @property
    def run(self) -> int:
        """0 for the first start, incremented by every start after that."""
        return self._run

    async def __aenter__(self) -> AppDaemonHarness:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Start AppDaemon and wait until the expected apps are initialised.

        Raises:
            AppDaemonStartError: an expected app is not running (AppDaemon is stopped again first).
        """
        if self._ad is not None:
            raise RuntimeError("AppDaemon is already running")
        if _active_harness and _active_harness[0] is not self:
            other = _active_harness[0].config_dir
            raise RuntimeError(f"another AppDaemonHarness is running (on {other}); stop it first")
        self._prepare_config_dir()
        self._run += 1
        loop = asyncio.get_running_loop()
        _active_harness[:] = [self]
        try:
            self._snapshot = self._isolate_process_state(loop)
            logging_obj = self._attach_logging()
            model = self._load_main_config()
            ad = AppDaemon(logging_obj, loop, model.appdaemon)
            self._ad = ad
            # As appdaemon.__main__.ADMain does; without it AppManagement.start() fails.
            ad.app_management.dependency_manager = DependencyManager.from_app_directory(
                ad.app_dir, exclude=model.appdaemon.exclude_dirs
            )
            # The class-level lock was created at import time; give this loop its own.
            ad.app_management.check_updates_lock = asyncio.Lock()
            loop.set_exception_handler(functools.partial(ade.exception_handler, ad))
            self._install_fake_services(ad)
            self._record_events(ad)
            ad.start()
            await self._wait_until_started(ad)
        except BaseException:
            await self._shutdown()
            raise

    async def stop(self) -> None:
        """Stop AppDaemon (apps' ``terminate()`` runs) and undo its process-wide changes. Idempotent."""
        await self._shutdown()

    async def restart(self, apps: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        """Stop and start AppDaemon on the same config directory (a process restart, in effect).

        Modules loaded from ``apps/`` are dropped so the next start imports them afresh.
        ``apps`` replaces ``apps.yaml`` in between when given.
        """
        await self.stop()
        if apps is not None:
            self.write_apps_yaml(apps)
        await self.start()

    def _expected_apps(self) -> list[str]:
        if self._expect_running is not None:
            return list(self._expect_running)
        return [name for name, cfg in self._apps.items() if isinstance(cfg, dict) and not cfg.get("disable", False)]

    async def _wait_until_started(self, ad: AppDaemon) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._start_timeout
        while not ad.utility.app_update_event.is_set():
            task = getattr(ad.utility, "loop_task", None)
            if task is not None and task.done():
                raise AppDaemonStartError(self._startup_report(ad, "AppDaemon's utility loop ended during start-up"))
            if loop.time() > deadline:
                raise AppDaemonStartError(
                    self._startup_report(ad, f"AppDaemon did not finish starting apps within {self._start_timeout} s")
                )
            await asyncio.sleep(_POLL_S)
        running = ad.app_management.running_apps
        missing = [name for name in self._expected_apps() if name not in running]
        if missing:
            raise AppDaemonStartError(self._startup_report(ad, f"app(s) not initialised: {', '.join(missing)}"))

    def _startup_report(self, ad: AppDaemon, reason: str) -> str:
        lines = [f"{reason} (config dir {self._config_dir}, start #{self._run})"]
        known = set(ad.app_management.app_config.root) if hasattr(ad.app_management, "dependency_manager") else set()
        admin = ad.state.state.get("admin", {})
        for name in self._expected_apps():
            if name not in known:
                status = "not in AppDaemon's app config (an invalid apps.yaml entry is dropped silently)"
            else:
                entity = admin.get(f"app.{name}") or {}
                status = f"state {entity.get('state')!r}"
            lines.append(f"  {name}: {status}")
        lines.append(f"--- AppDaemon log of start #{self._run} ---")
        lines.extend(str(line) for line in self._logs if line.run == self._run)
        return "\n".join(lines)

    async def _shutdown(self) -> None:
        ad, self._ad = self._ad, None
        try:
            if ad is not None:
                try:
                    # Awaited directly, not through asyncio.wait_for: AppDaemon.stop() waits (up to 3 s)
                    # for every task but the current one, and wait_for would run it in a new task
                    # while this one waits for it. stop() bounds its own steps with timeouts.
                    await ad.stop()
                except Exception as exc:  # keep cleaning up; the log tells what happened
                    self._logs.append(LogLine(self._run, "ERROR", "harness", f"AppDaemon.stop() failed: {exc!r}"))
        finally:
            self._restore_process_state()
            self._detach_logging()
            if _active_harness and _active_harness[0] is self:
                _active_harness.clear()

    # ------------------------------------------------------------------ process-global state

    def _app_top_names(self) -> frozenset[str]:
        names = set()
        for child in self.app_dir.iterdir():
            if child.is_dir() and (child / "__init__.py").is_file():
                names.add(child.name)
            elif child.is_file() and child.suffix == ".py":
                names.add(child.stem)
        return frozenset(names)

    @staticmethod
    def _belongs_to(module_name: str, top_names: frozenset[str]) -> bool:
        return module_name.split(".", 1)[0] in top_names

    def _isolate_process_state(self, loop: asyncio.AbstractEventLoop) -> _ProcessSnapshot:
        top_names = self._app_top_names()
        # Modules of the same names imported elsewhere in the session (pytest puts the repo's apps/
        # on sys.path) would shadow the copies in app_dir: set them aside until stop().
        stashed = {name: mod for name, mod in sys.modules.items() if self._belongs_to(name, top_names)}
        for name in stashed:
            del sys.modules[name]
        importlib.invalidate_caches()
        # Shared class attributes of Services (4.5.13): drop registrations of earlier instances.
        Services.services = {}
        Services.app_registered_services = defaultdict(set)
        return _ProcessSnapshot(
            sys_path=list(sys.path),
            stashed_modules=stashed,
            app_top_names=top_names,
            secrets=ad_utils.secrets,
            exception_handler=loop.get_exception_handler(),
            loop=loop,
        )

    def _restore_process_state(self) -> None:
        snapshot, self._snapshot = self._snapshot, None
        if snapshot is None:
            return
        for name in [n for n in sys.modules if self._belongs_to(n, snapshot.app_top_names)]:
            del sys.modules[name]
        sys.modules.update(snapshot.stashed_modules)
        sys.path[:] = snapshot.sys_path
        importlib.invalidate_caches()
        ad_utils.secrets = snapshot.secrets
        Services.services = {}
        Services.app_registered_services = defaultdict(set)
        if snapshot.loop is not None and not snapshot.loop.is_closed():
            snapshot.loop.set_exception_handler(snapshot.exception_handler)

    def _attach_logging(self) -> Logging:
        # Logging is a singleton: the first construction's config wins. Disable AppDaemon's
        # duplicate-message filter (it would hide repeated identical lines from the test).
        logging_obj = Logging({"main_log": {"filter_threshold": 0}, "error_log": {"filter_threshold": 0}}, "INFO")
        for log_cfg in logging_obj.config.values():
            if "filter_threshold" in log_cfg:
                log_cfg["filter_threshold"] = 0
        for logger in _appdaemon_loggers():
            _strip_appdaemon_handlers(logger)
        for name in _AD_ROOT_LOGGERS:
            root = logging.getLogger(name)
            root.propagate = True  # so caplog and pytest's log report see AppDaemon's records
            root.addHandler(self._capture)
        return logging_obj

    def _detach_logging(self) -> None:
        for name in _AD_ROOT_LOGGERS:
            logging.getLogger(name).removeHandler(self._capture)
        for logger in _appdaemon_loggers():
            _strip_appdaemon_handlers(logger)

    # ------------------------------------------------------------------ fakes and recording

    def _install_fake_services(self, ad: AppDaemon) -> None:
        for full_name in self._fake_services:
            domain, service = full_name.split("/", 1)
            ad.services.register_service("default", domain, service, self._fake_service, silent=True)

    async def _fake_service(self, namespace: str, domain: str, service: str, data: dict[str, Any]) -> dict[str, Any]:
        # AppDaemon passes the data dict positionally because this callback has no **kwargs.
        raw = _copy(data)
        clean = {k: v for k, v in raw.items() if not (k == "timeout" and v is None)}
        call = ServiceCall(self._run, namespace, domain, service, clean, raw)
        self._service_calls.append(call)
        if (response := self._service_responses.get(call.name)) is not None:
            return copy.deepcopy(response)
        # The shape of a Home Assistant websocket result as the Hass plugin returns it.
        return {
            "id": len(self._service_calls),
            "type": "result",
            "success": True,
            "result": {"context": {"id": f"fake-{len(self._service_calls)}"}, "response": None},
            "ad_status": "OK",
            "ad_duration": 0.0,
        }

    def set_service_response(self, service: str, response: Mapping[str, Any] | None) -> None:
        """Make the fake ``domain/service`` return ``response`` (None: back to a success result)."""
        if response is None:
            self._service_responses.pop(service, None)
        else:
            self._service_responses[service] = _plain(response)

    def _record_events(self, ad: AppDaemon) -> None:
        original = ad.events.process_event

        async def process_event(namespace: str, data: dict[str, Any]) -> Any:
            if namespace != "admin":
                payload = data.get("data") or {}
                self._events.append(FiredEvent(self._run, namespace, str(data.get("event_type")), _copy(payload)))
            return await original(namespace, data)

        ad.events.process_event = process_event  # type: ignore[method-assign]

    @property
    def service_calls(self) -> list[ServiceCall]:
        """Every call to a fake service, across restarts."""
        return list(self._service_calls)

    def notifications(self, service: str | None = None) -> list[ServiceCall]:
        """Calls to the fake services, optionally only ``service`` (e.g. ``persistent_notification/create``)."""
        return [c for c in self._service_calls if service is None or c.name == service]

    @property
    def events(self) -> list[FiredEvent]:
        return list(self._events)

    def events_of(self, event_type: str, namespace: str = "default") -> list[FiredEvent]:
        return [e for e in self._events if e.event_type == event_type and e.namespace == namespace]

    @property
    def logs(self) -> list[LogLine]:
        """AppDaemon's log records (its own and the apps'), across restarts."""
        return list(self._logs)

    @property
    def log_lines(self) -> list[str]:
        return [str(line) for line in self._logs]

    @property
    def log_text(self) -> str:
        return "\n".join(self.log_lines)

    def app_log(self, app_name: str) -> list[str]:
        """Messages logged by one app (``self.log`` and ``self.error``)."""
        names = {f"AppDaemon.{app_name}", f"Error.{app_name}"}
        return [line.message for line in self._logs if line.logger in names]

    # ------------------------------------------------------------------ state and events

    def entity(self, entity_id: str, namespace: str = "default") -> EntityState | None:
        raw = self.ad.state.state.get(namespace, {}).get(entity_id)
        if raw is None:
            return None
        return EntityState(
            entity_id=entity_id,
            state=copy.deepcopy(raw.get("state")),
            attributes=copy.deepcopy(dict(raw.get("attributes") or {})),
            last_changed=raw.get("last_changed"),
        )

    def state(self, entity_id: str, namespace: str = "default", default: Any = None) -> Any:
        found = self.entity(entity_id, namespace)
        return default if found is None else found.state

    def attributes(self, entity_id: str, namespace: str = "default") -> dict[str, Any]:
        found = self.entity(entity_id, namespace)
        if found is None:
            raise KeyError(f"no entity {entity_id} in namespace {namespace!r}")
        return found.attributes

    def entity_ids(self, namespace: str = "default", prefix: str = "") -> list[str]:
        return sorted(e for e in self.ad.state.state.get(namespace, {}) if str(e).startswith(prefix))

    async def set_state(
        self,
        entity_id: str,
        state: Any,
        attributes: Mapping[str, Any] | None = None,
        namespace: str = "default",
    ) -> None:
        """Set an entity as Home Assistant would (fires ``state_changed`` to the apps' listeners)."""
        await self.ad.state.set_state(
            "harness", namespace, entity_id, state=state, attributes=dict(attributes or {}), _silent=True
        )

    async def fire_event(self, event: str, namespace: str = "default", **data: Any) -> None:
        """Fire an event as Home Assistant would; apps' ``listen_event`` callbacks run in their threads."""
        await self.ad.events.fire_event(namespace, event, **data)

    # ------------------------------------------------------------------ apps and the scheduler

    def get_app(self, name: str) -> Any:
        app = self.ad.app_management.get_app(name)
        if app is None:
            raise KeyError(f"app {name!r} is not running; running: {sorted(self.ad.app_management.running_apps)}")
        return app

    async def call_app(self, name: str, method: str, /, *args: Any, **kwargs: Any) -> Any:
        """Call a method of a running app.

        Sync methods run in a worker thread (AppDaemon's sync API blocks on the event loop, so it
        must not be called from the loop's thread); coroutine methods are awaited.
        """
        func = getattr(self.get_app(name), method)
        if inspect.iscoroutinefunction(func):
            return await func(*args, **kwargs)
        return await asyncio.to_thread(func, *args, **kwargs)

    def scheduler_entries(self, app_name: str) -> list[SchedulerEntry]:
        """Pending timers of an app, soonest first."""
        entries = []
        for handle, entry in self.ad.sched.schedule.get(app_name, {}).items():
            callback = entry.get("callback")
            # run_in & co. store the callback's kwargs in a functools.partial around the bound method.
            func = getattr(callback, "func", callback)
            kwargs = {**getattr(callback, "keywords", {}), **entry["kwargs"]}
            entries.append(
                SchedulerEntry(
                    handle=handle,
                    callback=getattr(func, "__name__", repr(func)),
                    timestamp=entry["timestamp"],
                    interval_s=float(entry["interval"].total_seconds()),
                    repeat=bool(entry["repeat"]),
                    type=entry.get("type"),
                    kwargs={k: v for k, v in kwargs.items() if not str(k).startswith("__")},
                )
            )
        return sorted(entries, key=lambda e: e.timestamp)

    async def fire_timer(self, app_name: str, handle: str) -> None:
        """Run a pending timer now, through AppDaemon's own dispatch (the app's thread, its kwargs).

        A one-shot entry is removed, a repeating one re-armed, as when it falls due.
        Returns once dispatched; use :meth:`wait_idle` or :meth:`wait_for` for the effects.
        """
        entry = self.ad.sched.schedule.get(app_name, {}).get(handle)
        if entry is None:
            raise KeyError(f"no timer {handle} for app {app_name!r}")
        await self.ad.sched.exec_schedule(app_name, entry, handle)

    # ------------------------------------------------------------------ waiting

    async def wait_for(self, predicate: Callable[[], _T | None], *, timeout: float = 5.0, message: str = "") -> _T:
        """Poll ``predicate`` until it returns something truthy (not None, not False); return that."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if value is not None and value is not False:
                return value
            if loop.time() > deadline:
                tail = "\n".join(self.log_lines[-40:])
                raise AssertionError(f"timed out after {timeout} s waiting for {message or predicate!r}\n{tail}")
            await asyncio.sleep(_POLL_S)

    async def wait_for_entity(
        self, entity_id: str, namespace: str = "default", *, state: Any = ..., timeout: float = 5.0
    ) -> EntityState:
        """Wait until the entity exists (and has ``state`` when given)."""

        def found() -> EntityState | None:
            current = self.entity(entity_id, namespace)
            if current is None or (state is not ... and current.state != state):
                return None
            return current

        wanted = "" if state is ... else f" with state {state!r}"
        return await self.wait_for(found, timeout=timeout, message=f"{entity_id} in {namespace!r}{wanted}")

    async def wait_for_event(
        self, event_type: str, namespace: str = "default", *, timeout: float = 5.0, since: int = 0, **match: Any
    ) -> FiredEvent:
        """Wait for an event whose data contains ``match``; ``since`` skips the first N recorded events."""

        def found() -> FiredEvent | None:
            for event in self._events[since:]:
                if (
                    event.event_type == event_type
                    and event.namespace == namespace
                    and all(event.data.get(k) == v for k, v in match.items())
                ):
                    return event
            return None

        return await self.wait_for(found, timeout=timeout, message=f"event {event_type} {match}")

    async def wait_for_service_call(self, service: str, *, timeout: float = 5.0, since: int = 0) -> ServiceCall:
        """Wait for a call to the fake ``service``; ``since`` skips the first N recorded calls."""

        def found() -> ServiceCall | None:
            return next((c for c in self._service_calls[since:] if c.name == service), None)

        return await self.wait_for(found, timeout=timeout, message=f"a call to {service}")

    async def wait_idle(self, *, timeout: float = 5.0) -> None:
        """Wait until no app callback is queued or running in AppDaemon's worker threads."""

        def idle() -> bool:
            queues = [t.get("queue") for t in self.ad.threading.threads.values()]
            return all(q.unfinished_tasks == 0 for q in queues if isinstance(q, queue.Queue))

        await self.wait_for(idle, timeout=timeout, message="worker threads idle")
        await asyncio.sleep(_POLL_S)  # callbacks may have queued follow-ups through the loop
        await self.wait_for(idle, timeout=timeout, message="worker threads idle")


def _appdaemon_loggers() -> list[logging.Logger]:
    manager = logging.Logger.manager
    names = [n for n in list(manager.loggerDict) if n in _AD_ROOT_LOGGERS or n.startswith(("AppDaemon.", "Error."))]
    return [logging.getLogger(n) for n in [*_AD_ROOT_LOGGERS, *names]]


def _strip_appdaemon_handlers(logger: logging.Logger) -> None:
    """Remove what AppDaemon's Logging attached: stdout handlers, stale log subscriptions, dedup filters."""
    for handler in list(logger.handlers):
        if isinstance(handler, LogSubscriptionHandler) or type(handler) is logging.StreamHandler:
            logger.removeHandler(handler)
    for log_filter in [f for f in logger.filters if isinstance(f, DuplicateFilter)]:
        logger.removeFilter(log_filter)


def _plain(value: Any) -> Any:
    """Deep copy of a YAML-able structure with plain dicts and lists (Mappings become dicts)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _untagged_yaml(text: str) -> dict[str, Any]:
    """Parse YAML with AppDaemon's tags (``!secret`` …) read as plain strings."""

    class Loader(yaml.SafeLoader):
        pass

    def as_text(loader: yaml.SafeLoader, node: yaml.Node) -> str:
        return str(node.value)

    for tag in ("!secret", "!env_var", "!include"):
        Loader.add_constructor(tag, as_text)
    data = yaml.load(text, Loader=Loader)  # noqa: S506 - a SafeLoader subclass
    return data if isinstance(data, dict) else {}


def _copy(data: Mapping[str, Any]) -> dict[str, Any]:
    try:
        return copy.deepcopy(dict(data))
    except Exception:  # some AppDaemon payloads hold objects that cannot be copied
        return dict(data)


__all__ = [
    "AMSTERDAM",
    "DEFAULT_FAKE_SERVICES",
    "DEFAULT_LOCATION",
    "DEFAULT_USER_NAMESPACE",
    "REPO_APPS_DIR",
    "SYDNEY",
    "AppDaemonHarness",
    "AppDaemonStartError",
    "EntityState",
    "FiredEvent",
    "Location",
    "LogLine",
    "SchedulerEntry",
    "ServiceCall",
    "packages_in",
    "repo_packages",
]
