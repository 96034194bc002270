"""Distribute the schema on a Citus coordinator (docs/decisions/0009-citus.md).

On a PostgreSQL database with the ``citus`` extension, :func:`distribute` runs
after every migration (``store.schema.migrate``): each table of
``tables.metadata`` that Citus does not manage yet becomes a *reference* table
(copied to every node: tables that are no tenant's, or small ones read by every
tenant's queries and looked up without the tenant, :data:`REFERENCE`) or a
table hash-distributed by ``vdn_id``, colocated with :data:`ANCHOR` (a tenant's
rows of every table live on the same node, so that a tenant's joins and
transactions stay on one node). Tables Citus already manages are left alone,
so a second run does nothing; tables this release does not know (a newer
release's) are left alone too.

The choice is pure (:func:`plan`); the statements run one per transaction:
``create_distributed_table`` refuses to run in a transaction that has already
touched other distributed tables over several connections.
"""

from __future__ import annotations

import weakref
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from openisales.store.tables import metadata

SHARD_KEY = "vdn_id"

# Every tenant table is colocated with this one (the call data: the largest).
ANCHOR = "t_isl_data"

# Tables copied whole to every node. None of them is a tenant's data that grows
# with its traffic; each is either no tenant's or read without the tenant.
REFERENCE = frozenset(
    {
        "t_isl_schema",  # the schema's own state: one row, no tenant
        "t_isl_vdn",  # the tenants: joined with every record read
        "t_isl_credential",  # keys, looked up by AK alone on every request
        "t_isl_operator",  # console accounts span every VDN
        "t_isl_operator_vdn",  # read by operator name
        "t_isl_console_session",  # looked up by token
        "t_isl_login_throttle",  # per account or address, no tenant
        "t_isl_audit",  # vdn_id may be NULL (changes of no tenant); low volume
    }
)

Kind = Literal["reference", "distributed"]


@dataclass(frozen=True)
class Step:
    table: str
    kind: Kind
    colocate_with: str | None = None  # distributed only; None: the first of its group

    def sql(self) -> sa.TextClause:
        if self.kind == "reference":
            return sa.text("SELECT create_reference_table(:t)").bindparams(t=self.table)
        return sa.text(
            "SELECT create_distributed_table(:t, :key, colocate_with => :with)"
        ).bindparams(t=self.table, key=SHARD_KEY, **{"with": self.colocate_with or "default"})


def kind_of(table: sa.Table) -> Kind:
    """How ``table`` is spread over the nodes; a table that is neither is a mistake.

    A distributed table's key must be ``vdn_id``, NOT NULL, and part of every
    primary and unique key (Citus enforces uniqueness per shard only).
    """
    if table.name in REFERENCE:
        return "reference"
    column = table.c.get(SHARD_KEY)
    keys = [
        table.primary_key.columns.keys(),
        *(c.columns.keys() for c in table.constraints if isinstance(c, sa.UniqueConstraint)),
        *(i.columns.keys() for i in table.indexes if i.unique),
    ]
    if column is None or column.nullable or any(SHARD_KEY not in k for k in keys):
        raise ValueError(f"{table.name} can be neither distributed by {SHARD_KEY} nor reference")
    return "distributed"


def plan(present: Iterable[str], managed: Collection[str]) -> list[Step]:
    """The statements that distribute the tables ``present`` that Citus does not manage yet.

    Reference tables first, then :data:`ANCHOR` (when it is not distributed
    yet), then the other tenant tables colocated with it. Names that are not in
    ``tables.metadata`` are left alone (a newer release's tables).
    """
    todo = sorted(n for n in set(present) - set(managed) if n in metadata.tables)
    steps = [Step(n, "reference") for n in todo if kind_of(metadata.tables[n]) == "reference"]
    tenant = [n for n in todo if kind_of(metadata.tables[n]) == "distributed"]
    if ANCHOR in tenant:
        steps.append(Step(ANCHOR, "distributed", "none"))
        tenant.remove(ANCHOR)
    elif ANCHOR not in managed and tenant:
        raise ValueError(f"{ANCHOR} is missing: the tenant tables have nothing to colocate with")
    steps.extend(Step(n, "distributed", ANCHOR) for n in tenant)
    return steps


async def enabled(conn: AsyncConnection) -> bool:
    """Whether ``conn`` is on a database with the Citus extension (False on SQLite)."""
    if conn.dialect.name != "postgresql":
        return False
    found = await conn.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'citus'"))
    return found.first() is not None


_known: weakref.WeakKeyDictionary[sa.Engine, bool] = weakref.WeakKeyDictionary()


async def distributed(conn: AsyncConnection) -> bool:
    """:func:`enabled`, asked once per engine (a database does not change kind under it)."""
    engine = conn.sync_engine
    known = _known.get(engine)
    if known is None:
        known = _known[engine] = await enabled(conn)
    return known


async def tenants(
    conn: AsyncConnection,
    table: sa.Table,
    *where: sa.ColumnElement[bool],
    oldest: sa.ColumnElement[object],
) -> list[int | None]:
    """The VDNs to run a cross-tenant statement for, one by one, on ``table``'s rows ``where``.

    Citus runs no multi-shard statement that locks rows (``FOR UPDATE``) or
    limits what it changes: there such work runs once per VDN that has rows
    ``where`` (found by one multi-shard ``SELECT``, which Citus runs), with
    ``vdn_id`` given, so that each statement goes to one shard; the VDN whose
    ``oldest`` is the smallest goes first, so that a limit shared by the VDNs
    serves the longest-waiting rows first. Elsewhere the answer is ``[None]``:
    one statement for every VDN, as before.
    """
    if not await distributed(conn):
        return [None]
    key = table.c[SHARD_KEY]
    found = await conn.execute(
        sa.select(key).where(*where).group_by(key).order_by(sa.func.min(oldest), key)
    )
    return [int(row[0]) for row in found]


async def distribute(conn: AsyncConnection) -> list[Step]:
    """Distribute what :func:`plan` says on a Citus database; the steps taken (none elsewhere).

    ``conn`` must not be in a transaction; each step commits on its own.
    """
    if not await enabled(conn):
        await conn.rollback()
        return []
    present = await conn.scalars(
        sa.text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') "
            "AND c.relname LIKE 't\\_isl\\_%'"
        )
    )
    names = list(present)
    managed = await conn.scalars(
        sa.text("SELECT logicalrelid::regclass::text FROM pg_dist_partition")
    )
    steps = plan(names, set(managed))
    await conn.commit()
    for step in steps:
        await conn.execute(step.sql())
        await conn.commit()
    return steps
