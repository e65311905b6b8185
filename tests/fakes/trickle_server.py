"""A loopback peer that misbehaves slowly: trickled headers, trickled body, or silence.

Each connection is served by its own thread, which stops trickling as soon as the client goes
away or the fixture ends, so no test waits for the trickle to finish.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest


class TrickleServer:
    """`mode`: "body" (headers at once, then one byte per `interval`), "headers" (the status
    line and headers one byte per `interval`) or "silent" (accept, read, say nothing)."""

    def __init__(self, mode: str = "body", interval: float = 0.05, body: bytes = b"x" * 4096):
        self.mode = mode
        self.interval = interval
        self.body = body
        self.stop = threading.Event()
        self.connections = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/"
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        head = (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/atom+xml\r\n"
            + f"Content-Length: {len(self.body)}\r\n\r\n".encode()
        )
        try:
            conn.settimeout(1.0)
            conn.recv(65536)  # the request
            if self.mode == "silent":
                self.stop.wait()
            elif self.mode == "headers":
                self._trickle(conn, head)
            else:
                conn.sendall(head)
                self._trickle(conn, self.body)
        except OSError:
            pass  # the client gave up: that is the point
        finally:
            conn.close()

    def _trickle(self, conn: socket.socket, data: bytes) -> None:
        for i in range(len(data)):
            if self.stop.wait(self.interval):
                return
            conn.sendall(data[i : i + 1])

    def close(self) -> None:
        self.stop.set()
        self.sock.close()
        self._thread.join(timeout=2)


@pytest.fixture
def trickle_server() -> Iterator[type[TrickleServer]]:
    """A factory of TrickleServers, all stopped at the end of the test."""
    made: list[TrickleServer] = []

    class Factory(TrickleServer):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            made.append(self)

    yield Factory
    for server in made:
        server.close()
