"""``openisales serve --workers 2`` against the coordinator: the API, the dialling and the pushes.

Two server processes on one distributed database, each running the API and
(``OPENISALES_WORKER=true``) a dispatcher and a result pusher beside it: the
signed API answers as on PostgreSQL, the two dispatchers dial every record of
a campaign once (the simulator answers every call; the test, as the agents,
writes each result back), and every completion reaches the receiver once.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from openisales.client import AsyncClient
from tests.citus.conftest import fetch, openisales
from tests.conftest import MASTER_KEY
from tests.helpers import add_numbers, campaign_body, define, make_campaign
from tests.process.serving import HOST, serving

RECORDS = 30


class Receiver:
    """A callBackUrl on this machine: keeps every pushed record, acknowledges each POST."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        lock = threading.Lock()
        received = self.records

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with lock:
                    received.extend(json.loads(body))
                answer = b'{"retCode":"0"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.url = f"http://{HOST}:{self.server.server_address[1]}/results"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    thread = threading.Thread(target=found.server.serve_forever, daemon=True)
    thread.start()
    yield found
    found.server.shutdown()
    found.server.server_close()


def _key(url: str, vdn_id: int) -> tuple[str, str]:
    made = openisales(url, "keys", "create", "--vdn", str(vdn_id)).stdout
    ak = re.search(r"^AK: (\S+)$", made, re.M)
    sk = re.search(r"^SK: (\S+)$", made, re.M)
    assert ak and sk, made
    return ak[1], sk[1]


async def _api_round(base: str, keys: dict[int, tuple[str, str]]) -> None:
    """The API's operations, each answered by whichever worker takes the connection."""
    async with (
        AsyncClient(base, *keys[1], vdn_id=1) as one,
        AsyncClient(base, *keys[2], vdn_id=2) as two,
    ):
        await define(one, "SOLD", "SOLD1")
        campaign = await make_campaign(one, "Served")
        ids = await add_numbers(one, campaign, *[f"1390000{n:04d}" for n in range(4)])
        replies = await asyncio.gather(  # concurrent: the batched write-back on the cluster
            *(one.write_back(i, {"busiResult": "SOLD", "subStatus": "SOLD1"}) for i in ids[:4])
        )
        assert [r["resultCode"] for r in replies] == ["0200000"] * 4, replies
        detail = await one.query_call_data(campaign, ids[0])
        assert detail["data"]["busiResult"] == "SOLD", detail
        assert (await one.pause_campaign(campaign))["resultCode"] == "0200000"
        assert (await one.resume_campaign(campaign))["resultCode"] == "0200000"
        listed = await one.campaign_detail(campaign)
        assert listed["resultCode"] == "0200000", listed
        stats = await one.statistics(campaign)
        assert stats["resultCode"] == "0200000", stats
        other = await two.query_call_data(campaign, ids[0])  # VDN 2 does not see VDN 1's
        assert other["resultCode"] != "0200000", other
        results = await one.query_call_results(campaign)
        assert results["resultCode"] == "0200000", results
        definitions = await one.query_business_results()
        assert definitions["resultCode"] == "0200000", definitions


async def _dialled_campaign(base: str, key: tuple[str, str], receiver: Receiver) -> list[str]:
    """A running campaign the simulator answers and writes back; its data ids."""
    async with AsyncClient(base, *key, vdn_id=1) as client:
        await define(client, "DONE")
        body = campaign_body(
            "Dialled",
            callBackUrl=receiver.url,
            retryPolicy={
                "policyType": 0,
                "busiPolicy": [{"busiResultCode": "DONE", "busiResultPolicy": 0}],
            },
        )
        created = await client.create_campaign(body)
        assert created["resultCode"] == "0200000", created
        campaign = int(created["returnObject"]["id"])
        numbers = [f"1380000{n:04d}" for n in range(RECORDS)]
        ids: list[str] = []
        for start in range(0, RECORDS, 20):  # at most 20 numbers per request
            ids += await add_numbers(client, campaign, *numbers[start : start + 20])
        config = {"mix": {"00000": 1}}  # every call answered, then awaits its write-back
        reply = await client.set_dialing(
            campaign, {"gateway": "simulator", "gatewayConfig": config}
        )
        assert reply["resultCode"] == "0200000", reply
    return ids


AWAITING = "SELECT data_id FROM t_isl_data WHERE vdn_id = 1 AND status = 2"


async def _write_back(base: str, key: tuple[str, str], ids: list[str]) -> None:
    """The agents' write-backs of the answered calls, at once (over several connections)."""

    async def one(data_id: str) -> None:
        async with AsyncClient(base, *key, vdn_id=1) as client:
            reply = await client.write_back(data_id, {"busiResult": "DONE", "workNo": "2033"})
        assert reply["resultCode"] == "0200000", reply

    await asyncio.gather(*(one(i) for i in ids))


def test_two_serving_workers_run_the_api_and_dial_each_record_once(
    migrated: str, receiver: Receiver, tmp_path: Path
) -> None:
    for vdn_id in (1, 2):
        openisales(migrated, "vdn", "add", "--id", str(vdn_id), "--name", f"v{vdn_id}")
    keys = {vdn_id: _key(migrated, vdn_id) for vdn_id in (1, 2)}
    env = {
        "OPENISALES_DATABASE_URL": migrated,
        "OPENISALES_MASTER_KEY": MASTER_KEY,
        "OPENISALES_WORKER": "true",  # a dispatcher and a pusher in each worker
        "OPENISALES_DISPATCH_POLL_S": "0.2",
        "OPENISALES_CALLDATA_MIN_INTERVAL_S": "0",
    }
    with serving(tmp_path, env=env, args=("--workers", "2")) as server:
        asyncio.run(_api_round(server.base, keys))
        ids = asyncio.run(_dialled_campaign(server.base, keys[1], receiver))
        deadline = time.monotonic() + 120
        written: set[str] = set()
        while len({r["dataId"] for r in receiver.records}) < RECORDS:
            assert server.process.poll() is None, server.log.read_text()
            assert time.monotonic() < deadline, (len(receiver.records), server.log.read_text())
            answered = {str(r["data_id"]) for r in fetch(migrated, AWAITING)} - written
            asyncio.run(_write_back(server.base, keys[1], sorted(answered)))
            written |= answered
            time.sleep(0.2)
        log = server.log.read_text()
    assert "Traceback" not in log, log
    assert sorted(r["dataId"] for r in receiver.records) == sorted(ids)  # each pushed once
    assert all(r["busiResult"] == "DONE" for r in receiver.records)
    # one call attempt and one write-back per record: no record was dialled twice
    rows = fetch(
        migrated,
        "SELECT data_id, kind, count(*) AS n FROM t_isl_data_result "
        f"WHERE data_id IN ({', '.join(ids)}) GROUP BY data_id, kind",
    )
    assert len(rows) == 2 * RECORDS and {r["n"] for r in rows} == {1}, rows
    done = fetch(
        migrated,
        f"SELECT count(*) AS n FROM t_isl_data WHERE data_id IN ({', '.join(ids)}) "
        "AND status = 3 AND attempt_no = 1",
    )
    assert done[0]["n"] == RECORDS
