"""SQL of the dispatcher: find callable campaigns, claim due records, recover leases.

A claim marks records as being called in the same statement that selects
them: on PostgreSQL the selection is ``FOR UPDATE SKIP LOCKED`` under a lock
on the campaign row (which also makes the concurrency cap exact across
workers); on SQLite the whole transaction runs under ``BEGIN IMMEDIATE``.

Due notices (the end of this module) tell dispatchers that a record falls due
sooner than they may know: a dispatcher reads the earliest due time of its
campaigns (:func:`next_due`) after every round that left nothing to do, and
rests at most its poll interval, so only a record due within that interval of
being scheduled needs a notice. On PostgreSQL a notice is a ``NOTIFY`` on
:data:`CHANNEL`; on SQLite, where the dispatcher runs inside the server, it is
a call to the dispatchers of this process. A notice is only a wake-up: claims
stay the only source of truth.
"""

from __future__ import annotations

import logging
import weakref
from collections import namedtuple
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, NamedTuple

import asyncpg  # type: ignore[import-untyped]
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openisales.domain.calldata import DataStatus
from openisales.domain.dialing import Claim, DialingCampaign, dialing_campaign
from openisales.store import citus, outbox, records
from openisales.store.batching import Batcher
from openisales.store.sql import reading, transaction
from openisales.store.tables import UTCDateTime, campaign, data, vdn

CALLING = int(DataStatus.CALLING)
WAITING = int(DataStatus.WAITING)
AWAITING = int(DataStatus.AWAITING_RESULT)
COMPLETED = int(DataStatus.COMPLETED)
RUNNING = 2
SCHEDULED_FIRST = (0, 1)  # claim passes by ``priority``: retries and appointments, first calls

log = logging.getLogger("openisales.store")


async def running_campaigns(conn: AsyncConnection, now: datetime) -> list[DialingCampaign]:
    """Campaigns in status running whose [begin, end) holds ``now``, settings decoded.

    A campaign whose stored caller numbers, gateway configuration or time zone
    cannot be decoded is logged and left out (it cannot be dialled).
    """
    rows = await conn.execute(
        sa.select(
            campaign.c.vdn_id,
            campaign.c.campaign_id,
            campaign.c.begin_time.label("begin"),
            campaign.c.end_time.label("end"),
            campaign.c.schedule_param.label("schedule"),
            campaign.c.max_concurrency,
            campaign.c.gateway,
            campaign.c.gateway_config,
            campaign.c.caller_no,
            vdn.c.time_zone,
        )
        .select_from(campaign.join(vdn, vdn.c.vdn_id == campaign.c.vdn_id))
        .where(
            campaign.c.status == RUNNING,
            campaign.c.begin_time <= now,
            campaign.c.end_time > now,
        )
        .order_by(campaign.c.vdn_id, campaign.c.campaign_id)
    )
    campaigns: list[DialingCampaign] = []
    for r in rows:
        try:
            campaigns.append(dialing_campaign(**r._asdict()))
        except ValueError as exc:
            log.warning(
                "campaign has unusable dialing settings: %s",
                exc,
                extra={"vdnId": r.vdn_id, "campaignId": r.campaign_id},
            )
    return campaigns


async def lock_campaign(conn: AsyncConnection, vdn_id: int, campaign_id: int) -> bool:
    """Lock the campaign row for this transaction; False when it is gone or not running."""
    row = await conn.execute(
        sa.select(campaign.c.status)
        .where(campaign.c.vdn_id == vdn_id, campaign.c.campaign_id == campaign_id)
        .with_for_update()
    )
    status = row.scalar()
    return status == RUNNING


async def count_calling(conn: AsyncConnection, vdn_id: int, campaign_id: int) -> int:
    stmt = sa.select(sa.func.count()).where(
        data.c.vdn_id == vdn_id, data.c.campaign_id == campaign_id, data.c.status == CALLING
    )
    return int((await conn.execute(stmt)).scalar_one())


CLAIMED_COLUMNS = (
    *records.COLUMNS,
    data.c.caller,
    data.c.call_data,
    data.c.reserved_work_no,
    data.c.next_call_time,
)


def row_tuple(name: str, columns: Iterable[sa.ColumnElement[Any]]) -> Any:
    """A named-tuple class with the names of ``columns``, to read rows of them into.

    Its fields read at a twentieth of the cost of a SQLAlchemy row's
    attributes (measured), which counts where every claimed or locked row has
    a dozen of them read.
    """
    return namedtuple(name, [column.name for column in columns])


_ClaimedRow = row_tuple("_ClaimedRow", CLAIMED_COLUMNS)


async def claim(
    conn: AsyncConnection,
    *,
    vdn_id: int,
    campaign_id: int,
    worker: str,
    limit: int,
    now: datetime,
    lease_until: datetime,
    today: str,
    agents: frozenset[str] | None,
    fallback_before: datetime | None,
    reserved_for: str | None = None,
    first_calls: bool = True,
) -> list[Claim]:
    """Mark up to ``limit`` due records as being called and return them.

    :func:`claim_rows` then :func:`claims`; see there.
    """
    return claims(
        await claim_rows(
            conn,
            vdn_id=vdn_id,
            campaign_id=campaign_id,
            worker=worker,
            limit=limit,
            now=now,
            lease_until=lease_until,
            today=today,
            agents=agents,
            fallback_before=fallback_before,
            reserved_for=reserved_for,
            first_calls=first_calls,
        )
    )


async def claim_rows(
    conn: AsyncConnection,
    *,
    vdn_id: int,
    campaign_id: int,
    worker: str,
    limit: int,
    now: datetime,
    lease_until: datetime,
    today: str,
    agents: frozenset[str] | None,
    fallback_before: datetime | None,
    reserved_for: str | None = None,
    first_calls: bool = True,
) -> list[sa.Row[Any]]:
    """Mark up to ``limit`` due records as being called; their rows (:data:`CLAIMED_COLUMNS`).

    Due: waiting with ``next_call_time <= now``. Scheduled records (retries,
    appointments: ``priority`` 0) are claimed before first calls, so a backlog
    of new data never delays a retry past its time. A record reserved for an
    agent is due only when ``agents`` is None (the gateway routes by work
    number), the agent is in ``agents``, or it has waited since before
    ``fallback_before``. ``reserved_for`` claims only records reserved for that
    agent (preview pull). ``first_calls`` False claims scheduled records only.

    One statement per priority: a single statement for both, the first calls'
    ``LIMIT`` computed from what the scheduled ones took, is planned without
    knowing its limit on PostgreSQL, and measured about five times slower.
    The rows are mapped by :func:`claims`, which a caller may do after its
    transaction (and its locks) ended.
    """
    passes = SCHEDULED_FIRST if first_calls else SCHEDULED_FIRST[:1]
    common: dict[str, Any] = {
        "vdn_id": vdn_id,
        "campaign_id": campaign_id,
        "now": now,
        "agents": agents,
        "fallback_before": fallback_before,
        "reserved_for": reserved_for,
    }
    claiming: dict[str, Any] = {
        "worker": worker,
        "lease_until": lease_until,
        "today": today,
        "now": now,
    }
    rows: list[sa.Row[Any]] = []
    for priority in passes:
        if len(rows) >= limit:
            break
        due = _due(priority=priority, limit=limit - len(rows), **common).cte("due")
        rows += (await conn.execute(_claiming(due, vdn_id, **claiming))).all()
    return rows


class CampaignClaim(NamedTuple):
    """What a claim under a campaign's lock did (:func:`claim_campaign`)."""

    running: bool  # False: the campaign is gone or no longer running; nothing claimed
    limit: int  # min(batch, cap - calls in progress): 0 when the campaign is at its cap
    rows: list[Any]  # the claimed rows, :data:`CLAIMED_COLUMNS` (for :func:`claims`)
    # The claimed records whose number to call has an unexpired blocklist entry
    # (migration 0012); None when the claim did not look (separate statements).
    listed: frozenset[int] | None = None


# The claim in one round trip (migrations 0011, 0012): the arguments' and columns' order is the
# function's.
CLAIM_FUNCTION = (
    "isl_claim(integer, bigint, integer, integer, boolean, varchar, timestamptz, "
    "timestamptz, varchar, varchar[], timestamptz)"
)
_CLAIMED = len(CLAIMED_COLUMNS)
_CLAIM_CALL = (
    sa.text(
        "SELECT * FROM isl_claim(:vdn_id, :campaign_id, :cap, :batch, :first_calls, :worker, "
        ":now, :lease_until, :today, :agents, :fallback_before)"
    )
    .bindparams(
        sa.bindparam("now", type_=UTCDateTime),
        sa.bindparam("lease_until", type_=UTCDateTime),
        sa.bindparam("fallback_before", type_=UTCDateTime),
    )
    .columns(
        *(sa.column(c.name, c.type) for c in CLAIMED_COLUMNS),
        sa.column("claim_state", sa.SmallInteger),
        sa.column("claim_limit", sa.Integer),
        sa.column("listed", sa.Boolean),
    )
)
# The function's claim_state: a claimed row, or the one row saying why none was
# claimed (the campaign is not running, at its cap, nothing is due).
_CLAIMED_ROW, _GONE_ROW, _CAPPED_ROW, _NONE_DUE_ROW = 0, 1, 2, 3


async def claims_in_one_trip(conn: AsyncConnection) -> bool:
    """Whether :func:`claim_campaign` may claim in one round trip on this database.

    On PostgreSQL with the claim function (migration 0011), not on Citus
    (where the migration does not create it and the statements stay apart).
    """
    if conn.dialect.name != "postgresql" or await citus.enabled(conn):
        return False
    found = await conn.execute(sa.select(sa.func.to_regprocedure(CLAIM_FUNCTION).is_not(None)))
    return bool(found.scalar())


async def claim_campaign(
    engine: AsyncEngine,
    *,
    one_trip: bool,
    vdn_id: int,
    campaign_id: int,
    cap: int,
    batch: int,
    worker: str,
    now: datetime,
    lease_until: datetime,
    today: str,
    agents: frozenset[str] | None,
    fallback_before: datetime | None,
    first_calls: bool = True,
) -> CampaignClaim:
    """Claim up to ``batch`` due records of a running campaign, never beyond ``cap`` in progress.

    Under the campaign row's lock (exact across dispatchers): check it is
    running, count its records being called, claim as :func:`claim_rows`
    does, commit. ``one_trip`` (:func:`claims_in_one_trip`) does all of it in
    one statement, in autocommit: the campaign stays locked for PostgreSQL's
    work only, not for the round trips between statements and what the
    caller's event loop runs meanwhile; it also says which claimed records'
    numbers have a blocklist entry (``listed``), so that the caller asks the
    blocklist about those only. Otherwise one transaction of separate
    statements (SQLite, Citus), and ``listed`` is None.
    """
    if not one_trip:
        async with transaction(engine) as conn:
            if not await lock_campaign(conn, vdn_id, campaign_id):
                return CampaignClaim(False, 0, [])
            limit = min(batch, cap - await count_calling(conn, vdn_id, campaign_id))
            if limit <= 0:
                return CampaignClaim(True, 0, [])
            rows = await claim_rows(
                conn,
                vdn_id=vdn_id,
                campaign_id=campaign_id,
                worker=worker,
                limit=limit,
                now=now,
                lease_until=lease_until,
                today=today,
                agents=agents,
                fallback_before=fallback_before,
                first_calls=first_calls,
            )
            return CampaignClaim(True, limit, rows)
    params = {
        "vdn_id": vdn_id,
        "campaign_id": campaign_id,
        "cap": cap,
        "batch": batch,
        "first_calls": first_calls,
        "worker": worker,
        "now": now,
        "lease_until": lease_until,
        "today": today,
        "agents": None if agents is None else sorted(agents),
        "fallback_before": fallback_before,
    }
    async with reading(engine) as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        got = (await conn.execute(_CLAIM_CALL, params)).all()
    state, limit = got[0][_CLAIMED], got[0][_CLAIMED + 1]  # never no row
    if state == _CLAIMED_ROW:
        listed = frozenset(row.data_id for row in got if row[_CLAIMED + 2])
        return CampaignClaim(True, limit, [row[:_CLAIMED] for row in got], listed)
    return CampaignClaim(state != _GONE_ROW, limit, [])


def claims(rows: Iterable[sa.Row[Any]]) -> list[Claim]:
    """Claimed rows as :class:`Claim` values (numbers decoded)."""
    return [
        Claim(
            record=records.record(row),
            caller=row.caller,
            call_data=row.call_data,
            reserved_work_no=row.reserved_work_no,
            next_call_time=row.next_call_time,
        )
        for row in map(_ClaimedRow._make, rows)
    ]


def _due(
    *,
    vdn_id: int,
    campaign_id: int,
    priority: int,
    limit: Any,
    now: datetime,
    agents: frozenset[str] | None,
    fallback_before: datetime | None,
    reserved_for: str | None,
) -> sa.Select[Any]:
    """The ids of up to ``limit`` due records of one priority, oldest due first, locked."""
    due: list[sa.ColumnElement[bool]] = [
        data.c.vdn_id == vdn_id,
        data.c.campaign_id == campaign_id,
        data.c.status == WAITING,
        data.c.priority == priority,
        data.c.next_call_time <= now,
    ]
    if reserved_for is not None:
        due.append(data.c.reserved_work_no == reserved_for)
    elif agents is not None:
        reservation: list[sa.ColumnElement[bool]] = [data.c.reserved_work_no.is_(None)]
        if agents:
            reservation.append(data.c.reserved_work_no.in_(sorted(agents)))
        if fallback_before is not None:
            reservation.append(data.c.next_call_time <= fallback_before)
        due.append(sa.or_(*reservation))
    # A materialised CTE (by the caller): PostgreSQL may otherwise evaluate a
    # LIMIT subquery in ``WHERE ... IN`` more than once and update more rows than asked.
    return (
        sa.select(data.c.data_id)
        .where(*due)
        .order_by(data.c.next_call_time, data.c.data_id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


def _claiming(
    chosen: sa.CTE, vdn_id: int, *, worker: str, lease_until: datetime, today: str, now: datetime
) -> Any:
    """The UPDATE that marks the records ``chosen`` (a CTE of ids) as being called."""
    chosen = chosen.prefix_with("MATERIALIZED", dialect="postgresql")
    return (
        sa.update(data)
        .where(data.c.vdn_id == vdn_id, data.c.data_id == chosen.c.data_id)
        .values(
            status=CALLING,
            lease_owner=worker,
            lease_expires_at=lease_until,
            attempt_no=data.c.attempt_no + 1,
            attempt_index=data.c.next_index,
            day_attempts=sa.case((data.c.attempt_day == today, data.c.day_attempts + 1), else_=1),
            attempt_day=today,
            first_attempt_day=sa.func.coalesce(data.c.first_attempt_day, today),
            updated_at=now,
        )
        .returning(*CLAIMED_COLUMNS)
    )


class Expired(NamedTuple):
    """An attempt whose lease ran out: the record and the attempt it was on."""

    vdn_id: int
    data_id: int
    attempt_no: int


async def expired_leases(conn: AsyncConnection, now: datetime, limit: int) -> list[Expired]:
    """Records being called whose lease ran out (their outcome never arrived)."""
    stmt = (
        sa.select(data.c.vdn_id, data.c.data_id, data.c.attempt_no)
        .where(data.c.status == CALLING, data.c.lease_expires_at < now)
        .order_by(data.c.lease_expires_at)
        .limit(limit)
    )
    return [Expired(r.vdn_id, r.data_id, r.attempt_no) for r in await conn.execute(stmt)]


def _complete(chosen: Any, reason: str, now: datetime) -> Any:
    """UPDATE of the records in the CTE ``chosen`` (vdn_id, data_id) to completed."""
    return (
        sa.update(data)
        .where(data.c.vdn_id == chosen.c.vdn_id, data.c.data_id == chosen.c.data_id)
        .values(
            status=COMPLETED,
            complete_reason=reason,
            completed_at=now,
            next_call_time=None,
            reserved_work_no=None,
            updated_at=now,
        )
        .returning(data.c.vdn_id, data.c.data_id)
    )


async def complete_overdue_results(conn: AsyncConnection, now: datetime, limit: int) -> int:
    """Answered records whose business write-back did not arrive in time complete.

    On Citus one statement per VDN that has such records (``citus.tenants``).
    """
    due = (data.c.status == AWAITING, data.c.next_call_time <= now)
    done = 0
    for vdn_id in await citus.tenants(conn, data, *due, oldest=data.c.next_call_time):
        tenant = () if vdn_id is None else (data.c.vdn_id == vdn_id,)
        overdue = (
            sa.select(data.c.vdn_id, data.c.data_id)
            .where(*tenant, *due)
            .limit(limit - done)
            .with_for_update(skip_locked=True)
            .cte("overdue")
            .prefix_with("MATERIALIZED", dialect="postgresql")
        )
        result = await conn.execute(_complete(overdue, "no-writeback", now))
        done += await _push(conn, list(result), now)
        if done >= limit:
            break
    return done


async def complete_ended_campaigns(conn: AsyncConnection, now: datetime, limit: int) -> int:
    """Open records of campaigns past their end complete (reason ``expired``).

    Campaigns are few: find the ended ones that still have open records, then
    complete those records campaign by campaign through the claim index.
    """
    open_records = (
        sa.select(data.c.data_id)
        .where(
            data.c.vdn_id == campaign.c.vdn_id,
            data.c.campaign_id == campaign.c.campaign_id,
            data.c.status.in_([WAITING, AWAITING]),
        )
        .exists()
    )
    ended = (
        await conn.execute(
            sa.select(campaign.c.vdn_id, campaign.c.campaign_id).where(
                campaign.c.end_time <= now, open_records
            )
        )
    ).all()
    done = 0
    for vdn_id, campaign_id in ended:
        chosen = (
            sa.select(data.c.vdn_id, data.c.data_id)
            .where(
                data.c.vdn_id == vdn_id,
                data.c.campaign_id == campaign_id,
                data.c.status.in_([WAITING, AWAITING]),
            )
            .limit(limit - done)
            .with_for_update(skip_locked=True)
            .cte("ended")
            .prefix_with("MATERIALIZED", dialect="postgresql")
        )
        result = await conn.execute(_complete(chosen, "expired", now))
        done += await _push(conn, list(result), now)
        if done >= limit:
            break
    return done


async def _push(conn: AsyncConnection, completed: list[sa.Row[Any]], now: datetime) -> int:
    by_vdn: dict[int, list[int]] = {}
    for row in completed:
        by_vdn.setdefault(row.vdn_id, []).append(row.data_id)
    for vdn_id, data_ids in by_vdn.items():
        await outbox.enqueue_completed(conn, vdn_id, data_ids, now)
    return len(completed)


async def next_due(
    conn: AsyncConnection,
    campaigns: Iterable[tuple[int, int]],
    after: datetime,
    *,
    first_calls: bool = True,
) -> datetime | None:
    """The earliest ``next_call_time`` after ``after`` of the waiting records of ``campaigns``.

    One statement: a probe of the claim index per campaign and priority, each
    the first entry of a range (``first_calls`` False: scheduled records
    only). Records due at ``after`` or earlier are left out: those a claim at
    ``after`` did not take (reserved for an absent agent, held by another
    transaction) are not worth waking for.
    """
    probes = [
        sa.select(sa.func.min(data.c.next_call_time).label("due")).where(
            data.c.vdn_id == vdn_id,
            data.c.campaign_id == campaign_id,
            data.c.status == WAITING,
            data.c.priority == priority,
            data.c.next_call_time > after,
        )
        for vdn_id, campaign_id in campaigns
        for priority in (SCHEDULED_FIRST if first_calls else SCHEDULED_FIRST[:1])
    ]
    if not probes:
        return None
    union = sa.union_all(*probes).subquery()
    stmt = sa.select(sa.type_coerce(sa.func.min(union.c.due), UTCDateTime))
    due: datetime | None = (await conn.execute(stmt)).scalar()
    return due


# ---------------------------------------------------------------- due notices

CHANNEL = "openisales_due"
# Dispatchers rest at most this long between reads of the earliest due time
# (the upper bound of OPENISALES_DISPATCH_POLL_S): a record due later than
# this after it was scheduled is found by that read in time, without a notice.
NOTICE_WITHIN_S = 10.0

Notice = Callable[[datetime], None]  # a record falls due at the time given

_local: list[Notice] = []  # the dispatchers running in this process
_collected: ContextVar[list[datetime] | None] = ContextVar("openisales_due", default=None)
_announcers: weakref.WeakKeyDictionary[AsyncEngine, Batcher[datetime, None]] = (
    weakref.WeakKeyDictionary()
)


def needs_notice(due: datetime, now: datetime) -> bool:
    """Whether a record scheduled at ``now`` for ``due`` may fall due before a dispatcher looks."""
    return (due - now).total_seconds() < NOTICE_WITHIN_S


def listen_locally(notice: Notice) -> Callable[[], None]:
    """Hear this process's notices (SQLite); returns the function that stops it."""
    _local.append(notice)
    return lambda: _local.remove(notice)


@contextmanager
def collecting() -> Iterator[list[datetime]]:
    """The due times that outcomes recorded in this block would announce, kept here instead.

    A dispatcher records its own gateways' outcomes inside this block and
    wakes itself once they are committed: no other dispatcher needs to hear.
    """
    kept: list[datetime] = []
    token = _collected.set(kept)
    try:
        yield kept
    finally:
        _collected.reset(token)


def _payload(due: datetime) -> str:
    return f"{due.timestamp():.6f}"


def parse_notice(payload: str) -> datetime | None:
    """A notice's due time; None when the payload is not one (treat as due now)."""
    try:
        return datetime.fromtimestamp(float(payload), UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _hear(due: datetime) -> None:
    for notice in list(_local):
        notice(due)


async def notice_in(conn: AsyncConnection, due: datetime, now: datetime) -> None:
    """Announce, inside the transaction that schedules it, a record due at ``due``.

    On PostgreSQL the ``NOTIFY`` is delivered when the transaction commits
    (and never if it rolls back). On SQLite this process's dispatchers hear it
    at once; they cannot read before the commit, as the one connection is
    this transaction's until then.
    """
    if not needs_notice(due, now):
        return
    kept = _collected.get()
    if kept is not None:
        kept.append(due)
    elif conn.dialect.name == "postgresql":
        await conn.execute(sa.select(sa.func.pg_notify(CHANNEL, _payload(due))))
    else:
        _hear(due)


async def announce(engine: AsyncEngine, due: datetime, now: datetime) -> None:
    """Announce, after its transaction committed, a record due at ``due``; never raises.

    On PostgreSQL concurrent announcements share one ``NOTIFY`` (a batch),
    sent after each of them was made, in a transaction that does not wait for
    its WAL flush (a notice needs no durability). A notice that cannot be sent
    is logged and dropped: dispatchers find the record at their next poll.
    """
    if not needs_notice(due, now):
        return
    if engine.dialect.name != "postgresql":
        _hear(due)
        return
    announcer = _announcers.get(engine)
    if announcer is None:
        target = weakref.ref(engine)  # the batcher must not keep its engine alive

        async def flush(dues: list[datetime]) -> Sequence[None]:
            alive = target()
            if alive is not None:
                await _notify(alive, min(dues))
            return [None] * len(dues)

        announcer = _announcers[engine] = Batcher(flush, max_size=10_000, max_in_flight=1)
    try:
        await announcer.submit(due)
    except Exception as exc:  # the write it announces is committed: never fail it
        log.warning("due notice not sent: %s", exc)


_NOTIFY = sa.text(
    "SELECT set_config('synchronous_commit', 'off', true), pg_notify(:channel, :payload)"
)


async def _notify(engine: AsyncEngine, due: datetime) -> None:
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(_NOTIFY, {"channel": CHANNEL, "payload": _payload(due)})


async def listen(engine: AsyncEngine, notice: Callable[[str], None]) -> Any:
    """A connection of its own (not the pool's) that LISTENs on :data:`CHANNEL`.

    ``notice`` gets each notice's payload. Returns the asyncpg connection;
    the caller watches it (``is_closed``, termination listeners) and closes it.
    """
    cargs, cparams = engine.dialect.create_connect_args(engine.url)
    conn = await asyncpg.connect(
        *cargs, **cparams, server_settings={"application_name": "openisales-due-listener"}
    )
    try:
        await conn.add_listener(CHANNEL, lambda _c, _pid, _ch, payload: notice(payload))
    except BaseException:
        await conn.close()
        raise
    return conn
