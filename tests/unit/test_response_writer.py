"""An answer's head and body leave in one write (``cli.protocol.ResponseWriter``).

Unit tests of the writer, then the protocol ``serve`` runs driven with raw
bytes over a recording transport: what a client would receive, write by write.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from uvicorn.config import Config
from uvicorn.server import ServerState

from openisales.cli.protocol import (
    JOIN_LIMIT,
    LimitedHttpToolsProtocol,
    ResponseWriter,
    ServerLimits,
)

HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class Recording(asyncio.Transport):
    """A transport that records each write and whether it was closed."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False
        self.paused = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        assert not self.closed, "written after close"
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8443), "peername": ("127.0.0.1", 50000)}.get(
            name, default
        )

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False


def test_the_head_waits_for_the_body_and_leaves_with_it() -> None:
    transport = Recording()
    writer = ResponseWriter(transport, hold=True)
    writer.write(HEAD)
    assert transport.writes == []
    writer.write(b"{}")
    writer.write(b"more")  # a streamed answer's later parts go alone
    assert transport.writes == [HEAD + b"{}", b"more"]


def test_an_empty_body_still_sends_the_head() -> None:
    transport = Recording()
    writer = ResponseWriter(transport, hold=True)
    writer.write(HEAD)
    writer.write(b"")
    assert transport.writes == [HEAD]


def test_a_100_continue_is_not_held_and_the_head_after_it_is() -> None:
    transport = Recording()
    writer = ResponseWriter(transport, hold=True)
    writer.write(CONTINUE)
    assert transport.writes == [CONTINUE]
    writer.write(HEAD)
    writer.write(b"{}")
    assert transport.writes == [CONTINUE, HEAD + b"{}"]


def test_nothing_is_held_for_a_head_request() -> None:
    transport = Recording()
    writer = ResponseWriter(transport, hold=False)
    writer.write(HEAD)
    assert transport.writes == [HEAD]


def test_a_large_body_is_not_copied_behind_the_head() -> None:
    transport = Recording()
    writer = ResponseWriter(transport, hold=True)
    writer.write(HEAD)
    body = b"x" * (JOIN_LIMIT + 1)
    writer.write(body)
    assert transport.writes == [HEAD, body]


def test_closing_sends_the_held_head_first() -> None:
    transport = Recording()
    writer = ResponseWriter(transport, hold=True)
    writer.write(HEAD)
    writer.close()
    assert transport.writes == [HEAD] and transport.closed and writer.is_closing()


def test_closing_an_already_closed_transport_writes_nothing() -> None:
    transport = Recording()  # its write() fails once it is closed
    writer = ResponseWriter(transport, hold=True)
    writer.write(HEAD)
    transport.close()  # the client went away while the answer was being made
    writer.close()
    assert transport.writes == []


# ------------------------------------------------------- through the protocol


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":  # pragma: no cover - no lifespan here
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if scope["path"] == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for part in (b"a", b"b"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    if scope["path"] == "/fail":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise RuntimeError("after the head")
    answer = b"echo:" + body
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", str(len(answer)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": answer})


async def _serve(*requests: bytes) -> Recording:
    config = Config(app=_app, log_level="critical")
    config.load()
    protocol = LimitedHttpToolsProtocol(
        config, ServerState(), {}, asyncio.get_running_loop(), limits=ServerLimits()
    )
    transport = Recording()
    protocol.connection_made(transport)
    for request in requests:
        protocol.data_received(request)
        for _ in range(20):  # the application's task runs on the loop
            await asyncio.sleep(0)
    protocol.connection_lost(None)
    return transport


def _post(path: str, body: bytes, *extra: bytes) -> bytes:
    head = [b"POST " + path.encode() + b" HTTP/1.1", b"host: x", *extra]
    head.append(b"content-length: " + str(len(body)).encode())
    return b"\r\n".join(head) + b"\r\n\r\n" + body


async def test_each_answer_is_one_write_pipelined_ones_too() -> None:
    transport = await _serve(_post("/a", b"one") + _post("/b", b"two"))
    assert len(transport.writes) == 2
    first, second = transport.writes
    assert first.startswith(b"HTTP/1.1 200 OK\r\n") and first.endswith(b"\r\n\r\necho:one")
    assert second.startswith(b"HTTP/1.1 200 OK\r\n") and second.endswith(b"\r\n\r\necho:two")


async def test_expect_100_continue_is_answered_before_the_body_comes() -> None:
    head = _post("/a", b"", b"expect: 100-continue").replace(
        b"content-length: 0", b"content-length: 3"
    )
    transport = Recording()
    config = Config(app=_app, log_level="critical")
    config.load()
    protocol = LimitedHttpToolsProtocol(
        config, ServerState(), {}, asyncio.get_running_loop(), limits=ServerLimits()
    )
    protocol.connection_made(transport)
    protocol.data_received(head)
    for _ in range(20):
        await asyncio.sleep(0)
    assert transport.writes == [CONTINUE]  # the client may now send its body
    protocol.data_received(b"abc")
    for _ in range(20):
        await asyncio.sleep(0)
    protocol.connection_lost(None)
    assert len(transport.writes) == 2 and transport.writes[1].endswith(b"echo:abc")


async def test_a_head_request_and_a_streamed_answer() -> None:
    transport = await _serve(b"HEAD /a HTTP/1.1\r\nhost: x\r\n\r\n")
    assert len(transport.writes) == 1 and transport.writes[0].startswith(b"HTTP/1.1 200 OK")
    transport = await _serve(b"GET /stream HTTP/1.1\r\nhost: x\r\n\r\n")
    head_and_a, b, end = transport.writes
    assert head_and_a.startswith(b"HTTP/1.1 200 OK") and head_and_a.endswith(b"\r\n\r\n1\r\na\r\n")
    assert (b, end) == (b"1\r\nb\r\n", b"0\r\n\r\n")


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_a_failure_after_the_head_sends_it_and_closes() -> None:
    transport = await _serve(b"GET /fail HTTP/1.1\r\nhost: x\r\n\r\n")
    assert len(transport.writes) == 1 and transport.writes[0].startswith(b"HTTP/1.1 200 OK")
    assert transport.closed
