"""SQL of the result pusher over ``t_isl_push_outbox`` (rows written by ``store.outbox``).

A claim leases rows in the statement that selects them: it counts the push
(``attempts + 1``) and moves ``next_attempt_at`` to the end of the lease, so
no other pusher finds them due while they are in flight. On PostgreSQL the
selection is ``FOR UPDATE SKIP LOCKED`` in a materialised CTE; on SQLite the
transaction runs under ``BEGIN IMMEDIATE``. Outcomes are written only while
the row is still the one claimed (pending, same ``attempts``), so a pusher
whose lease ran out cannot overwrite a later claim. ``defer`` holds a
destination's pending rows back (its circuit is open) without counting a push.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from openisales.domain.push import push_id
from openisales.store import citus
from openisales.store.outbox import DELIVERED, FAILED, PENDING
from openisales.store.tables import push_outbox as po

STATUSES: dict[str, int] = {"pending": PENDING, "delivered": DELIVERED, "failed": FAILED}
STATUS_NAMES: dict[int, str] = {v: k for k, v in STATUSES.items()}
ERROR_LENGTH = 500


@dataclass(frozen=True)
class Claimed:
    """A row leased for one push; ``attempts`` already counts this push."""

    vdn_id: int
    data_id: int
    seq: int
    url: str
    payload: str
    attempts: int

    @property
    def push_id(self) -> str:
        return push_id(self.data_id, self.seq)

    @property
    def key(self) -> tuple[int, int, int]:
        return (self.vdn_id, self.data_id, self.seq)


@dataclass(frozen=True)
class Push:
    """An outbox row as operators see it (read with :data:`PUSH_COLUMNS`)."""

    vdn_id: int
    data_id: int
    seq: int
    campaign_id: int
    url: str
    status: int
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None

    @property
    def push_id(self) -> str:
        return push_id(self.data_id, self.seq)

    @property
    def status_name(self) -> str:
        return STATUS_NAMES.get(self.status, str(self.status))


# The columns a :class:`Push` is read from, in its fields' order.
PUSH_COLUMNS = (
    po.c.vdn_id,
    po.c.data_id,
    po.c.seq,
    po.c.campaign_id,
    po.c.url,
    po.c.status,
    po.c.attempts,
    po.c.next_attempt_at,
    po.c.last_error,
    po.c.created_at,
    po.c.delivered_at,
)


async def claim_due(
    conn: AsyncConnection,
    *,
    now: datetime,
    lease_until: datetime,
    limit: int,
    max_pushes: int,
    skip_urls: Collection[str] = (),
) -> list[Claimed]:
    """Lease up to ``limit`` due pushes, oldest due first.

    Due: pending, ``next_attempt_at <= now``, fewer than ``max_pushes`` made,
    and no earlier completion of the same record still pending (a record's
    pushes go out in ``seq`` order). Rows for ``skip_urls`` (destinations the
    pusher cannot send to now) are left for a later claim.
    """
    older = po.alias("older")
    earlier_pending = (
        sa.select(older.c.seq)
        .where(
            older.c.vdn_id == po.c.vdn_id,
            older.c.data_id == po.c.data_id,
            older.c.seq < po.c.seq,
            older.c.status == PENDING,
        )
        .exists()
    )
    # A materialised CTE: PostgreSQL may otherwise evaluate a LIMIT subquery
    # more than once and lease more rows than asked (see store.dispatch.claim).
    where = [
        po.c.status == PENDING,
        po.c.next_attempt_at <= now,
        po.c.attempts < max_pushes,
        ~earlier_pending,
    ]
    if skip_urls:
        where.append(po.c.url.not_in(sorted(skip_urls)))
    rows: list[Claimed] = []
    # On Citus one claim per VDN with due rows (``citus.tenants``): each locks one shard.
    for vdn_id in await citus.tenants(conn, po, *where, oldest=po.c.next_attempt_at):
        if len(rows) >= limit:
            break
        tenant = () if vdn_id is None else (po.c.vdn_id == vdn_id,)
        chosen = (
            sa.select(po.c.vdn_id, po.c.data_id, po.c.seq)
            .where(*tenant, *where)
            .order_by(po.c.next_attempt_at, po.c.vdn_id, po.c.data_id, po.c.seq)
            .limit(limit - len(rows))
            .with_for_update(of=po, skip_locked=True)
            .cte("due")
            .prefix_with("MATERIALIZED", dialect="postgresql")
        )
        stmt = (
            sa.update(po)
            .where(
                po.c.vdn_id == chosen.c.vdn_id,
                po.c.data_id == chosen.c.data_id,
                po.c.seq == chosen.c.seq,
            )
            .values(attempts=po.c.attempts + 1, next_attempt_at=lease_until)
            .returning(po.c.vdn_id, po.c.data_id, po.c.seq, po.c.url, po.c.payload, po.c.attempts)
        )
        rows += [Claimed(**r._asdict()) for r in await conn.execute(stmt)]
    return sorted(rows, key=lambda r: (r.vdn_id, r.data_id, r.seq))


def _claimed(rows: Sequence[Claimed]) -> sa.ColumnElement[bool]:
    """Exactly these rows, and only while they are still as claimed."""
    return sa.and_(
        po.c.status == PENDING,
        sa.tuple_(po.c.vdn_id, po.c.data_id, po.c.seq, po.c.attempts).in_(
            [(r.vdn_id, r.data_id, r.seq, r.attempts) for r in rows]
        ),
    )


async def mark_delivered(conn: AsyncConnection, rows: Sequence[Claimed], now: datetime) -> int:
    if not rows:
        return 0
    result = await conn.execute(
        sa.update(po)
        .where(_claimed(rows))
        .values(status=DELIVERED, next_attempt_at=None, last_error=None, delivered_at=now)
    )
    return int(result.rowcount)


async def mark_retry(
    conn: AsyncConnection, rows: Sequence[Claimed], error: str, next_attempt_at: datetime
) -> int:
    if not rows:
        return 0
    result = await conn.execute(
        sa.update(po)
        .where(_claimed(rows))
        .values(next_attempt_at=next_attempt_at, last_error=error[:ERROR_LENGTH])
    )
    return int(result.rowcount)


async def mark_failed(conn: AsyncConnection, rows: Sequence[Claimed], error: str) -> int:
    if not rows:
        return 0
    result = await conn.execute(
        sa.update(po)
        .where(_claimed(rows))
        .values(status=FAILED, next_attempt_at=None, last_error=error[:ERROR_LENGTH])
    )
    return int(result.rowcount)


async def defer(conn: AsyncConnection, url: str, until: datetime) -> int:
    """Hold back every pending push to ``url`` due before ``until`` until then.

    No push is counted. Rows leased right now only get a later lease end: the
    outcome of their push, when it comes, sets their next push as usual.
    """
    result = await conn.execute(
        sa.update(po)
        .where(po.c.url == url, po.c.status == PENDING, po.c.next_attempt_at < until)
        .values(next_attempt_at=until)
    )
    return int(result.rowcount)


async def fail_exhausted(conn: AsyncConnection, *, now: datetime, max_pushes: int) -> int:
    """Pending rows that made ``max_pushes`` pushes and whose lease ran out fail.

    They were claimed for their last push by a pusher that never recorded the
    outcome (it stopped), or ``max_pushes`` was lowered since.
    """
    result = await conn.execute(
        sa.update(po)
        .where(po.c.status == PENDING, po.c.attempts >= max_pushes, po.c.next_attempt_at <= now)
        .values(
            status=FAILED,
            next_attempt_at=None,
            last_error=sa.func.coalesce(po.c.last_error, "outcome of the last push unknown"),
        )
    )
    return int(result.rowcount)


async def count_pending(conn: AsyncConnection) -> int:
    stmt = sa.select(sa.func.count()).select_from(po).where(po.c.status == PENDING)
    return int((await conn.execute(stmt)).scalar_one())


async def list_pushes(
    conn: AsyncConnection,
    *,
    status: int | None = None,
    vdn_id: int | None = None,
    limit: int = 50,
) -> list[Push]:
    """Newest first (by completion), optionally one status and one VDN."""
    stmt = sa.select(*PUSH_COLUMNS)
    if status is not None:
        stmt = stmt.where(po.c.status == status)
    if vdn_id is not None:
        stmt = stmt.where(po.c.vdn_id == vdn_id)
    stmt = stmt.order_by(po.c.created_at.desc(), po.c.data_id.desc(), po.c.seq.desc()).limit(limit)
    return [Push(**r._asdict()) for r in await conn.execute(stmt)]


async def resend(
    conn: AsyncConnection,
    *,
    now: datetime,
    vdn_id: int | None = None,
    key: tuple[int, int] | None = None,
    campaign_id: int | None = None,
) -> int:
    """Queue pushes again, with their pushIds and payloads unchanged: pending,
    ``attempts`` 0, due ``now``.

    With ``key`` (dataId, seq): that push when it failed or was delivered;
    without: every failed push (of ``vdn_id`` when given, of its campaign
    ``campaign_id`` when given too).
    """
    where: list[sa.ColumnElement[bool]] = []
    if key is None:
        where.append(po.c.status == FAILED)
    else:
        where += [
            po.c.data_id == key[0],
            po.c.seq == key[1],
            po.c.status.in_([FAILED, DELIVERED]),
        ]
    if vdn_id is not None:
        where.append(po.c.vdn_id == vdn_id)
    if campaign_id is not None:
        where.append(po.c.campaign_id == campaign_id)
    result = await conn.execute(
        sa.update(po)
        .where(*where)
        .values(
            status=PENDING,
            attempts=0,
            next_attempt_at=now,
            last_error=None,
            delivered_at=None,
        )
    )
    return int(result.rowcount)
