"""Bounded HTTP: every outside request ends by a wall-clock deadline, whatever the peer does.

httpx (and httpx2, which the openai SDK sends through) apply their timeouts per operation: a
peer that trickles one byte a second never trips a read timeout, and neither does one that
trickles its headers. `DeadlineTransport` adds a total deadline per request:

- a watchdog timer shuts the request's socket down when the deadline passes, which wakes a read
  blocked on headers, a silent connection or a slow body;
- the body is checked against the deadline after every chunk, so a trickle ends on time too.

Either way the caller sees the library's own `ReadTimeout`, so a trickled request goes through
the same retry, backoff and fallback path as a silent one. Connections are not kept alive: the
watchdog must see every request's socket, and it only sees sockets it watched being opened
(httpcore's public `trace` extension reports each new connection).
"""

from __future__ import annotations

import contextlib
import functools
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

CONNECT_EVENT = "connection.connect_tcp.complete"
# Options that make a transport's SSL context its own: without any, it uses the shared one.
OWN_SSL = frozenset({"verify", "cert", "trust_env", "http2"})


@functools.cache
def shared_ssl_context(module: ModuleType) -> ssl.SSLContext:
    """The library's default (verifying) SSL context, built once per process.

    Building one reads the CA bundle, ~50 ms of CPU, and every client of a cycle (arXiv, full
    texts, the LLM) built its own. Sharing is safe between our transports: all speak HTTP/1.1,
    so the ALPN protocols httpcore sets on the context on each connect are always the same.
    """
    return module.create_ssl_context()  # type: ignore[no-any-return]


class Watchdog:
    """Shuts down the sockets it is given once `seconds` have passed (until cancelled)."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic):
        self.seconds = seconds
        self.clock = clock
        self.deadline = clock() + seconds
        self.fired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(0.0, seconds), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def expired(self) -> bool:
        """True once the deadline has passed (whether or not the timer has run yet)."""
        return self.fired or self.clock() >= self.deadline

    def attach(self, sock: socket.socket | None) -> None:
        """Watch `sock`; shut it down at once if the deadline has already passed."""
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)
            late = self.fired
        if late:
            _shutdown(sock)

    def trace(self, event_name: str, info: dict[str, Any]) -> None:
        """httpcore's `trace` extension: note the socket of each new connection."""
        if event_name == CONNECT_EVENT:
            stream = info.get("return_value")
            if stream is not None:
                self.attach(stream.get_extra_info("socket"))

    def cancel(self) -> None:
        """The request is over: stop the timer and forget its sockets."""
        self._timer.cancel()
        with self._lock:
            self._sockets.clear()

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    """Wake any thread blocked on `sock` (close() alone does not, shutdown() does)."""
    with contextlib.suppress(OSError):  # already closed: nothing is blocked on it
        sock.shutdown(socket.SHUT_RDWR)


def deadline_message(seconds: float) -> str:
    return f"no complete answer within the {seconds:g}s deadline for the whole request"


def make_transport(
    module: ModuleType, deadline_seconds: float | Callable[[], float], **kwargs: Any
) -> Any:
    """A transport of `module` (httpx or httpx2) whose every request ends within the deadline.

    `deadline_seconds` may be a function, asked at the start of each request (a caller with a
    deadline of its own passes the time it has left). `kwargs` go to the module's own
    `HTTPTransport` (retries, verify, ...). Keep-alive is off so that the watchdog sees every
    request's connection.
    """

    def seconds_now() -> float:
        return float(deadline_seconds() if callable(deadline_seconds) else deadline_seconds)

    class DeadlineStream(module.SyncByteStream):  # type: ignore[name-defined,misc]
        def __init__(self, inner: Any, watchdog: Watchdog, request: Any):
            self._seconds = watchdog.seconds
            self._inner = inner
            self._watchdog = watchdog
            self._request = request

        def __iter__(self) -> Iterator[bytes]:
            try:
                for chunk in self._inner:
                    if self._watchdog.expired():
                        raise module.ReadTimeout(
                            deadline_message(self._seconds), request=self._request
                        )
                    yield chunk
            except module.TransportError as exc:
                if self._watchdog.expired() and not isinstance(exc, module.TimeoutException):
                    raise module.ReadTimeout(
                        deadline_message(self._seconds), request=self._request
                    ) from exc
                raise

        def close(self) -> None:
            self._watchdog.cancel()
            self._inner.close()

    class DeadlineTransport(module.BaseTransport):  # type: ignore[name-defined,misc]
        def __init__(self) -> None:
            limits = module.Limits(max_keepalive_connections=0)
            shared = {} if OWN_SSL & kwargs.keys() else {"verify": shared_ssl_context(module)}
            self._inner = module.HTTPTransport(limits=limits, **shared, **kwargs)
            self.deadline_seconds = deadline_seconds

        def handle_request(self, request: Any) -> Any:
            watchdog = Watchdog(max(0.0, seconds_now()))
            outer_trace = request.extensions.get("trace")

            def trace(event_name: str, info: dict[str, Any]) -> None:
                watchdog.trace(event_name, info)
                if outer_trace is not None:
                    outer_trace(event_name, info)

            request.extensions = {**request.extensions, "trace": trace}
            try:
                response = self._inner.handle_request(request)
            except module.TransportError as exc:
                watchdog.cancel()
                if watchdog.expired() and not isinstance(exc, module.TimeoutException):
                    raise module.ReadTimeout(
                        deadline_message(watchdog.seconds), request=request
                    ) from exc
                raise
            except BaseException:
                watchdog.cancel()
                raise
            return module.Response(
                status_code=response.status_code,
                headers=response.headers,
                stream=DeadlineStream(response.stream, watchdog, request),
                extensions=response.extensions,
            )

        def close(self) -> None:
            self._inner.close()

    return DeadlineTransport()


def bounded_client(
    deadline_seconds: float, timeout_seconds: float, module: ModuleType | None = None, **kwargs: Any
) -> Any:
    """An httpx (or httpx2) Client with a per-operation timeout and a total deadline per request.

    `kwargs` go to the Client (headers, follow_redirects, ...).
    """
    if module is None:
        import httpx

        module = httpx
    transport = make_transport(module, deadline_seconds)
    return module.Client(transport=transport, timeout=module.Timeout(timeout_seconds), **kwargs)
