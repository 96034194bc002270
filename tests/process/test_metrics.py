"""Metrics of the real processes on PostgreSQL: ``serve --workers 2`` and ``worker``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from openisales.client import AsyncClient
from tests.conftest import ENGINES, MASTER_KEY
from tests.helpers import add_numbers, define, make_campaign
from tests.process.test_crash import _cli, _free_port, _wait_ready

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif("postgres" not in ENGINES, reason="needs OPENISALES_TEST_PG_URL"),
]
WRITTEN = re.compile(
    r'^openisales_api_results_total\{operation="call_busi_result",result_code="0200000"\} (\S+)$',
    re.MULTILINE,
)


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_metrics_add_up_every_workers_answers(database_url: str, tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
        "OPENISALES_DATABASE_URL": database_url,
        "OPENISALES_MASTER_KEY": MASTER_KEY,
        "OPENISALES_DATA_DIR": str(tmp_path),
        "TMPDIR": str(tmp_path / "tmp"),  # where serve makes its metrics directory
    }
    (tmp_path / "tmp").mkdir()
    _cli(env, "vdn", "add", "--id", "1", "--name", "workers")
    out = _cli(env, "keys", "create", "--vdn", "1")
    ak, sk = out.split("AK: ")[1].split()[0], out.split("SK: ")[1].split()[0]
    port, log = _free_port(), tmp_path / "server.log"
    base = f"http://127.0.0.1:{port}"
    metrics_port = _free_port()
    env["OPENISALES_METRICS_PORT"] = str(metrics_port)  # served by serve itself, over all workers
    with log.open("ab") as handle:
        command = [sys.executable, "-m", "openisales", "serve", "--no-tls", "--workers", "2"]
        server = subprocess.Popen(
            [*command, "--port", str(port)],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_ready(base, log)
        async with AsyncClient(base, ak, sk, vdn_id=1) as client:
            await define(client, "SOLD")
            cid = await make_campaign(client)
            data_ids = await add_numbers(client, cid, *[str(20_000 + i) for i in range(20)])
        for data_id in data_ids:  # a new connection each time: both workers get some
            async with AsyncClient(base, ak, sk, vdn_id=1) as client:
                reply = await client.write_back(data_id, {"busiResult": "SOLD"})
                assert reply["resultCode"] == "0200000"
        for _ in range(3):
            scraped = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
            assert [float(v) for v in WRITTEN.findall(scraped)] == [20.0], scraped[:2000]
        assert httpx.get(f"{base}/metrics").status_code == 404  # never on the API port
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert list((tmp_path / "tmp").iterdir()) == []  # serve removed its metrics directory


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_worker_serves_its_metrics_when_asked(database_url: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "OPENISALES_DATABASE_URL": database_url,
        "OPENISALES_MASTER_KEY": MASTER_KEY,
        "OPENISALES_DATA_DIR": str(tmp_path),
    }
    port = _free_port()
    with (tmp_path / "worker.log").open("ab") as handle:
        worker = subprocess.Popen(
            [sys.executable, "-m", "openisales", "worker", "--metrics-port", str(port)],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                scraped = httpx.get(f"http://127.0.0.1:{port}/metrics").text
                break
            except httpx.TransportError:
                assert worker.poll() is None, (tmp_path / "worker.log").read_text()
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert "openisales_claims_total" in scraped
        assert "openisales_pushes_pending" in scraped
    finally:
        worker.terminate()
        assert worker.wait(timeout=30) == 0  # SIGTERM stops it cleanly
