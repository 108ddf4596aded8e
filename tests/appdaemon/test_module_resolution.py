"""How AppDaemon 4.5.13 resolves ``module:`` for apps in package directories (our layout).

Evidence for the layout documented in tests/support/appdaemon_harness.py: apps are addressed
as ``<package>.<module>``; sibling imports work absolute or relative; names are unique per
package; a changed module restarts exactly the apps that import it.
"""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest

from tests.appdaemon.conftest import HarnessFactory
from tests.support.appdaemon_harness import AppDaemonHarness, AppDaemonStartError, repo_packages

pytestmark = pytest.mark.appdaemon

APP_SOURCE = """
from appdaemon.plugins.hass import Hass

from {package}.helper import VALUE
from .helper import VALUE as RELATIVE_VALUE


class App(Hass):
    def initialize(self):
        self.log("started %s absolute=%s relative=%s", __name__, VALUE, RELATIVE_VALUE)
"""


def make_package(root: Path, package: str, value: str) -> Path:
    """A package like apps/apsystems: __init__.py, helper.py, app.py importing helper both ways."""
    directory = root / package
    directory.mkdir(parents=True)
    (directory / "__init__.py").write_text("")
    (directory / "helper.py").write_text(f"VALUE = {value!r}\n")
    (directory / "app.py").write_text(textwrap.dedent(APP_SOURCE.format(package=package)))
    return directory


async def test_package_module_with_absolute_and_relative_sibling_imports(
    appdaemon_factory: HarnessFactory, tmp_path: Path
) -> None:
    package = make_package(tmp_path / "src", "solar", "v1")

    ad = await appdaemon_factory({"a": {"module": "solar.app", "class": "App"}}, packages=[package])

    assert ad.app_log("a") == ["started solar.app absolute=v1 relative=v1"]
    assert str(ad.app_dir) in sys.path  # AppDaemon put app_dir itself on sys.path


async def test_bare_module_name_of_a_package_module_is_not_importable(tmp_path: Path) -> None:
    package = make_package(tmp_path / "src", "solar", "v1")
    harness = AppDaemonHarness(tmp_path / "ad", {"a": {"module": "app", "class": "App"}}, packages=[package])

    with pytest.raises(AppDaemonStartError) as failure:
        await harness.start()

    assert "ModuleNotFoundError: No module named 'app'" in str(failure.value)


async def test_same_module_names_in_two_packages_are_distinct(
    appdaemon_factory: HarnessFactory, tmp_path: Path
) -> None:
    first = make_package(tmp_path / "src", "pkga", "a1")
    second = make_package(tmp_path / "src", "pkgb", "b1")
    apps = {"a": {"module": "pkga.app", "class": "App"}, "b": {"module": "pkgb.app", "class": "App"}}

    ad = await appdaemon_factory(apps, packages=[first, second])

    assert ad.app_log("a") == ["started pkga.app absolute=a1 relative=a1"]
    assert ad.app_log("b") == ["started pkgb.app absolute=b1 relative=b1"]
    graph = ad.ad.app_management.dependency_manager.python_deps.dep_graph
    assert {"pkga.app", "pkga.helper", "pkgb.app", "pkgb.helper"} <= set(graph)
    assert "pkga.helper" in graph["pkga.app"]


async def test_editing_a_sibling_module_restarts_only_the_apps_importing_it(
    appdaemon_factory: HarnessFactory, tmp_path: Path
) -> None:
    first = make_package(tmp_path / "src", "pkga", "a1")
    second = make_package(tmp_path / "src", "pkgb", "b1")
    apps = {"a": {"module": "pkga.app", "class": "App"}, "b": {"module": "pkgb.app", "class": "App"}}
    ad = await appdaemon_factory(apps, packages=[first, second])

    helper = ad.app_dir / "pkga" / "helper.py"
    helper.write_text("VALUE = 'a2'\n")
    later = helper.stat().st_mtime + 2  # make the change visible whatever the file system's mtime granularity
    os.utime(helper, (later, later))

    await ad.wait_for(lambda: len(ad.app_log("a")) == 2, timeout=5, message="app a restarted")
    assert ad.app_log("a")[-1] == "started pkga.app absolute=a2 relative=a2"
    assert len(ad.app_log("b")) == 1


async def test_repo_packages_are_parsed_under_their_package_names(appdaemon_factory: HarnessFactory) -> None:
    """Our apps/ packages as AppDaemon sees them (no app configured, so nothing is imported)."""
    ad = await appdaemon_factory({})

    python_deps = ad.ad.app_management.dependency_manager.python_deps
    names = set(python_deps.dep_graph)
    for package in repo_packages():
        modules = {f"{package.name}.{p.stem}" for p in package.glob("*.py") if p.name != "__init__.py"}
        assert modules <= names, f"{package.name}: {sorted(modules - names)} not seen by AppDaemon"
    assert not python_deps.bad_files, f"files AppDaemon could not parse: {python_deps.bad_files}"
