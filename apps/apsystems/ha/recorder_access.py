"""Where the history app reaches Home Assistant's websocket: the HASS plugin's URL and token.

The token is read here and handed to the recorder client only; it is never logged.
"""

from __future__ import annotations

from typing import Any

from appdaemon.plugins.hass.hassapi import Hass

from apsystems.history.recorder_ws import RecorderEndpoint


def plugin_endpoint(app: Hass, url: str | None = None, token: str | None = None) -> RecorderEndpoint | None:
    """The app's Home Assistant (``url``/``token`` override the plugin's); None without a HASS plugin."""
    try:
        plugin: Any = app.AD.plugins.get_plugin_object(app.namespace)
        config = plugin.config
        plugin_url = str(config.ha_url)
        plugin_token = config.token.get_secret_value() if config.token is not None else None
        verify = bool(getattr(config, "cert_verify", True))
    except Exception:  # no HASS plugin in this namespace (tests without Home Assistant)
        plugin_url, plugin_token, verify = None, None, True
    final_url = url or plugin_url
    final_token = token or plugin_token
    if not final_url or not final_token:
        return None
    return RecorderEndpoint(final_url, final_token, verify_tls=verify)
