"""The benchmarks' databases: PostgreSQL by URL, SQLite by file."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


@dataclass(frozen=True)
class Database:
    """A PostgreSQL database that a benchmark drops and creates anew."""

    url: str  # postgresql://user@host:port/dbname

    @property
    def dbname(self) -> str:
        return urlsplit(self.url).path.lstrip("/")

    @property
    def admin_url(self) -> str:
        """The same server's ``postgres`` database, to drop and create this one from."""
        return urlunsplit(urlsplit(self.url)._replace(path="/postgres"))

    def recreate_sql(self) -> list[str]:
        """The statements that recreate the database (run on ``admin_url``)."""
        name = self.dbname
        if not name.replace("_", "").isalnum():
            raise ValueError(f"refusing an unusual database name: {name!r}")
        return [f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"']


# With this set to a `cluster.sh` (shared/citus: a coordinator and its workers on this
# machine), the database the benchmark recreates is one on that Citus cluster: dropped on
# every node and created again with the extension and the workers registered, so that
# `openisales migrate` distributes it (docs/scale-out.md). Its URL names the coordinator.
CITUS_CLUSTER_ENV = "OPENISALES_BENCH_CITUS_CLUSTER"


def recreate_on_citus(database: Database) -> bool:
    """Recreate ``database`` on the Citus cluster of :data:`CITUS_CLUSTER_ENV`; False: not set."""
    script = os.environ.get(CITUS_CLUSTER_ENV)
    if not script:
        return False
    name = database.dbname
    if not name.replace("_", "").isalnum():
        raise ValueError(f"refusing an unusual database name: {name!r}")
    for command in ("dropdb", "up"):
        subprocess.run(["bash", script, command, name], check=True, capture_output=True)
    return True


class Psql(Database):
    """A ``Database`` worked on through ``psql``."""

    def psql(self, sql: str, *, admin: bool = False) -> str:
        """Run ``sql`` with psql (stop at the first error); unaligned output."""
        target = self.admin_url if admin else self.url
        done = subprocess.run(
            ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", target],
            input=sql,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr.strip()}\n--- SQL ---\n{sql}")
        return done.stdout.strip()

    def recreate(self) -> None:
        if recreate_on_citus(self):
            return
        for sql in self.recreate_sql():
            self.psql(sql, admin=True)

    def setting(self, name: str) -> str:
        return self.psql(f"SHOW {name}")


def sqlite_time(moment: datetime) -> str:
    """How SQLAlchemy stores a UTC datetime on SQLite (naive, microseconds)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def sqlite_connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30)
    conn.execute("PRAGMA busy_timeout=30000")
    return conn
