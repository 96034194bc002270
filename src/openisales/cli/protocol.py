"""The HTTP/1.1 protocol ``serve`` runs: uvicorn's httptools protocol, with the limits it lacks.

uvicorn (0.55) with httptools bounds neither the size of a request head nor
the time it takes to arrive, times no body, only times a connection out
after a first response, and answers its own concurrency limit in plain text.
:class:`LimitedHttpToolsProtocol` adds, per connection (decision 0006):

* **head size and field count**: the request line and header fields may take
  ``max_header_bytes`` and ``max_headers``; more is answered ``431`` with the
  envelope (``0200431``) and the connection is closed. httptools keeps a
  header value it has not finished in memory, so the bytes of an unfinished
  head are counted as they arrive: memory stays within the limit plus one read.
* **head time**: a head must be complete ``header_timeout_s`` after the
  connection opened (first request) or after its first byte (later ones);
  otherwise ``408`` (``0200408``) and close. A connection that never sends a
  byte is closed silently at the same deadline.
* **body time**: a body must be complete ``body_timeout_s`` after the end of
  its head; otherwise ``408`` (``0200408``) if no response has started, and
  close. The application waiting for it then receives ``http.disconnect``,
  which ``openisales.api.limits.BodyTimeouts`` turns into the operation's own
  ``RequestTimeout`` (counted, not logged as an error). A body the application
  never reads is bounded the same way.
* **idle keep-alive**: ``keepalive_timeout_s`` between a response and the
  next request's first byte (uvicorn's own timer, here with our setting).
* **connection cap**: a connection that would be the process's
  ``max_connections + 1``-th is answered ``503`` (``0200503``) at once and
  closed, before it can hold a descriptor for long.

Beside the limits, an answer's head and body leave in one write
(:class:`ResponseWriter`): one TLS record and one system call instead of two.

Before a protocol exists, the listener (see :func:`new_event_loop`) keeps
connections that send nothing in the kernel and bounds the TLS handshake by
``header_timeout_s``.

Deadlines cost no timer per request: each connection has one timer that
checks the current deadline every quarter of the shorter timeout, so a
deadline is enforced up to that much late (2.5 s with the defaults), and a
request only stores a number.

The subclass overrides uvicorn's parser callbacks and timers (``data_received``,
``on_url``, ``on_header``, ``on_message_begin``, ``on_headers_complete``,
``on_message_complete``, ``on_response_complete``, ``connection_made``,
``connection_lost``); ``tests/process/test_limits.py`` exercises each through
a real server, so an uvicorn release that changes them fails there first.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from openisales.api.limits import BODY_TIMED_OUT, raw_response
from openisales.cli.common import event_loop_class
from openisales.config import Settings
from openisales.errors import HeadersTooLarge, OpenISalesError, RequestTimeout, Unavailable

log = logging.getLogger("openisales.server")

# Descriptors a process needs beside its client connections: the listener,
# the event loop, logs, the database's files or connections, and headroom.
RESERVED_DESCRIPTORS = 128


@dataclass(frozen=True)
class ServerLimits:
    max_header_bytes: int = 16_384
    max_headers: int = 100
    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    keepalive_timeout_s: float = 5.0
    max_connections: int = 1000

    @classmethod
    def from_settings(cls, settings: Settings, descriptors: int | None = None) -> ServerLimits:
        """The settings' limits; the connection cap lowered to fit ``descriptors`` if given."""
        cap = settings.max_connections
        if descriptors is not None:
            reserve = RESERVED_DESCRIPTORS + settings.db_pool_size + settings.db_pool_overflow
            cap = max(1, min(cap, descriptors - reserve))
        return cls(
            max_header_bytes=settings.max_header_bytes,
            max_headers=settings.max_headers,
            header_timeout_s=settings.header_timeout_s,
            body_timeout_s=settings.body_timeout_s,
            keepalive_timeout_s=settings.keepalive_timeout_s,
            max_connections=cap,
        )

    def protocol(self) -> Callable[..., asyncio.Protocol]:
        """What uvicorn's ``http=`` takes: picklable, so that spawned workers get it too."""
        return functools.partial(LimitedHttpToolsProtocol, limits=self)

    def loop_factory(self) -> Callable[[], asyncio.AbstractEventLoop]:
        """What uvicorn's ``loop=`` takes (it accepts a factory): see :func:`new_event_loop`."""
        return functools.partial(new_event_loop, limits=self)


def new_event_loop(*, limits: ServerLimits) -> asyncio.AbstractEventLoop:
    """uvloop's loop (asyncio's without it), whose servers apply the limits below the protocol.

    Two limits act before a protocol exists, so they are the listener's:

    * ``TCP_DEFER_ACCEPT`` (Linux): the kernel hands a connection to the process
      only once it has sent data, or after ``header_timeout_s``. A connection
      that sends nothing costs the process no descriptor meanwhile.
    * The TLS handshake must end within ``header_timeout_s`` (instead of the
      event loop's 60 s): a handshake is not yet a connection the cap counts.
    """
    loop: Any = _limited_loop_class(event_loop_class())()
    loop.server_limits = limits
    return cast(asyncio.AbstractEventLoop, loop)


_LOOP_CLASSES: dict[type[Any], type[Any]] = {}


def _limited_loop_class(base: type[Any]) -> type[Any]:
    if base in _LOOP_CLASSES:
        return _LOOP_CLASSES[base]

    class LimitedLoop(base):  # type: ignore[misc]
        server_limits: ServerLimits

        async def create_server(self, *args: Any, **kwargs: Any) -> Any:
            timeout = self.server_limits.header_timeout_s
            if kwargs.get("ssl") is not None and kwargs.get("ssl_handshake_timeout") is None:
                kwargs["ssl_handshake_timeout"] = timeout
            server = await super().create_server(*args, **kwargs)
            for sock in server.sockets or ():
                _defer_accept(sock, math.ceil(timeout))
            return server

    _LOOP_CLASSES[base] = LimitedLoop
    return LimitedLoop


def _defer_accept(sock: Any, seconds: int) -> None:
    option = getattr(socket, "TCP_DEFER_ACCEPT", None)
    if option is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    try:
        sock.setsockopt(socket.IPPROTO_TCP, option, seconds)
    except OSError:  # pragma: no cover - the listener works without it
        log.warning("TCP_DEFER_ACCEPT could not be set on the listener")


class _Throttled:
    """One warning per kind and interval, with how many happened since the last one.

    Every refusal is a client's doing; logging each would let a client fill the logs.
    """

    def __init__(self, interval_s: float = 10.0) -> None:
        self.interval_s = interval_s
        self._last: dict[str, float] = {}
        self._count: dict[str, int] = {}

    def warn(self, kind: str, message: str) -> None:
        now = time.monotonic()
        count = self._count.get(kind, 0) + 1
        last = self._last.get(kind)
        if last is not None and now - last < self.interval_s:
            self._count[kind] = count
            return
        self._last[kind], self._count[kind] = now, 0
        log.warning("%s (%d since the last such warning)", message, count, extra={"limit": kind})


_warnings = _Throttled()


class _HeadTooLarge(Exception):
    """Raised from a parser callback to stop parsing a head over the limits."""


_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
# A head is joined to a body up to this size; a larger body follows it alone.
JOIN_LIMIT = 65_536


class ResponseWriter:
    """The transport as one response's cycle sees it: its head leaves with its body.

    uvicorn writes a response's head and its body with two ``transport.write``
    calls: over TLS, two records, two encryptions and two ``send`` system
    calls for an answer of a few hundred bytes. The writer holds the head (the
    cycle's first write other than a ``100 Continue``) and sends it with the
    next write, the body's first part, which uvicorn always writes, empty or
    not, except for a ``HEAD`` request (nothing held then). Closing sends
    what is held first, so an application that fails after starting its
    answer ends it as before. Bodies above :data:`JOIN_LIMIT` follow the head
    in their own write instead of being copied behind it.
    """

    __slots__ = ("_fresh", "_held", "_transport")

    def __init__(self, transport: asyncio.Transport, *, hold: bool) -> None:
        self._transport = transport
        self._held: bytes | None = None
        self._fresh = hold  # the next write (not a 100 Continue) is the head

    def write(self, data: bytes) -> None:
        held = self._held
        if held is not None:
            self._held = None
            if len(data) <= JOIN_LIMIT:
                self._transport.write(held + data)
                return
            self._transport.write(held)
        elif self._fresh and data != _CONTINUE:
            self._fresh = False
            self._held = data
            return
        self._transport.write(data)

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def close(self) -> None:
        held = self._held
        self._held = None
        if held is not None and not self._transport.is_closing():
            self._transport.write(held)
        self._transport.close()


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        limits: ServerLimits,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits
        self.limit_concurrency = None  # the cap is ours, answered with the envelope
        self.timeout_keep_alive = limits.keepalive_timeout_s  # type: ignore[assignment]
        self._tick_s = max(0.05, min(limits.header_timeout_s, limits.body_timeout_s) / 4)
        self._ticker: asyncio.TimerHandle | None = None
        self._deadline: float | None = None  # loop time by which the current phase must end
        self._on_deadline: Callable[[], None] = self._head_timed_out
        self._in_head = False  # between a message's first byte and the end of its head
        self._in_body = False  # between the end of a head and the end of its body
        self._head_bytes = 0  # bytes read while a head was unfinished (reads after its first)
        self._head_size = 0  # the head's parsed bytes: URL, names and values
        self._head_fields = 0
        self._head_refused = False

    # connection

    def connection_made(  # type: ignore[override]
        self, transport: asyncio.Transport
    ) -> None:
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            _warnings.warn(
                "connections",
                f"connection refused: this process serves {self.limits.max_connections} already",
            )
            self._answer_and_close(Unavailable("too many connections; retry later"))
            return
        self._expect(self.limits.header_timeout_s, self._head_timed_out)
        self._ticker = self.loop.call_later(self._tick_s, self._tick)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        self._deadline = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        if self._in_head:
            self._head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._unsupported_upgrade_warning()  # no WebSocket here: answered as plain HTTP
            return
        except httptools.HttpParserError:
            if self._head_refused:
                self._refuse_head()
            else:
                _warnings.warn("invalid", "invalid HTTP request received")
                self.send_400_response("Invalid HTTP request received.")
            return
        if self._in_head and self._head_bytes > self.limits.max_header_bytes:
            self._refuse_head()

    def _unsupported_upgrade_warning(self) -> None:
        pass  # a client's Upgrade header is its business; uvicorn would log each one

    # parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._head_bytes, self._head_size, self._head_fields = True, 0, 0, 0
        if self._deadline is None:  # a later request: its head's time starts with its first byte
            self._expect(self.limits.header_timeout_s, self._head_timed_out)

    def on_url(self, url: bytes) -> None:
        self._grow_head(len(url), 0)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._grow_head(len(name) + len(value) + 4, 1)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        before = self.cycle
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and cycle is not before:  # a request's cycle, its task not started
            cycle.transport = ResponseWriter(  # type: ignore[assignment]
                self.transport, hold=self.scope["method"] != "HEAD"
            )
        self._in_body = True
        if self.pipeline:  # queued behind a response: it cannot send its body yet
            self._deadline = None
        else:
            self._expect(self.limits.body_timeout_s, self._body_timed_out)

    def on_message_complete(self) -> None:
        self._in_body = False
        self._deadline = None
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._in_body and self._deadline is None:  # a queued request's body may come now
            self._expect(self.limits.body_timeout_s, self._body_timed_out)

    # limits

    def _grow_head(self, size: int, fields: int) -> None:
        self._head_size += size
        self._head_fields += fields
        if (
            self._head_size > self.limits.max_header_bytes
            or self._head_fields > self.limits.max_headers
        ):
            self._head_refused = True
            raise _HeadTooLarge

    def _refuse_head(self) -> None:
        _warnings.warn("head", "request head refused: over the size or field limit")
        self._answer_and_close(
            HeadersTooLarge(
                f"the request head exceeds {self.limits.max_header_bytes} bytes "
                f"or {self.limits.max_headers} header fields"
            )
        )

    def _expect(self, within_s: float, on_timeout: Callable[[], None]) -> None:
        self._deadline = self.loop.time() + within_s
        self._on_deadline = on_timeout

    def _tick(self) -> None:
        self._ticker = self.loop.call_later(self._tick_s, self._tick)
        if self._deadline is not None and self.loop.time() >= self._deadline:
            self._deadline = None
            self._on_deadline()

    def _head_timed_out(self) -> None:
        if not self._in_head:  # opened and never used
            self.transport.close()
            return
        _warnings.warn("head-time", "request head timed out")
        self._answer_and_close(
            RequestTimeout(
                f"the request head did not arrive within {self.limits.header_timeout_s:g} s"
            )
        )

    def _body_timed_out(self) -> None:
        _warnings.warn("body-time", "request body timed out")
        cycle = self.cycle
        if cycle is not None and not cycle.response_started:
            # The application waits for the body: it receives a disconnect, marked
            # so that it answers its own RequestTimeout, and its answer goes nowhere.
            self.transport.write(
                raw_response(
                    RequestTimeout(
                        f"the request body did not arrive within {self.limits.body_timeout_s:g} s"
                    )
                )
            )
            scope: dict[str, Any] = cycle.scope  # type: ignore[assignment]
            scope.setdefault("extensions", {})[BODY_TIMED_OUT] = True
            cycle.disconnected = True
            cycle.message_event.set()
        self.transport.close()

    def _answer_and_close(self, error: OpenISalesError) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self.cycle is None or self.cycle.response_complete:  # not inside another response
            self.transport.write(raw_response(error))
        self.transport.close()
