"""Home Assistant's websocket API for the recorder: import rows, read them back.

One short connection per job (connect, authenticate, send, close), with a timeout on every
step well under AppDaemon's 10 s callback warning. The token is only ever put into the
``auth`` message: it is never logged, never part of an exception, never in ``repr``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp

from apsystems.history.book import StatisticRow

STEP_TIMEOUT_S = 5.0
ROWS_PER_MESSAGE = 500  # well under Home Assistant's incoming message size limit

RefusalKind = Literal["auth", "not_admin", "too_old", "schema"]


class RecorderUnreachable(Exception):
    """Home Assistant did not answer (restarting, network): try again later, nothing is lost."""


class ImportRefused(Exception):
    """Home Assistant answered and refused: the user has to act (``kind`` says how)."""

    def __init__(self, kind: RefusalKind, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


@dataclass(frozen=True)
class RecorderEndpoint:
    """Where Home Assistant is and the token to use (the HASS plugin's)."""

    url: str
    token: str
    verify_tls: bool = True

    def __repr__(self) -> str:  # the token must never reach a log line
        return f"RecorderEndpoint(url={self.url!r})"

    @property
    def websocket_url(self) -> str:
        base = self.url.rstrip("/")
        if base.startswith("https://"):
            base = "wss://" + base[len("https://") :]
        elif base.startswith("http://"):
            base = "ws://" + base[len("http://") :]
        return f"{base}/api/websocket"


def refusal_kind(error: Mapping[str, Any]) -> RefusalKind:
    code = str(error.get("code", ""))
    if code == "unauthorized":
        return "not_admin"
    if code == "unknown_command":
        return "too_old"
    return "schema"


class RecorderClient:
    """``recorder/import_statistics`` and ``recorder/statistics_during_period`` over the websocket."""

    def __init__(self, endpoint: RecorderEndpoint, *, timeout_s: float = STEP_TIMEOUT_S) -> None:
        self.endpoint = endpoint
        self.timeout_s = timeout_s

    def import_rows(self, metadata: Mapping[str, Any], rows: Sequence[StatisticRow]) -> None:
        """Import ``rows`` in messages of ROWS_PER_MESSAGE, oldest first.

        Raises ImportRefused (the user must act) or RecorderUnreachable (try later). A failure
        part-way leaves earlier messages imported; importing them again later is harmless
        (Home Assistant replaces rows with equal starts).
        """
        self.run(
            [
                {"type": "recorder/import_statistics", "metadata": dict(metadata), "stats": [r.as_ha() for r in chunk]}
                for chunk in _chunks(rows, ROWS_PER_MESSAGE)
            ]
        )

    def run(self, commands: Sequence[dict[str, Any]]) -> list[Any]:
        """Send ``commands`` in order on one connection; their results, in order."""
        try:
            return asyncio.run(self._run(list(commands)))
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise RecorderUnreachable(f"{type(exc).__name__}: {exc}") from None

    async def _run(self, commands: list[dict[str, Any]]) -> list[Any]:
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self.timeout_s, sock_read=self.timeout_s)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.ws_connect(
                self.endpoint.websocket_url, ssl=self.endpoint.verify_tls, max_msg_size=16 * 1024 * 1024
            ) as ws,
        ):
            await self._authenticate(ws)
            results: list[Any] = []
            for number, command in enumerate(commands, start=1):
                await ws.send_str(json.dumps({"id": number, **command}))
                answer = await self._answer(ws, number)
                if not answer.get("success"):
                    error = answer.get("error") or {}
                    raise ImportRefused(refusal_kind(error), str(error.get("message", "refused"))[:300])
                results.append(answer.get("result"))
            return results

    async def _authenticate(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        hello = await self._receive(ws)
        if hello.get("type") == "auth_ok":
            return
        await ws.send_str(json.dumps({"type": "auth", "access_token": self.endpoint.token}))
        answer = await self._receive(ws)
        if answer.get("type") != "auth_ok":
            # The message is HA's (never the token); cut short in case a proxy echoes anything.
            raise ImportRefused("auth", str(answer.get("message", answer.get("type", "")))[:200])

    async def _answer(self, ws: aiohttp.ClientWebSocketResponse, number: int) -> dict[str, Any]:
        while True:
            message = await self._receive(ws)
            if message.get("id") == number and message.get("type") == "result":
                return message

    async def _receive(self, ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
        message = await asyncio.wait_for(ws.receive(), self.timeout_s)
        if message.type is not aiohttp.WSMsgType.TEXT:
            raise RecorderUnreachable(f"websocket closed ({message.type.name})")
        data = json.loads(message.data)
        if not isinstance(data, dict):
            raise RecorderUnreachable("not a JSON object from Home Assistant")
        return data


def _chunks(rows: Sequence[StatisticRow], size: int) -> list[Sequence[StatisticRow]]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]
