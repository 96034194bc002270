"""The PostgreSQL set-up of docs/operations.md, run as written (issue 12).

Only the database URL is replaced, by a fresh database of the test server; the
lines run in bash with ``openisales`` on the PATH, as an operator types them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from openisales.store.engine import create_engine
from tests.conftest import PG_URL, _drop_pg_database, _pg_admin_url

DOC = Path(__file__).resolve().parents[2] / "docs" / "operations.md"

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="needs OPENISALES_TEST_PG_URL"),
]


def _set_up_block() -> str:
    """The first ``sh`` block of the section "Production on PostgreSQL"."""
    section = DOC.read_text().split("## Production on PostgreSQL", 1)[1]
    found = re.search(r"```sh\n(.*?)```", section, re.S)
    assert found is not None
    return found.group(1)


@pytest.fixture
async def fresh_database(tmp_path: Path) -> AsyncIterator[str]:
    """An empty PostgreSQL database (nobody migrated it), as a plain postgresql:// URL."""
    name = f"openisales_doc_{tmp_path.name[-12:].lower()}"
    admin = create_engine(_pg_admin_url())
    async with admin.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    url = sa.engine.make_url(PG_URL).set(database=name)
    yield url.render_as_string(hide_password=False)
    await _drop_pg_database(url.render_as_string(hide_password=False))


def test_the_postgresql_set_up_runs_as_written(fresh_database: str, tmp_path: Path) -> None:
    block = _set_up_block()
    first, rest = block.split("\n", 1)
    assert first == "export OPENISALES_DATABASE_URL=postgresql://isales@db.internal/isales"
    assert "serve" not in rest and "worker" not in rest  # the processes are the next block
    script = f"set -eu\nexport OPENISALES_DATABASE_URL={fresh_database}\n{rest}"
    script += 'test -n "$OPENISALES_MASTER_KEY"\nopenisales vdn list --json\n'
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "openisales"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m openisales "$@"\n')
    shim.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENISALES_")}
    env["PATH"] = f"{bin_dir}:{env.get('PATH', '')}"
    done = subprocess.run(
        ["bash", "-c", script],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "database at revision" in done.stdout
    assert "VDN 1 (retail, Asia/Shanghai) added" in done.stdout
    assert re.search(r"^AK: \S+$", done.stdout, re.M) and re.search(r"^SK: \S+$", done.stdout, re.M)
    assert done.stdout.rstrip().endswith("]") and '"timeZone": "Asia/Shanghai"' in done.stdout
    assert not (tmp_path / "openisales-data").exists()  # nothing embedded was made on the way
