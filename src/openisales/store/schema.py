"""Apply and check migrations (Alembic) on an async engine; the rule for rolling upgrades.

Migrations are *expand* or *contract*. An expand migration (new tables,
nullable columns, indexes) leaves every statement of the release before it
valid; it says so with ``contract = False`` in its module. Any other migration
(a migration without the flag, too) is a contract: code older than it cannot
run on it. After every upgrade :func:`migrate` records in ``t_isl_schema``
the oldest revision whose code may still run on the database (the newest
contract migration applied). A process starts (:func:`check`) when the
database is at its own head revision, or at a newer one whose recorded oldest
revision is one it knows: so a new release's expand migrations can be applied
while the old release still serves, and its contract migrations only after
every process runs the new code.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from openisales.store import citus
from openisales.store.tables import metadata, schema_state


class SchemaError(RuntimeError):
    """The database's schema does not fit this release; the message says what to do."""


MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    head = _scripts().get_current_head()
    assert head is not None
    return head


@cache  # the release's migration files do not change while it runs: read them once
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


@cache
def known_revisions() -> tuple[str, ...]:
    """This release's revisions, oldest first."""
    return tuple(script.revision for script in reversed(list(_scripts().walk_revisions())))


def min_code_revision(revision: str) -> str:
    """The oldest revision whose code may run on a database at ``revision`` (see above)."""
    scripts = _scripts()
    oldest = revision
    for script in scripts.iterate_revisions(revision, "base"):
        oldest = script.revision
        if getattr(script.module, "contract", True):
            break
    return oldest


async def migrate(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (idempotent) and record its oldest compatible code.

    A database at a revision this release does not know (a newer release's) is
    left as it is: :func:`check` tells whether this release may run on it. On a
    Citus coordinator, the tables Citus does not manage yet are then distributed
    by ``vdn_id`` or made reference tables (``store.citus``).
    """

    def upgrade(conn: Connection) -> None:
        before = MigrationContext.configure(conn).get_current_revision()
        if before is not None and before not in known_revisions():
            conn.rollback()
            return  # a newer release migrated it: nothing here to apply (check() decides)
        # End the transaction the read above began: Alembic must own the migrations'
        # transactions (an autocommit block can only leave a transaction it began).
        conn.commit()
        # Alembic runs each migration in its own transaction (so that one may
        # leave it to build an index concurrently: create_index below).
        command.upgrade(alembic_config(conn), revision)
        current = MigrationContext.configure(conn).get_current_revision()
        if current is not None and sa.inspect(conn).has_table(schema_state.name):
            conn.execute(
                sa.update(schema_state)
                .where(schema_state.c.id == 1)
                .values(min_code_revision=min_code_revision(current))
            )
        conn.commit()

    async with engine.connect() as conn:
        await conn.run_sync(upgrade)
        await citus.distribute(conn)  # on a Citus coordinator only (decision 9)


def create_index(name: str, table: str, columns: list[str], **kw: Any) -> None:
    """``op.create_index`` for a migration; ``CONCURRENTLY`` on PostgreSQL.

    A large table keeps taking writes while its index builds: the statement
    runs outside the migration's transaction (Alembic's autocommit block), and
    ``IF NOT EXISTS`` lets a migration interrupted while building run again.
    """
    from alembic import op

    context = op.get_context()
    if context.dialect.name != "postgresql":
        op.create_index(name, table, columns, **kw)
        return
    with context.autocommit_block():
        op.create_index(
            name, table, columns, postgresql_concurrently=True, if_not_exists=True, **kw
        )


def upgrade_sql(dialect_name: str, start: str | None = None, end: str = "head") -> str:
    """The DDL that :func:`migrate` would run from ``start`` (None: an empty database).

    For a DBA who applies migrations by hand (``openisales migrate --sql``).
    The recorded oldest compatible revision is part of it.
    """
    buffer = io.StringIO()
    cfg = Config(output_buffer=buffer)
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["dialect_name"] = dialect_name
    target = _scripts().get_revision(end)
    assert target is not None
    if _has_state_table(target.revision):
        oldest = min_code_revision(target.revision)
        cfg.attributes["state_sql"] = (
            f"UPDATE {schema_state.name} SET min_code_revision = '{oldest}' WHERE id = 1"
        )
    command.upgrade(cfg, f"{start}:{end}" if start else end, sql=True)
    return buffer.getvalue()


def _has_state_table(revision: str) -> bool:
    return any(s.revision == "0008" for s in _scripts().iterate_revisions(revision, "base"))


@dataclass(frozen=True)
class Status:
    current: str | None  # the database's revision (None: never migrated)
    head: str  # this release's newest revision
    pending: tuple[str, ...]  # this release's revisions the database lacks, oldest first
    min_code: str | None  # the oldest code revision the database allows (None: not recorded)

    @property
    def newer(self) -> bool:
        """The database is at a revision this release does not know (a newer release's)."""
        return self.current is not None and self.current not in known_revisions()

    def problem(self) -> str | None:
        """Why this release may not run on the database, in one line; None when it may."""
        if self.current is None:
            return "the database is not migrated: run `openisales migrate`"
        if self.current == self.head:
            return None
        if not self.newer:
            return (
                f"the database schema is at revision {self.current}, this release needs "
                f"{self.head}: run `openisales migrate`"
            )
        if self.min_code is not None and self.min_code in known_revisions():
            return None  # a newer release's expand migrations: compatible
        return (
            f"the database schema is at revision {self.current}, newer than this release "
            f"({self.head}), and needs the code of revision {self.min_code or 'unknown'} or "
            "later: upgrade openisales"
        )


async def status(engine: AsyncEngine) -> Status:
    """Where the database stands against this release."""

    def read(conn: Connection) -> tuple[str | None, str | None]:
        current = MigrationContext.configure(conn).get_current_revision()
        if not sa.inspect(conn).has_table(schema_state.name):
            return current, None
        found = conn.execute(sa.select(schema_state.c.min_code_revision)).scalar()
        return current, found

    async with engine.connect() as conn:
        current, min_code = await conn.run_sync(read)
    known = known_revisions()
    pending = tuple(known[known.index(current) + 1 :] if current in known else known)
    if current is not None and current not in known:
        pending = ()
    return Status(current, head_revision(), pending, min_code)


async def check(engine: AsyncEngine) -> Status:
    """The database's status; :class:`SchemaError` when this release may not run on it."""
    found = await status(engine)
    problem = found.problem()
    if problem is not None:
        raise SchemaError(problem)
    return found


async def current_revision(engine: AsyncEngine) -> str | None:
    def read(conn: Connection) -> str | None:
        return MigrationContext.configure(conn).get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(read)


# Tables a migration keeps on PostgreSQL for its functions alone, outside ``tables.metadata``:
# the count of calls in progress that ``isl_claim`` reads (migration 0013).
FUNCTION_TABLES = frozenset({"t_isl_calling"})


def _described(_obj: Any, name: str | None, kind: str, reflected: bool, _other: Any) -> bool:
    return not (kind == "table" and reflected and name in FUNCTION_TABLES)


async def diff(engine: AsyncEngine) -> list[Any]:
    """Differences between the migrated database and ``tables.metadata`` (empty = equal)."""

    def compare(conn: Connection) -> list[Any]:
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": _described}
        )
        return list(compare_metadata(ctx, metadata))

    async with engine.connect() as conn:
        return await conn.run_sync(compare)
