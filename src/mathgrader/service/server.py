"""What `mathgrader serve` asks of uvicorn besides the app: bounded request heads, a shutdown
that lets requests in flight finish, and a clean exit on SIGTERM.

- uvicorn's fast parser (httptools) buffers a request line and headers of any size: one 10 MB
  header held the event loop for seconds, stalling every other request. `BoundedHttpTools` answers
  431 and closes the connection once a head passes `MAX_HEAD_BYTES`; the h11 parser, used when
  httptools is missing, gets the same bound from its own setting.
- On SIGTERM uvicorn stops accepting connections and waits for requests in flight, up to
  `timeout_graceful_shutdown`: at least as long as a request may take (`request_timeout`).
- `exit_zero_on_sigterm()`: after that orderly shutdown uvicorn re-raises the signal, which would
  end the process "killed by SIGTERM"; the command exits 0 instead.
"""

from __future__ import annotations

import importlib.util
import math
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .settings import Settings

__all__ = ["MAX_HEAD_BYTES", "exit_zero_on_sigterm", "uvicorn_options"]

MAX_HEAD_BYTES = 64 * 1024  # request line and headers; browsers send a few KB at most


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `uvicorn.run` (any number of HTTP processes)."""
    bounded = importlib.util.find_spec("httptools") is not None
    return {
        "http": f"{__name__}:BoundedHttpTools" if bounded else "h11",
        "h11_max_incomplete_event_size": MAX_HEAD_BYTES,
        "timeout_graceful_shutdown": max(10, math.ceil(settings.request_timeout) + 5),
    }


@contextmanager
def exit_zero_on_sigterm() -> Iterator[None]:
    """While inside, a SIGTERM that uvicorn re-raises after its shutdown is ignored."""
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: None)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _bounded_httptools() -> type:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class BoundedHttpTools(HttpToolsProtocol):
        """httptools that refuses a request head over `MAX_HEAD_BYTES` with 431.

        Counts the bytes of every chunk received while a head is incomplete, except the chunk
        the message began in (its earlier part may be the previous request's body): so the
        parser never holds more than the limit plus one read (at most 256 KB).
        """

        _messages = 0  # messages begun on this connection
        _in_head = False  # a message has begun and its headers are not complete yet
        _head_bytes = 0

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._messages += 1
            self._in_head, self._head_bytes = True, 0

        def on_headers_complete(self) -> None:
            self._in_head = False
            super().on_headers_complete()

        def data_received(self, data: bytes) -> None:
            begun = self._messages
            super().data_received(data)
            if not (self._in_head and self._messages == begun):
                return
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES and not self.transport.is_closing():
                body = b"request line and headers too large"
                self.transport.write(
                    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
                    b"content-type: text/plain; charset=utf-8\r\n"
                    b"content-length: " + str(len(body)).encode() + b"\r\n"
                    b"connection: close\r\n\r\n" + body)
                self.transport.close()

    return BoundedHttpTools


def __getattr__(name: str) -> Any:
    # Built on first use, so that importing this module never needs httptools.
    if name == "BoundedHttpTools":
        cls = _bounded_httptools()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
