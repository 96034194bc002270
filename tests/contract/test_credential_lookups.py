"""The credential cache: requests that miss an AK together share one look-up."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from openisales.auth.vault import Vault
from openisales.errors import StorageError
from openisales.store.credentials import CredentialCache
from openisales.store.engine import create_engine
from tests.conftest import MASTER_KEY, Api


@contextmanager
def credential_queries(engine: AsyncEngine) -> Iterator[list[str]]:
    """The statements that read the credential table while the block runs."""
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "t_isl_credential" in statement:
            seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", before)


async def test_requests_that_miss_together_share_one_query(api: Api) -> None:
    tenant = api.tenants[1]
    cache = CredentialCache(api.ctx.engine, Vault(MASTER_KEY), 600.0)
    with credential_queries(api.ctx.engine) as queries:
        found = await asyncio.gather(*(cache.lookup(tenant.ak) for _ in range(20)))
        assert len(queries) == 1
        assert {(c.ak, c.sk) for c in found if c is not None} == {(tenant.ak, tenant.sk)}
        assert all(c is not None for c in found)
        # the next miss (here: after forget) queries again
        cache.forget(tenant.ak)
        assert await cache.lookup(tenant.ak) is not None
        assert len(queries) == 2


async def test_a_caller_that_leaves_does_not_cancel_the_others_look_up(api: Api) -> None:
    tenant = api.tenants[1]
    cache = CredentialCache(api.ctx.engine, Vault(MASTER_KEY), 600.0)
    first = asyncio.ensure_future(cache.lookup(tenant.ak))
    await asyncio.sleep(0)  # the first caller's query is under way
    others = [asyncio.ensure_future(cache.lookup(tenant.ak)) for _ in range(3)]
    await asyncio.sleep(0)
    first.cancel()
    found = await asyncio.gather(*others)
    assert [c.sk for c in found if c is not None] == [tenant.sk] * 3
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_a_failed_look_up_fails_every_caller_and_is_not_remembered(
    api: Api, tmp_path: Any
) -> None:
    if api.ctx.engine.dialect.name == "postgresql":
        url = "postgresql+asyncpg://postgres@127.0.0.1:9/none"  # nothing listens on port 9
    else:
        url = f"sqlite+aiosqlite:///{tmp_path}/no/such/directory/x.db"
    tenant = api.tenants[1]
    dead = create_engine(url)
    cache = CredentialCache(dead, Vault(MASTER_KEY), 600.0)
    try:
        answers = await asyncio.gather(
            *(cache.lookup(tenant.ak) for _ in range(5)), return_exceptions=True
        )
        assert all(isinstance(a, StorageError) for a in answers), answers
    finally:
        await dead.dispose()
    assert cache.unknown_entries == 0  # a failure is not "no such AK"
    cache._engine = api.ctx.engine  # the database is back
    with credential_queries(api.ctx.engine) as queries:
        found = await cache.lookup(tenant.ak)  # a new look-up, not a remembered failure
    assert found is not None and found.sk == tenant.sk
    assert len(queries) == 1
