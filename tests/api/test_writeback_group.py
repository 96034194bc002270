"""SQLite's group commit: write-backs that arrive together share one transaction.

What a group does is checked member by member against what one transaction
per write-back does: each member sees its record as the members before it
left it, a refused member writes nothing and holds up nobody, a failing
statement fails only the member that causes it, and a group whose answer was
lost is looked up like any other write.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from openisales.domain.writeback import Outcome, Target, WriteBack, WriteBackRequest, plan
from openisales.errors import Conflict, StorageError
from openisales.metrics import Metrics
from openisales.services import writeback as service
from openisales.store import writeback_group as grouped
from openisales.store.batching import FlushCancelled
from openisales.store.tables import data, data_result
from tests.api.faults import history_table_missing, spy_look_up
from tests.conftest import Api
from tests.helpers import add_numbers, define, make_campaign

RETRY = {
    "policyType": 0,
    "busiPolicy": [{"busiResultCode": "X", "busiResultPolicy": 2, "callInterval": 60}],
}


@pytest.fixture
async def records(api: Api) -> AsyncIterator[list[int]]:
    if api.ctx.writeback_group is None:
        pytest.skip("the group commit runs on SQLite")
    async with api.client() as client:
        await define(client, "X", "X1")
        campaign = await make_campaign(client, retryPolicy=RETRY)
        ids = await add_numbers(client, campaign, "111", "222", "333")
    yield [int(i) for i in ids]


def member(
    data_id: int, result_id: int, work_no: str, seen: list[Target | None] | None = None
) -> grouped.Member:
    """A member that writes back "X" for agent ``work_no`` (history row ``result_id``)."""
    request = WriteBackRequest(1, data_id, "X", None, None, work_no, datetime.now(UTC))

    def decide(target: Target | None) -> tuple[Outcome, WriteBack | None]:
        if seen is not None:
            seen.append(target)
        assert target is not None
        return plan(target, request, result_id)

    return grouped.Member(1, data_id, decide)


def refused(data_id: int) -> grouped.Member:
    def decide(_target: Target | None) -> None:
        raise Conflict("busiResult: not defined")

    return grouped.Member(1, data_id, decide)


async def history(api: Api) -> dict[int, str | None]:
    """Every history row: result id -> agent."""
    async with api.ctx.engine.connect() as conn:
        rows = await conn.execute(sa.select(data_result.c.result_id, data_result.c.work_no))
        return {r.result_id: r.work_no for r in rows}


async def agent_of(api: Api, data_id: int) -> str | None:
    async with api.ctx.engine.connect() as conn:
        query = sa.select(data.c.reserved_work_no).where(data.c.data_id == data_id)
        return (await conn.execute(query)).scalar_one()


def group_of(api: Api, metrics: Metrics | None = None) -> grouped.GroupCommit:
    return grouped.GroupCommit(
        api.ctx.engine,
        failure_code="0200999",
        batch_sizes=metrics.writeback_batch if metrics else None,
    )


async def test_write_backs_arriving_together_share_one_transaction(
    api: Api, records: list[int]
) -> None:
    a, b, c = records
    metrics = Metrics()
    group = group_of(api, metrics)
    seen: list[Target | None] = []
    # All five arrive in one turn of the event loop: one transaction takes them
    # (arrivals during a transaction share the next: tests/unit/test_batching.py).
    outcomes = await asyncio.gather(
        group.apply(member(a, 901, "1")),
        group.apply(member(b, 902, "2")),
        group.apply(member(c, 903, "3")),
        group.apply(member(b, 904, "4", seen)),  # b again, in the same transaction
        group.apply(member(b, 905, "5", seen)),  # and once more
    )
    assert all(isinstance(o, Outcome) for o in outcomes)

    def sample(name: str) -> float | None:
        return metrics.registry.get_sample_value(
            f"openisales_writeback_batch_size_{name}", {"statement": "transaction"}
        )

    assert (sample("count"), sample("sum")) == (1.0, 5.0)
    # each later member of b saw what the one before it wrote
    assert [t.last.work_no if t else None for t in seen] == ["2", "4"]
    assert await history(api) == {901: "1", 902: "2", 903: "3", 904: "4", 905: "5"}
    assert [await agent_of(api, r) for r in records] == ["1", "5", "3"]


async def test_a_refused_member_writes_nothing_and_holds_up_nobody(
    api: Api, records: list[int]
) -> None:
    a, b, c = records
    group = group_of(api)
    answers = await asyncio.gather(
        group.apply(member(a, 911, "1")),
        group.apply(refused(b)),
        group.apply(member(c, 913, "3")),
        return_exceptions=True,
    )
    assert isinstance(answers[1], Conflict)
    assert await history(api) == {911: "1", 913: "3"}
    assert await agent_of(api, b) is None


async def test_a_member_sent_away_writes_nothing(api: Api, records: list[int]) -> None:
    a, b, _ = records
    group = group_of(api)
    away = grouped.Member(1, b, lambda _target: None)
    answers = await asyncio.gather(group.apply(member(a, 921, "1")), group.apply(away))
    assert answers[1] is None
    assert await history(api) == {921: "1"}


async def test_a_failing_statement_fails_only_the_member_that_causes_it(
    api: Api, records: list[int]
) -> None:
    a, b, c = records
    group = group_of(api)
    answers = await asyncio.gather(
        group.apply(member(a, 931, "1")),  # alone, first: history row 931 exists after it
        group.apply(member(b, 932, "2")),
        group.apply(member(c, 931, "3")),  # the same history row again: the insert fails
        group.apply(member(a, 934, "4")),
        return_exceptions=True,
    )
    assert isinstance(answers[2], StorageError) and answers[2].result_code == "0200999"
    assert not answers[2].uncertain
    assert [isinstance(x, Outcome) for x in answers] == [True, True, False, True]
    assert await history(api) == {931: "1", 932: "2", 934: "4"}
    assert [await agent_of(api, r) for r in records] == ["4", "2", None]


async def test_a_member_of_a_record_that_does_not_exist_is_0200033(
    api: Api, records: list[int]
) -> None:
    async with api.client() as client:
        replies = await asyncio.gather(
            client.write_back(records[0], {"busiResult": "X"}),
            client.write_back(records[1], {"busiResult": "X"}),
            client.write_back(records[1] + 1000, {"busiResult": "X"}),
            client.write_back(records[2], {"busiResult": "NOPE"}),
            client.write_back(records[2], {"busiResult": "X", "subStatus": "X9"}),
        )
    assert [r["resultCode"] for r in replies] == [
        "0200000",
        "0200000",
        "0200033",
        "0200001",
        "0200034",
    ]
    assert sorted((await history(api)).values(), key=str) == [None, None]


def _lose_once(exc: BaseException) -> Any:
    """``GroupCommit._together`` that commits, then loses its answer with ``exc``, once."""
    real = grouped.GroupCommit._together
    lost: list[int] = []

    async def together(self: grouped.GroupCommit, members: list[grouped.Member]) -> Any:
        answers = await real(self, members)
        if not lost:
            lost.append(1)
            raise exc
        return answers

    return together


@pytest.mark.parametrize(
    "exc",
    [
        StorageError("database operation failed", result_code="0200999", uncertain=True),
        FlushCancelled("the flush was cancelled"),
    ],
)
async def test_a_group_whose_answer_was_lost_is_looked_up(
    api: Api, records: list[int], monkeypatch: pytest.MonkeyPatch, exc: BaseException
) -> None:
    monkeypatch.setattr(grouped.GroupCommit, "_together", _lose_once(exc))
    async with api.client() as client:
        reply = await client.write_back(records[0], {"busiResult": "X", "workNo": "7"})
        assert reply["resultCode"] == "0200000", reply
        again = await client.write_back(records[0], {"busiResult": "X", "workNo": "7"})
        assert again["resultCode"] == "0200000", again  # a repeat: nothing new is written
    assert list((await history(api)).values()) == ["7"]


async def test_a_refused_group_statement_is_0200999_and_not_looked_up(
    api: Api, records: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    looked = spy_look_up(monkeypatch, service, "_fate")
    async with history_table_missing(api), api.client() as client:
        reply = await client.write_back(records[0], {"busiResult": "X"})
    assert reply["resultCode"] == "0200999"
    assert looked == []
    assert await agent_of(api, records[0]) is None
