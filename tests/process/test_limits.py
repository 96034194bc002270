"""The HTTP server's limits, against a real ``serve`` process and raw sockets (issue 10).

Each test reproduces one finding of the attack test: what the bytes do matters,
so the requests are written by hand. Waits are bounded loops for an expected
event (a close, an answer), never assertions on durations.
"""

from __future__ import annotations

import resource
import socket
import time
from pathlib import Path

import httpx
import pytest

from tests.process.serving import (
    Server,
    closed_within,
    free_port,
    read_response,
    rss_kib,
    serving,
    status_and_body,
)

OPERATION = "/rest/isales/v1/openapi/campaigns/1/addBusinessResult"


def _head(path: str = "/healthz", *lines: str, method: str = "GET") -> bytes:
    return "\r\n".join([f"{method} {path} HTTP/1.1", "Host: x", *lines, "", ""]).encode()


def test_an_unfinished_huge_head_is_refused_and_costs_no_memory(tmp_path: Path) -> None:
    """Finding 1a: four connections each sending an endless header grew the server by 300 MB."""
    with serving(tmp_path) as server:
        before = rss_kib(server.process.pid)
        sockets = []
        for _ in range(4):
            sock = server.connect()
            sockets.append(sock)
            chunk = b"a" * 65536
            try:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
                for _ in range(256):  # 16 MiB of one header value, never finished
                    sock.sendall(chunk)
            except OSError:  # refused and closed: the rest is not read
                pass
        grown = rss_kib(server.process.pid) - before
        answers = [read_response(sock, limit=10) for sock in sockets]
        for sock in sockets:
            sock.close()
    assert grown < 32 * 1024, f"the server grew by {grown} KiB"
    for answer in answers:  # the answer, when the client could still read it, is the envelope
        if answer:
            status, body = status_and_body(answer)
            assert status == 431 and body["resultCode"] == "0200431"


@pytest.mark.parametrize(
    "lines",
    [
        [f"X-Field-{i}: {i}" for i in range(101)],  # more fields than OPENISALES_MAX_HEADERS
        ["X-Big: " + "b" * 20_000],  # one field larger than OPENISALES_MAX_HEADER_BYTES
    ],
    ids=["count", "size"],
)
def test_a_head_over_the_limits_is_answered_431_with_the_envelope(
    tmp_path: Path, lines: list[str]
) -> None:
    with serving(tmp_path) as server:
        with server.connect() as sock:
            sock.sendall(_head("/healthz", *[f"X-Ok-{i}: {i}" for i in range(50)]))
            assert b"200 OK" in sock.recv(65536)  # a large but allowed head is served
        with server.connect() as sock:
            sock.sendall(_head("/healthz", *lines))
            status, body = status_and_body(read_response(sock))
    assert status == 431
    assert body["resultCode"] == body["returnCode"] == "0200431"
    assert "header" in body["resultDesc"]


def test_a_slow_head_is_cut_off(tmp_path: Path) -> None:
    """Finding 1b: a connection sending one header byte a second was never closed."""
    with serving(tmp_path, env={"OPENISALES_HEADER_TIMEOUT_S": "1"}) as server:
        with server.connect() as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nX-Slow: ")
            cut_off = False
            for _ in range(50):  # one byte every 0.2 s, for at most 10 s
                try:
                    sock.sendall(b"s")
                except OSError:
                    cut_off = True
                    break
                if closed_within(sock, 0.2):
                    cut_off = True
                    break
            assert cut_off, "the slow head was never cut off"
        with server.connect() as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\n")  # half a head, then silence
            status, body = status_and_body(read_response(sock))
        assert status == 408 and body["resultCode"] == "0200408"
        with server.connect() as sock:  # connected, and nothing sent
            assert closed_within(sock, 10)


def test_a_promised_body_that_does_not_come_is_answered_408(tmp_path: Path) -> None:
    """Finding 1c: a body promised by Content-Length but not sent held the connection forever."""
    with serving(tmp_path, env={"OPENISALES_BODY_TIMEOUT_S": "1"}) as server:
        with server.connect() as sock:
            head = _head(
                OPERATION,
                "Content-Type: application/json",
                "Content-Length: 100",
                method="POST",
            )
            sock.sendall(head + b'{"name": ')
            status, body = status_and_body(read_response(sock))
        assert status == 408
        assert body["resultCode"] == "0200408" and "body" in body["resultDesc"]
        # a route that never reads its body: answered, then closed when the body is late
        with server.connect() as sock:
            sock.sendall(_head("/healthz", "Content-Length: 1000"))
            assert b"200 OK" in sock.recv(65536)
            closed = False
            for _ in range(50):  # the body dribbles in, one byte every 0.2 s
                try:
                    sock.sendall(b"x")
                except OSError:
                    closed = True
                    break
                if closed_within(sock, 0.2):
                    closed = True
                    break
            assert closed, "a dribbling body kept the connection open"
        assert server.get("/healthz").status_code == 200
    log = server.log.read_text()
    assert "request body timed out" in log  # a warning, not an unexpected error
    assert "Traceback" not in log and "unexpected error" not in log


def test_an_idle_kept_alive_connection_is_closed_after_the_setting(tmp_path: Path) -> None:
    with serving(tmp_path, env={"OPENISALES_KEEPALIVE_TIMEOUT_S": "1"}) as server:
        with server.connect() as sock:
            sock.sendall(_head("/healthz"))
            assert b"200 OK" in sock.recv(65536)
            assert closed_within(sock, 3.5)  # uvicorn's default would wait 5 s


def _descriptors(limit: int) -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))


def _enough_descriptors() -> None:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1300:
        pytest.skip("the test itself needs 1,300 descriptors")


def _served_again(server: Server) -> None:
    for _ in range(100):  # the idle connections are gone: served again
        try:
            if server.get("/healthz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("the server did not recover")


def test_idle_connections_beyond_the_cap_get_503_not_a_reset(tmp_path: Path) -> None:
    """Finding 1d: 1,100 idle connections exhausted 1,024 descriptors; new requests were reset."""
    _enough_descriptors()
    with serving(
        tmp_path,
        env={"OPENISALES_HEADER_TIMEOUT_S": "120"},  # the idle ones stay as long as the test
        preexec_fn=lambda: _descriptors(1024),
    ) as server:
        idle: list[socket.socket] = []
        try:
            for _ in range(1100):  # each sends a first byte, then nothing more
                sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
                idle.append(sock)
                sock.sendall(b"G")
            answer = None
            for _ in range(50):  # bounded: the refused ones are being answered and closed
                try:
                    answer = httpx.get(f"{server.base}/healthz", timeout=10)
                    break
                except httpx.TransportError:
                    time.sleep(0.2)
            assert answer is not None, "every new request failed"
            assert answer.status_code == 503
            assert answer.json()["resultCode"] == "0200503"
        finally:
            for sock in idle:
                sock.close()
        _served_again(server)
        assert "Traceback" not in server.log.read_text()


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_silent_connections_take_no_descriptor_of_the_server(tmp_path: Path, tls: bool) -> None:
    """Finding 1d as tested, on the default HTTPS too: connections that never send a byte."""
    _enough_descriptors()
    with serving(tmp_path, tls=tls, preexec_fn=lambda: _descriptors(1024)) as server:
        idle: list[socket.socket] = []
        try:
            for _ in range(1100):
                idle.append(socket.create_connection(("127.0.0.1", server.port), timeout=10))
            assert server.get("/healthz", timeout=10).status_code == 200
        finally:
            for sock in idle:
                sock.close()
        _served_again(server)


def test_metrics_are_refused_on_the_api_port_and_served_on_their_listener(
    tmp_path: Path,
) -> None:
    """Finding 3: /metrics on the public port was unsigned and showed every tenant's counts."""
    metrics_port = free_port()
    with serving(tmp_path, env={"OPENISALES_METRICS_PORT": str(metrics_port)}) as server:
        assert server.get("/metrics").status_code == 404
        scraped = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10)
        assert scraped.status_code == 200
        assert "openisales_claims_total" in scraped.text  # the dispatcher runs inside serve
        assert "openisales_api_results" in scraped.text
    with serving(tmp_path) as server:  # no listener unless one is configured
        assert server.get("/metrics").status_code == 404
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=2)


def test_tls_serves_and_refuses_a_huge_head_and_a_stalled_handshake(tmp_path: Path) -> None:
    with serving(tmp_path, tls=True, env={"OPENISALES_HEADER_TIMEOUT_S": "1"}) as server:
        assert server.get("/healthz").status_code == 200
        with server.connect() as sock:
            sock.sendall(_head("/healthz", *[f"X-Field-{i}: {i}" for i in range(200)]))
            status, body = status_and_body(read_response(sock))
        assert status == 431 and body["resultCode"] == "0200431"
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
            raw.sendall(b"\x16\x03\x01")  # the start of a ClientHello, then nothing
            assert closed_within(raw, 10)  # the event loop alone would wait 60 s
