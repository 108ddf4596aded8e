"""Errors of the Charge HQ forwarder, and the one helper that keeps the API key out of text.

A configuration problem is something only the user can fix, so it is its own type: the app
shows it in the status entity as ``unconfigured`` and does not retry it on every push.
"""

from __future__ import annotations

from collections.abc import Iterable

REDACTED = "<redacted>"


class ChargeHQError(Exception):
    """Base class for every error this package raises on purpose."""


class ConfigError(ChargeHQError, ValueError):
    """A setting in apps.yaml (or an entity's unit) that the user has to fix.

    ``problems`` holds one line per problem; each names the key or entity, the bad value
    and what to do. The message joins them, so one exception reports everything at once.
    """

    def __init__(self, problems: str | Iterable[str]) -> None:
        self.problems: tuple[str, ...] = (problems,) if isinstance(problems, str) else tuple(problems)
        if len(self.problems) == 1:
            message = self.problems[0]
        else:
            message = f"{len(self.problems)} configuration problems: " + "; ".join(self.problems)
        super().__init__(message)


def redact(text: str, secret: str | None) -> str:
    """Replace every occurrence of ``secret`` in ``text`` (a server may echo the API key back)."""
    if not secret:
        return text
    return text.replace(secret, REDACTED)
