"""Every process of ``serve --workers 2`` logs JSON lines, INFO included (issue 10, finding 2)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import ENGINES, MASTER_KEY
from tests.process.serving import serving

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif("postgres" not in ENGINES, reason="needs OPENISALES_TEST_PG_URL"),
]
STARTED = re.compile(r"^Started server process \[(\d+)\]$")


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_every_worker_logs_json_lines(database_url: str, tmp_path: Path) -> None:
    env = {
        "OPENISALES_DATABASE_URL": database_url,
        "OPENISALES_MASTER_KEY": MASTER_KEY,
        "OPENISALES_LOG_LEVEL": "info",
    }
    with serving(tmp_path, env=env, args=("--workers", "2")) as server:
        assert server.get("/healthz").status_code == 200
        parent = server.process.pid
    lines = [line for line in server.log.read_text().splitlines() if line.strip()]
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"not a JSON log line: {line!r}") from None
    workers = {int(m.group(1)) for r in records if (m := STARTED.match(str(r.get("message", ""))))}
    assert len(workers) == 2 and parent not in workers, records  # INFO from each worker
    startups = [r for r in records if r.get("message") == "Application startup complete."]
    assert len(startups) == 2 and all(r["level"] == "INFO" for r in startups)
