"""One HTTP request with hard bounds: a total deadline, a body size cap and no redirects.

``requests`` only bounds each socket read, so a server trickling one byte every 3 s keeps a
request (and the AppDaemon thread behind it) alive for ever. Here a watchdog timer shuts the
request's socket down when the deadline passes, the body is read in chunks up to a cap (after
decompression, so a gzip bomb is caught too), and a redirect is refused, never followed: a
redirect would carry the signed headers to another host. Used by the APsystems client and the
Charge HQ sender alike; neither knows about AppDaemon.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.retry import Retry

DEFAULT_DEADLINE_S = 8.0
"""Connect, send and the whole answer: well under AppDaemon's 10 s callback warning."""
MAX_DEADLINE_S = 9.0
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
"""The largest APsystems answer (a day of batch power for a big ECU) is far below 1 MB."""
CHUNK_BYTES = 16 * 1024
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class BoundedHttpError(Exception):
    """Base of the bounds' failures; ``reached_network`` says whether the request was sent."""

    reached_network = True


class DeadlineExceeded(BoundedHttpError):
    """The whole exchange took longer than the deadline (slow connect, trickling answer)."""


class BodyTooLarge(BoundedHttpError):
    """The answer (after decompression) is larger than the cap."""


class RedirectRefused(BoundedHttpError):
    """The server answered with a redirect; it is never followed."""

    def __init__(self, status: int, target_host: str) -> None:
        self.status = status
        self.target_host = target_host
        super().__init__(f"HTTP {status} redirect to host {target_host!r} refused (redirects are never followed)")


@dataclass(frozen=True)
class BoundedResponse:
    """A complete answer read within the bounds."""

    status: int
    body: bytes
    elapsed_s: float

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def insecure_url_warning(url: str, what: str) -> str | None:
    """A warning line when ``url`` is plain http:// to a host other than this machine, else None."""
    parts = urlsplit(url)
    if parts.scheme == "http" and (parts.hostname or "") not in LOOPBACK_HOSTS:
        return f"{what} {url} is plain http:// to another host: credentials and data travel unencrypted; use https://"
    return None


# ---- the watchdog -------------------------------------------------------------------------


class _Watch:
    """The sockets of one request; ``fire`` shuts them down so a blocked read returns at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.expired = False

    def add(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)
            if not self.expired:
                return
        _shutdown(sock)

    def fire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


_CURRENT = threading.local()


def _register(sock: Any) -> None:
    watch = getattr(_CURRENT, "watch", None)
    if watch is not None and isinstance(sock, socket.socket):
        watch.add(sock)


class _WatchedHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _register(self.sock)

    def request(self, *args: Any, **kwargs: Any) -> None:  # a kept-alive connection skips connect()
        _register(self.sock)
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        _register(self.sock)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _register(self.sock)
        super().request(*args, **kwargs)


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class WatchedAdapter(HTTPAdapter):
    """An adapter whose connections report their sockets to the current request's watchdog; no retries."""

    def __init__(self) -> None:
        super().__init__(max_retries=Retry(total=0, connect=0, read=0, redirect=0, status=0, raise_on_status=False))

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


def prepare_session(session: requests.Session | None) -> requests.Session:
    """``session`` (or a new one) with TLS verification on and the watched, retry-free adapters."""
    session = session or requests.Session()
    session.verify = True
    session.mount("https://", WatchedAdapter())
    session.mount("http://", WatchedAdapter())
    return session


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[_Watch]:
    watch = _Watch()
    previous = getattr(_CURRENT, "watch", None)
    _CURRENT.watch = watch
    timer = threading.Timer(seconds, watch.fire)
    timer.daemon = True
    timer.start()
    try:
        yield watch
    finally:
        timer.cancel()
        _CURRENT.watch = previous


# ---- the request --------------------------------------------------------------------------


def bounded_request(
    session: requests.Session,
    method: str,
    url: str,
    *,
    timeout: tuple[float, float],
    deadline_s: float = DEFAULT_DEADLINE_S,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    data: bytes | None = None,
) -> BoundedResponse:
    """Send one request and read the whole answer within ``deadline_s`` and ``max_body_bytes``.

    Raises ``DeadlineExceeded``, ``BodyTooLarge`` or ``RedirectRefused`` (all sent, so counted
    by the caller), or the ``requests`` exception of a failure on the way.
    """
    started = time.monotonic()
    with _deadline(deadline_s) as watch:
        try:
            response = session.request(
                method,
                url,
                params=params,
                headers=dict(headers or {}),
                data=data,
                timeout=timeout,
                allow_redirects=False,
                stream=True,
            )
            try:
                if response.is_redirect or 300 <= response.status_code < 400:
                    target = urljoin(url, response.headers.get("Location", ""))
                    raise RedirectRefused(response.status_code, urlsplit(target).hostname or "(none)")
                body = _read_capped(response, max_body_bytes)
            finally:
                response.close()
        except (requests.RequestException, OSError) as exc:
            if watch.expired:
                raise DeadlineExceeded(f"no complete answer within the {deadline_s:g} s deadline") from None
            raise exc
        if watch.expired:
            raise DeadlineExceeded(f"no complete answer within the {deadline_s:g} s deadline")
    return BoundedResponse(response.status_code, body, time.monotonic() - started)


def _read_capped(response: requests.Response, max_body_bytes: int) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.strip().isdigit() and int(declared) > max_body_bytes:
        raise BodyTooLarge(f"the answer declares {int(declared)} bytes, more than the {max_body_bytes} byte cap")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(CHUNK_BYTES):
        size += len(chunk)
        if size > max_body_bytes:
            raise BodyTooLarge(f"the answer is larger than the {max_body_bytes} byte cap")
        chunks.append(chunk)
    return b"".join(chunks)
