"""The load: pre-signed, all-distinct write-backs, replayed once each.

At saturation by wrk (writeback.lua, closed loop: each connection sends its next
request when the last is answered); at a constant rate by openloop.py (open loop).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from dataset import AK, BUSI_CODE, SK, VDN_ID, WORK_NO, data_id

from common.machine import run_measured
from openisales.auth import signing
from openisales.client import JSON_TYPE, AsyncClient

LUA = Path(__file__).with_name("writeback.lua")
BODY = json.dumps({"busiResult": BUSI_CODE, "workNo": WORK_NO}, separators=(",", ":"))
SUCCESS = "0200000"


def target(n: int) -> str:
    return f"/rest/isales/v1/openapi/campaigns/{VDN_ID}/callBusiResult/{data_id(n)}"


def presign(path: Path, *, host: str, numbers: Iterable[int]) -> int:
    """Write one signed request per record number; returns how many were written.

    Every request carries the same timestamp (now): the server accepts it for
    the next 15 minutes, and each signature is distinct through its path.
    """
    timestamp = signing.format_timestamp(datetime.now(UTC))
    body = BODY.encode()
    headers = {"host": host, "content-type": JSON_TYPE, "content-length": str(len(body))}
    count = 0
    with path.open("w") as out:
        for n in numbers:
            wire = signing.Request("POST", target(n), "", headers, body)
            auth = signing.sign(wire, ak=AK, sk=SK, timestamp=timestamp)
            out.write(f"{wire.path}\t{auth}\t{BODY}\n")
            count += 1
    return count


async def _warm_up(base_url: str, numbers: list[int], concurrency: int) -> list[str]:
    """Write back ``numbers`` through the Python client; returns the failures seen."""
    failures: list[str] = []
    gate = asyncio.Semaphore(concurrency)
    async with AsyncClient(base_url, AK, SK, vdn_id=VDN_ID, verify=False, timeout=30) as api:

        async def one(n: int) -> None:
            async with gate:
                reply = await api.write_back(data_id(n), {"busiResult": BUSI_CODE})
            if reply.get("resultCode") != SUCCESS:
                failures.append(json.dumps(reply))

        await asyncio.gather(*(one(n) for n in numbers))
    return failures


def warm_up(base_url: str, numbers: list[int], concurrency: int) -> None:
    """Fill the workers' pools and caches; any failure stops the benchmark."""
    failures = asyncio.run(_warm_up(base_url, numbers, concurrency))
    if failures:
        raise RuntimeError(f"{len(failures)} warm-up write-backs failed, e.g. {failures[0]}")


@dataclass(frozen=True)
class WrkResult:
    duration_s: float
    sent: int
    ok: int
    bad: int  # answered, but not HTTP 200 with resultCode 0200000
    exhausted: int  # requests a thread could not send: it ran out of pre-signed ones
    socket_errors: int  # connect + read + write errors and timeouts
    http_errors: int  # HTTP status >= 400 (a subset of bad)
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    threads: int
    cpu_s: float
    wall_s: float
    samples: list[str]
    raw: dict[str, int]

    @property
    def rate(self) -> float:
        return self.ok / self.duration_s

    @property
    def errors(self) -> int:
        return self.bad + self.socket_errors

    @property
    def in_flight(self) -> int:
        """Sent but never answered: in flight when wrk stopped (or lost to a socket error)."""
        return self.sent - self.ok - self.bad

    @property
    def cpu_share(self) -> float:
        """wrk's CPU in cores (1.0 = one core busy all the time)."""
        return self.cpu_s / self.wall_s


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise RuntimeError("wrk is not installed: apt-get install -y wrk")
    return found


def run_wrk(
    base_url: str,
    requests_file: Path,
    *,
    host: str,
    threads: int,
    connections: int,
    duration: int,
) -> WrkResult:
    cmd = [
        wrk_binary(),
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={duration}s",
        "--timeout=10s",
        f"--script={LUA}",
        base_url,
        "--",
        str(requests_file),
        str(threads),
        host,
    ]
    done = run_measured(cmd, timeout=duration + 120)
    line = next(
        (x for x in done.stdout.splitlines() if x.startswith("WRKRESULT ")),
        None,
    )
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed (exit {done.returncode}):\n{done.stdout}{done.stderr}")
    raw: dict[str, int] = json.loads(line.removeprefix("WRKRESULT "))
    samples = [
        x.removeprefix("WRKSAMPLE ") for x in done.stdout.splitlines() if x.startswith("WRKSAMPLE")
    ]
    return WrkResult(
        duration_s=raw["duration_us"] / 1e6,
        sent=raw["sent"],
        ok=raw["ok"],
        bad=raw["bad"],
        exhausted=raw["exhausted"],
        socket_errors=raw["connect"] + raw["read"] + raw["write"] + raw["timeout"],
        http_errors=raw["status"],
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        mean_ms=raw["mean_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        threads=raw["threads"],
        cpu_s=done.cpu_s,
        wall_s=done.wall_s,
        samples=samples,
        raw=raw,
    )


OPEN_LOOP = Path(__file__).with_name("openloop.py")


@dataclass(frozen=True)
class OpenLoopResult:
    """One constant-rate run of ``openloop.py`` (latencies from each request's due time)."""

    rate_target: float
    duration_s: float
    scheduled: int
    sent: int
    ok: int
    bad: int
    socket_errors: int
    unanswered: int  # due but not answered (or not even sent) within the drain time
    connections: int
    backlog_max: int  # most requests ever due while every connection was busy
    latency_ms: dict[str, float]
    send_lag_ms: dict[str, float]
    slowest_seconds: list[dict[str, float]]  # the schedule's seconds with the slowest answers
    cpu_s: float
    wall_s: float
    sample: str

    @property
    def rate(self) -> float:
        return self.ok / self.duration_s

    @property
    def errors(self) -> int:
        return self.bad + self.socket_errors + self.unanswered

    @property
    def cpu_share(self) -> float:
        """The generator's CPU in cores, over its whole life (loading the requests included)."""
        return self.cpu_s / self.wall_s


def run_open_loop(
    base_url: str,
    requests_file: Path,
    *,
    host: str,
    rate: float,
    duration: int,
    connections: int,
) -> OpenLoopResult:
    cmd = [
        sys.executable,
        str(OPEN_LOOP),
        base_url,
        str(requests_file),
        f"--host={host}",
        f"--rate={rate:.3f}",
        f"--duration={duration}",
        f"--connections={connections}",
    ]
    done = run_measured(cmd, timeout=duration + 120)
    line = next((x for x in done.stdout.splitlines() if x.startswith("OPENLOOP ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"openloop failed (exit {done.returncode}):\n{done.stdout}{done.stderr}")
    raw = json.loads(line.removeprefix("OPENLOOP "))
    return OpenLoopResult(
        rate_target=raw["rate_target"],
        duration_s=raw["duration_s"],
        scheduled=raw["scheduled"],
        sent=raw["sent"],
        ok=raw["ok"],
        bad=raw["bad"],
        socket_errors=raw["socket_errors"],
        unanswered=raw["unanswered"],
        connections=raw["connections"],
        backlog_max=raw["backlog_max"],
        latency_ms=raw["latency_ms"],
        send_lag_ms=raw["send_lag_ms"],
        slowest_seconds=raw["slowest_seconds"],
        cpu_s=done.cpu_s,
        wall_s=done.wall_s,
        sample=raw["sample"],
    )
