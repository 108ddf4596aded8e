"""An app whose initialize() raises: the harness must report it clearly."""

from __future__ import annotations

from appdaemon.plugins.hass import Hass


class BrokenApp(Hass):
    def initialize(self) -> None:
        raise RuntimeError("probe broken on purpose")
