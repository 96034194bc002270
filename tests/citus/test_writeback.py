"""The write-back on a distributed schema: the batched path split by VDN, and the locking path.

The API tier's write-back tests run here as they are (imported), on the
module's Citus database; the tests below check what only Citus does: a batch
of several VDNs' write-backs runs as one routed transaction per VDN
(``store.writeback_tenant``).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import sqlalchemy as sa

from openisales.auth.replay import Nonce
from openisales.store import writeback_batch as batch, writeback_fast as fast
from openisales.store.tables import data_result
from tests.api.test_writeback import *  # noqa: F403
from tests.api.test_writeback_fate import *  # noqa: F403
from tests.conftest import Api
from tests.helpers import add_numbers, define, make_campaign


async def _records(api: Api, vdn_id: int, count: int) -> list[str]:
    async with api.client(vdn_id) as client:
        await define(client, "X")
        campaign = await make_campaign(client)
        return await add_numbers(client, campaign, *[f"1380000{n:04d}" for n in range(count)])


async def test_write_backs_of_two_vdns_at_once_each_apply_once(api: Api) -> None:
    ids = {vdn_id: await _records(api, vdn_id, 10) for vdn_id in (1, 2)}
    async with api.client(1) as one, api.client(2) as two:
        clients = {1: one, 2: two}
        replies = await asyncio.gather(
            *(
                clients[vdn_id].write_back(i, {"busiResult": "X", "workNo": str(vdn_id)})
                for vdn_id in (1, 2)
                for i in ids[vdn_id]
            )
        )
    assert [r["resultCode"] for r in replies] == ["0200000"] * 20, replies
    assert api.ctx.writeback_fast is not None
    assert api.ctx.writeback_fast._distributed is True  # the per-VDN statements ran
    async with api.ctx.engine.connect() as conn:
        rows = (await conn.execute(sa.select(data_result.c.vdn_id, data_result.c.data_id))).all()
    assert sorted(rows) == sorted((v, int(i)) for v in (1, 2) for i in ids[v])


async def test_one_batch_reads_each_vdns_records_in_order(api: Api) -> None:
    """Keys of two VDNs, a missing record and a used nonce in one flush of the fast path."""
    one, two = (await _records(api, 1, 1))[0], (await _records(api, 2, 1))[0]
    now = datetime.now(UTC)
    path = fast.FastPath.connect(
        api.ctx.settings.effective_database_url, failure_code="0200999", timeout=5.0
    )
    try:
        async with api.ctx.engine.begin() as conn:
            await conn.execute(
                sa.text("INSERT INTO t_isl_auth_nonce VALUES (2, 'used', now() + interval '1 h')")
            )
        used = Nonce(2, "used", now, now)
        reads = await path._read_batch(
            [
                batch.ReadKey(2, int(two), used, now),
                batch.ReadKey(1, int(one), None, now),
                batch.ReadKey(1, int(two), None, now),  # VDN 2's record, asked in VDN 1
                batch.ReadKey(2, 999, None, now),
            ]
        )
    finally:
        await path.close()
    assert [r.target is not None for r in reads] == [True, True, False, False]
    assert [r.replayed for r in reads] == [True, False, False, False]
    assert reads[0].target is not None and reads[0].target.record.data_id == int(two)
