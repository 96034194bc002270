"""``callBusiResult``: write back a business result and apply the campaign's busiPolicy."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import lru_cache

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openisales.domain.attempt import CalledNumber, next_in_rotation, rotation
from openisales.domain.business_result import sub_status_belongs
from openisales.domain.calldata import DataStatus
from openisales.domain.retry_policy import BusiRule, rules_from_json
from openisales.domain.writeback import Outcome, RecordState, decide
from openisales.errors import Conflict, NotFound
from openisales.store import busi_results, calldata as store
from openisales.store.ids import IdAllocator, compose
from openisales.store.sql import transaction

WRITE_FAILED = "0200999"


class Definitions:
    """Business-result lookups, cached once found.

    Definitions can be added but never changed or removed (there is no API
    for it), so a found definition stays true; misses are not cached.
    """

    def __init__(self, size: int = 10_000) -> None:
        self._found: dict[tuple[int, str], frozenset[str]] = {}
        self._size = size

    async def children(
        self, conn: AsyncConnection, vdn_id: int, code: str
    ) -> frozenset[str] | None:
        key = (vdn_id, code)
        hit = self._found.get(key)
        if hit is not None:
            return hit
        found = await busi_results.find(conn, vdn_id, code)
        if found is None:
            return None
        if len(self._found) >= self._size:
            self._found.clear()
        self._found[key] = frozenset(found[1])
        return self._found[key]


@lru_cache(maxsize=4096)
def _rules(text: str | None) -> tuple[BusiRule, ...]:
    return rules_from_json(text)


async def write_back(
    engine: AsyncEngine,
    ids: IdAllocator,
    definitions: Definitions,
    *,
    vdn_id: int,
    data_id: int,
    busi_result: str,
    sub_status: str | None,
    busi_result_desc: str | None,
    work_no: str | None,
    now: datetime,
    replay_check: Callable[[AsyncConnection], Awaitable[None]] | None = None,
) -> Outcome:
    """Record the result and decide the record's next step, in one transaction.

    Raises ``0200033`` when the record is not in the VDN, ``0200001`` when
    ``busi_result`` is not defined in the VDN, ``0200034`` when ``sub_status``
    is not one of its children, ``0200999`` when the database fails (nothing
    is written then). Concurrent write-backs for one record serialise on the
    record's row lock. ``replay_check`` runs first in the transaction (it
    records the request's single use, or raises for a replay), so the
    write-back and the use of its signature commit together.
    """
    result_id = compose(vdn_id, (await ids.take(vdn_id, "result"))[0])
    async with transaction(engine, failure_code=WRITE_FAILED) as conn:
        if replay_check is not None:
            await replay_check(conn)
        row = await store.lock_for_writeback(conn, vdn_id, data_id)
        if row is None:
            raise NotFound("The outbound call data does not exist.", result_code="0200033")
        children = await definitions.children(conn, vdn_id, busi_result)
        if children is None:
            raise Conflict(
                f"busiResult: business result {busi_result!r} is not defined in VDN {vdn_id}"
            )
        if not sub_status_belongs(set(children), sub_status):
            raise Conflict(
                f"subStatus: {sub_status!r} is not a sub-result of {busi_result!r}",
                result_code="0200034",
            )
        numbers = json.loads(row.called_nos)
        order = rotation(
            [CalledNumber(n["calledNo"], n.get("type") or "") for n in numbers],
            json.loads(row.call_policy) if row.call_policy else None,
        )
        state = RecordState(
            status=DataStatus(row.status),
            attempt_no=row.attempt_no,
            attempt_index=row.attempt_index,
            next_number=next_in_rotation(order, row.attempt_index),
            busi_attempt_no=row.busi_attempt_no,
        )
        outcome = decide(
            state,
            _rules(row.busi_policy),
            busi_result=busi_result,
            sub_status=sub_status,
            work_no=work_no,
            now=now,
        )
        called = numbers[row.attempt_index]["calledNo"] if numbers else None
        await store.record_writeback(
            conn,
            store.WriteBack(
                result_id=result_id,
                vdn_id=vdn_id,
                data_id=data_id,
                campaign_id=row.campaign_id,
                attempt_no=row.attempt_no,
                called=called,
                busi_result=busi_result,
                sub_status=sub_status,
                busi_result_desc=busi_result_desc,
                work_no=work_no,
            ),
            outcome,
            now,
        )
    return outcome
