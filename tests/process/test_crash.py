"""Crash safety on PostgreSQL: faults under write-back load, then check.

SIGKILL of the server (then a restart), and PostgreSQL ending every session
of the server (``pg_terminate_backend``) while it serves. Every write-back
answered with HTTP 200 and ``0200000`` is in ``t_isl_data_result`` exactly
once; no write-back left half a record (a record carries a business result if
and only if its history row exists); and every write-back that was not
acknowledged, sent again with a new signature, ends up written exactly once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from openisales.client import AsyncClient
from openisales.store.engine import create_engine
from openisales.store.tables import data, data_result
from tests.conftest import ENGINES, MASTER_KEY
from tests.helpers import add_numbers, define, make_campaign

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif("postgres" not in ENGINES, reason="needs OPENISALES_TEST_PG_URL"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as handle:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "openisales", "serve", "--no-tls", "--port", str(port)],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )


def _wait_ready(base: str, log: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base}/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "openisales", *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


WRITE_BACK = {"busiResult": "SOLD", "workNo": "7"}


def _environment(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "OPENISALES_DATABASE_URL": database_url,
        "OPENISALES_MASTER_KEY": MASTER_KEY,
        "OPENISALES_DATA_DIR": str(tmp_path),
        "OPENISALES_CALLDATA_MIN_INTERVAL_S": "0",  # a bulk load: many adds to one campaign
    }


def _credentials(env: dict[str, str]) -> tuple[str, str]:
    """A VDN and a key for it, through the CLI: the key's AK and SK."""
    _cli(env, "vdn", "add", "--id", "1", "--name", "faults")
    out = _cli(env, "keys", "create", "--vdn", "1")
    return out.split("AK: ")[1].split()[0], out.split("SK: ")[1].split()[0]


async def _records(base: str, ak: str, sk: str, count: int, first: int) -> list[str]:
    """A campaign whose SOLD result retries the same number, with ``count`` records."""
    async with AsyncClient(base, ak, sk, vdn_id=1) as client:
        await define(client, "SOLD")
        cid = await make_campaign(
            client,
            retryPolicy={
                "policyType": 0,
                "busiPolicy": [
                    {"busiResultCode": "SOLD", "busiResultPolicy": 2, "callInterval": 60}
                ],
            },
        )
        data_ids: list[str] = []
        for start in range(0, count, 20):
            data_ids += await add_numbers(
                client, cid, *[str(first + i) for i in range(start, start + 20)]
            )
    return data_ids


class _Load:
    """Write-backs of every record from several connections, sorted by their answer."""

    def __init__(self, data_ids: list[str]) -> None:
        self.queue = list(data_ids)
        self.acknowledged: list[str] = []
        self.failed: list[str] = []  # refused, unanswered or unknown

    async def writer(self, base: str, ak: str, sk: str, timeout: float) -> None:
        async with AsyncClient(base, ak, sk, vdn_id=1, timeout=timeout) as client:
            while self.queue:
                data_id = self.queue.pop()
                try:
                    reply = await client.write_back(data_id, WRITE_BACK)
                except httpx.HTTPError:
                    self.failed.append(data_id)
                    continue
                ok = reply.get("resultCode") == "0200000"
                (self.acknowledged if ok else self.failed).append(data_id)


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_sigkill_under_load_loses_no_acknowledged_write(
    database_url: str, tmp_path: Path
) -> None:
    env = _environment(database_url, tmp_path)
    ak, sk = _credentials(env)
    port, log = _free_port(), tmp_path / "server.log"
    base = f"http://127.0.0.1:{port}"
    server = _start(env, port, log)
    try:
        _wait_ready(base, log)
        data_ids = await _records(base, ak, sk, 600, 10_000)
        load = _Load(data_ids)

        async def killer() -> None:
            while len(load.acknowledged) < 150:
                await asyncio.sleep(0.005)
            server.send_signal(signal.SIGKILL)

        await asyncio.gather(*(load.writer(base, ak, sk, 5) for _ in range(8)), killer())
        server.wait(timeout=10)
        assert len(load.acknowledged) >= 150 and load.failed, "the kill must land mid-stream"

        server = _start(env, port, log)
        _wait_ready(base, log)
        await _check(database_url, data_ids, load.acknowledged)
        # the client's retry after an unknown answer: resent, each is written once at most
        await _resend(base, ak, sk, load.failed)
        await _check(database_url, data_ids, data_ids)
    finally:
        server.kill()
        server.wait(timeout=10)


async def _resend(base: str, ak: str, sk: str, data_ids: list[str]) -> None:
    """Send each write-back again (new signatures) until it is acknowledged."""
    async with AsyncClient(base, ak, sk, vdn_id=1, timeout=10) as client:
        for data_id in data_ids:
            for _ in range(20):
                try:
                    reply = await client.write_back(data_id, WRITE_BACK)
                except httpx.HTTPError:
                    await asyncio.sleep(0.5)
                    continue
                if reply.get("resultCode") == "0200000":
                    break
                await asyncio.sleep(0.5)
            else:
                raise AssertionError(f"write-back of {data_id} never acknowledged")


async def _check(database_url: str, data_ids: list[str], acknowledged: list[str]) -> None:
    """Acknowledged write-backs are written once; no record is half written."""
    engine = create_engine(database_url)
    async with engine.connect() as conn:
        history = (
            await conn.execute(
                sa.select(data_result.c.data_id, sa.func.count()).group_by(data_result.c.data_id)
            )
        ).all()
        written = {
            r.data_id
            for r in (
                await conn.execute(sa.select(data.c.data_id).where(data.c.busi_result.is_not(None)))
            ).all()
        }
        scheduled = {
            r.data_id
            for r in (
                await conn.execute(sa.select(data.c.data_id).where(data.c.reserved_work_no == "7"))
            ).all()
        }
    await engine.dispose()
    counts = {r.data_id: r[1] for r in history}
    assert all(n == 1 for n in counts.values()), counts
    assert {int(d) for d in acknowledged} <= set(counts)
    assert set(counts) == written == scheduled  # no half-written record
    assert set(counts) <= {int(d) for d in data_ids}


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_sessions_ended_by_postgresql_under_load_recover_and_lose_nothing(
    database_url: str, tmp_path: Path
) -> None:
    """PostgreSQL ends every session of the server three times mid-load.

    The server reconnects by itself; acknowledged write-backs are there once;
    the rest, sent again, are written once (none twice after an unknown answer).
    """
    env = _environment(database_url, tmp_path)
    ak, sk = _credentials(env)
    port, log = _free_port(), tmp_path / "server.log"
    base = f"http://127.0.0.1:{port}"
    server = _start(env, port, log)
    admin = create_engine(database_url)
    try:
        _wait_ready(base, log)
        data_ids = await _records(base, ak, sk, 400, 20_000)
        load = _Load(data_ids)
        ended: list[int] = []

        async def terminator() -> None:
            for threshold in (60, 140, 220):
                while len(load.acknowledged) + len(load.failed) < threshold and load.queue:
                    await asyncio.sleep(0.005)
                async with admin.connect() as conn:
                    gone = await conn.execute(
                        sa.text(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                        )
                    )
                    ended.append(len(gone.all()))

        await asyncio.gather(*(load.writer(base, ak, sk, 15) for _ in range(8)), terminator())
        assert len(ended) == 3 and all(n > 0 for n in ended), ended
        assert server.poll() is None, "the server must survive its sessions ending"
        await _check(database_url, data_ids, load.acknowledged)
        await _resend(base, ak, sk, load.failed)  # recovers by itself: these now succeed
        await _check(database_url, data_ids, data_ids)
        assert len(load.acknowledged) > 0
    finally:
        await admin.dispose()
        server.kill()
        server.wait(timeout=10)
