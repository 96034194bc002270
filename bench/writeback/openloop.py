"""Open-loop, constant-rate load: pre-signed write-backs sent on a fixed schedule (wrk2's model).

    python openloop.py URL REQUESTS_FILE --host HOST:PORT --rate R --duration S --connections C

Request *i* of the file (the format of ``loadgen.presign``) is due at
``start + i / R``, whatever the server does: it goes out on an idle
keep-alive connection as soon as it is due, or, when all ``C`` connections
wait for answers, as soon as one frees up. Its latency is measured from the
time it was *due*, not from the time it could be sent, so a server that falls
behind shows its queue in the figures instead of slowing the generator down
(coordinated omission). The time each request actually went out after it was
due is reported apart (``send_lag``): the generator's own contribution, with
the event loop's timer granularity and any lack of connections. Event-loop
timers have a resolution of 1 ms (uvloop rounds shorter waits to none, which
would spin), so the schedule wakes at most once a millisecond and sends every
request due by then: up to about 1 ms of each latency is the generator's.
Times come from ``time.perf_counter`` (the loop's clock counts milliseconds).

After the last request is sent the generator waits up to ``--drain`` seconds
for the answers still missing, so that every request sent is either answered
or counted as unanswered. It prints one line, ``OPENLOOP {json}``, and runs as
its own process (named ``openloop``) so that its CPU can be measured apart.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import ctypes.util
import json
import math
import ssl
import sys
import time
from array import array
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

OK_MARK = b'"resultCode":"0200000"'
PROCESS_NAME = b"openloop"
TICK_S = 0.001  # the shortest wait: the event loop's timer resolution


def build_requests(path: Path, host: str, count: int) -> list[bytes]:
    """The first ``count`` pre-signed requests of ``path`` as raw HTTP/1.1 bytes."""
    out: list[bytes] = []
    with path.open() as lines:
        for line in lines:
            if len(out) == count:
                break
            target, auth, body = line.rstrip("\n").split("\t", 2)
            raw = body.encode()
            out.append(
                (
                    f"POST {target} HTTP/1.1\r\nHost: {host}\r\n"
                    "Content-Type: application/json; charset=UTF-8\r\n"
                    f"Content-Length: {len(raw)}\r\nAuthorization: {auth}\r\n\r\n"
                ).encode()
                + raw
            )
    return out


@dataclass
class Tally:
    sent: int = 0
    ok: int = 0
    bad: int = 0
    socket_errors: int = 0
    sample: str = ""


class Connection(asyncio.Protocol):
    """One keep-alive connection: one request at a time, its answer parsed just enough."""

    def __init__(self, gen: Generator) -> None:
        self.gen = gen
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.head_end = -1
        self.length = 0
        self.due = 0.0  # when the request in flight was due (0: none in flight)
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, request: bytes, due: float) -> None:
        assert self.transport is not None
        self.due = due
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        buf = self.buffer
        buf += data
        if self.head_end < 0:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            self.head_end = end + 4
            head = bytes(buf[:end]).lower()
            at = head.find(b"\r\ncontent-length:")
            if at < 0:
                self._fail("answer without content-length: " + head[:200].decode(errors="replace"))
                return
            stop = head.find(b"\r\n", at + 2)
            self.length = int(head[at + 17 : stop if stop >= 0 else len(head)])
        total = self.head_end + self.length
        if len(buf) < total:
            return
        status_ok = buf.startswith(b"HTTP/1.1 200 ")
        body = bytes(buf[self.head_end : total])
        del buf[:total]
        self.head_end = -1
        due, self.due = self.due, 0.0
        self.gen.answered(self, due, status_ok and OK_MARK in body, body)

    def _fail(self, why: str) -> None:
        self.gen.lost(self, why)
        self.due = 0.0
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.due:
            self.gen.lost(self, f"connection lost: {exc!r}")
            self.due = 0.0
        self.gen.idle.discard(self)
        if not self.closed.done():
            self.closed.set_result(None)


class Generator:
    def __init__(self, requests: list[bytes], rate: float) -> None:
        self.requests = requests
        self.rate = rate
        self.idle: set[Connection] = set()
        self.backlog: deque[tuple[bytes, float]] = deque()
        self.backlog_max = 0
        self.tally = Tally()
        self.latency_us = array("d")
        self.due_at = array("d")  # each answer's due time (parallel to latency_us)
        self.send_lag_us = array("d")
        self.outstanding = 0
        self.all_answered = asyncio.Event()
        self.sending_done = False

    def start_one(self, conn: Connection, request: bytes, due: float) -> None:
        self.send_lag_us.append((time.perf_counter() - due) * 1e6)
        self.tally.sent += 1
        self.outstanding += 1
        conn.send(request, due)

    def answered(self, conn: Connection, due: float, ok: bool, body: bytes) -> None:
        self.latency_us.append((time.perf_counter() - due) * 1e6)
        self.due_at.append(due)
        if ok:
            self.tally.ok += 1
        else:
            self.tally.bad += 1
            if not self.tally.sample:
                self.tally.sample = body[:300].decode(errors="replace")
        self._done_one()
        if self.backlog:
            request, due = self.backlog.popleft()
            self.start_one(conn, request, due)
        else:
            self.idle.add(conn)

    def lost(self, conn: Connection, why: str) -> None:
        self.tally.socket_errors += 1
        if not self.tally.sample:
            self.tally.sample = why
        self.idle.discard(conn)
        self._done_one()

    def _done_one(self) -> None:
        self.outstanding -= 1
        if self.sending_done and self.outstanding == 0:
            self.all_answered.set()

    async def schedule(self, start: float) -> float:
        """Hand every request out at its due time; returns when the last one was due."""
        interval = 1.0 / self.rate
        n = len(self.requests)
        i = 0
        while i < n:
            now = time.perf_counter()
            while i < n and start + i * interval <= now:
                due = start + i * interval
                if self.idle:
                    self.start_one(self.idle.pop(), self.requests[i], due)
                else:
                    self.backlog.append((self.requests[i], due))
                    self.backlog_max = max(self.backlog_max, len(self.backlog))
                self.requests[i] = b""  # each is sent once; let it go
                i += 1
            if i < n:
                await asyncio.sleep(max(TICK_S, start + i * interval - time.perf_counter()))
        return start + (n - 1) * interval


def slowest_seconds(
    due_at: array[float], latency_us: array[float], start: float, top: int = 5
) -> list[dict[str, float]]:
    """The ``top`` seconds of the schedule with the slowest answers: a stall shows as one."""
    worst: dict[int, float] = {}
    for due, latency in zip(due_at, latency_us, strict=True):
        second = int(due - start)
        if latency > worst.get(second, 0.0):
            worst[second] = latency
    ranked = sorted(worst.items(), key=lambda item: item[1], reverse=True)[:top]
    return [{"second": second, "max_ms": round(us / 1000, 3)} for second, us in ranked]


def percentiles(values: array[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def at(share: float) -> float:
        return round(ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)] / 1000, 3)

    return {
        "p50": at(0.50),
        "p90": at(0.90),
        "p99": at(0.99),
        "p99.9": at(0.999),
        "max": round(ordered[-1] / 1000, 3),
        "mean": round(sum(ordered) / len(ordered) / 1000, 3),
    }


async def run(args: argparse.Namespace) -> dict[str, object]:
    url = urlsplit(args.url)
    count = math.ceil(args.rate * args.duration)
    requests = build_requests(Path(args.requests), args.host, count)
    if len(requests) < count:
        raise SystemExit(f"{args.requests} holds {len(requests)} requests, {count} needed")
    context: ssl.SSLContext | None = None
    if url.scheme == "https":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    loop = asyncio.get_running_loop()
    gen = Generator(requests, args.rate)
    conns: list[Connection] = []
    for _ in range(args.connections):  # connected (and TLS-handshaken) before the clock starts
        _, conn = await loop.create_connection(
            lambda: Connection(gen), url.hostname, url.port, ssl=context
        )
        conns.append(conn)
        gen.idle.add(conn)
    start = time.perf_counter() + 0.1
    last_due = await gen.schedule(start)
    gen.sending_done = True
    if gen.outstanding or gen.backlog:
        try:
            await asyncio.wait_for(gen.all_answered.wait(), args.drain)
        except TimeoutError:
            pass
    finished = time.perf_counter()
    unanswered = gen.outstanding + len(gen.backlog)
    for conn in conns:
        if conn.transport is not None:
            conn.transport.close()
    await asyncio.gather(*(c.closed for c in conns))
    t = gen.tally
    return {
        "rate_target": args.rate,
        "duration_s": round(last_due - start, 3),
        "until_last_answer_s": round(finished - start, 3),
        "scheduled": count,
        "sent": t.sent,
        "ok": t.ok,
        "bad": t.bad,
        "socket_errors": t.socket_errors,
        "unanswered": unanswered,
        "connections": args.connections,
        "backlog_max": gen.backlog_max,
        "latency_ms": percentiles(gen.latency_us),
        "send_lag_ms": percentiles(gen.send_lag_us),
        "slowest_seconds": slowest_seconds(gen.due_at, gen.latency_us, start),
        "sample": t.sample,
    }


def name_process() -> None:
    """``openloop`` in /proc/<pid>/comm, so that the CPU sampler books it apart."""
    libc = ctypes.util.find_library("c")
    if libc:
        ctypes.CDLL(libc).prctl(15, PROCESS_NAME, 0, 0, 0)  # PR_SET_NAME


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("url", help="https://HOST:PORT")
    p.add_argument("requests", help="pre-signed requests (loadgen.presign)")
    p.add_argument("--host", required=True, help="Host header, as signed")
    p.add_argument("--rate", type=float, required=True, help="requests per second")
    p.add_argument("--duration", type=float, required=True, help="seconds of sending")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--drain", type=float, default=10.0, help="seconds to wait for late answers")
    args = p.parse_args()
    name_process()
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(run(args))
    else:
        result = uvloop.run(run(args))
    print("OPENLOOP " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
