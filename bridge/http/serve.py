"""Run an ASGI app with uvicorn: in a background thread on 127.0.0.1 (tests, demo, benchmarks), and
the read deadline every specgen server uses (`webhooks serve`, `dashboard` too, via cli_common)."""
from __future__ import annotations

import socket
import threading
import time

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

# A request must arrive whole (headers and body) within this many seconds of its first byte (or of
# the connection, for its first request). uvicorn has no such limit: its keep-alive timeout runs only
# between requests, so a client that stalls mid-request held its connection forever.
READ_TIMEOUT_S = 10.0


def deadline_protocol(read_timeout: float = READ_TIMEOUT_S) -> type:
    """uvicorn's h11 protocol with a read deadline; pass it as ``uvicorn.Config(http=...)``."""

    class DeadlineH11Protocol(H11Protocol):
        def connection_made(self, transport) -> None:
            self._read_deadline = None
            super().connection_made(transport)
            self._arm()

        def _arm(self) -> None:
            if self._read_deadline is None:
                self._read_deadline = self.loop.call_later(read_timeout, self._read_timed_out)

        def _disarm(self) -> None:
            if self._read_deadline is not None:
                self._read_deadline.cancel()
                self._read_deadline = None

        def data_received(self, data: bytes) -> None:
            if self.conn.their_state is h11.IDLE:  # the first bytes of a request (also on a kept-alive connection)
                self._arm()
            super().data_received(data)
            if self.conn.their_state is not h11.IDLE and self.conn.their_state is not h11.SEND_BODY:
                self._disarm()  # the whole request is in (or the connection is ending): the app may take its time

        def connection_lost(self, exc) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _read_timed_out(self) -> None:
            self._read_deadline = None
            if self.transport.is_closing():
                return
            if self.conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):  # nothing of a response written yet
                self.transport.write(b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\n"
                                     b"connection: close\r\n\r\n")
            self.transport.close()  # the app, if it waits for the body, hears a disconnect

    return DeadlineH11Protocol


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on `host` now, for a server started in another process."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class ThreadedServer:
    def __init__(self, app, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning",
                 read_timeout: float = READ_TIMEOUT_S):
        self.app, self.host, self.port, self.log_level = app, host, port, log_level
        self.read_timeout = read_timeout
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> "ThreadedServer":
        # IPPROTO_TCP: asyncio sets TCP_NODELAY only on such sockets (else +40 ms per keep-alive request)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(1024)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level=self.log_level, lifespan="on", access_log=False,
                                timeout_graceful_shutdown=2, backlog=1024, http=deadline_protocol(self.read_timeout))
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
            if self._thread is not None:
                self._thread.join(timeout)
                if self._thread.is_alive():
                    self._server.force_exit = True
                    self._thread.join(timeout)
        self._server = self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
