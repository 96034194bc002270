"""The command line's changes are audited as ``cli`` (``vdn``, ``keys``, ``holiday``, ``push``,
``import``), on each configured database."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from click.testing import CliRunner, Result

from openisales.cli import cli
from openisales.services import audit
from openisales.store.audit import Entry, Filter
from openisales.store.outbox import FAILED
from openisales.store.tables import push_outbox
from tests.conftest import MASTER_KEY, Api
from tests.helpers import make_campaign


async def _cli(
    api: Api, tmp_path: Path, *args: str, stdin: str | None = None, ok: bool = True
) -> Result:
    """Run the command line in a thread (it runs its own event loop) on ``api``'s database."""
    env = {
        "OPENISALES_MASTER_KEY": MASTER_KEY,
        "OPENISALES_DATABASE_URL": api.ctx.settings.database_url,
    }
    argv = ["--data-dir", str(tmp_path / "cli"), *args]
    result = await asyncio.to_thread(CliRunner().invoke, cli, argv, input=stdin, env=env)
    assert (result.exit_code == 0) == ok, result.output
    return result


async def _by_cli(api: Api, action: str) -> list[Entry]:
    """The ``cli`` entries of ``action``, oldest first."""
    found = await audit.search(api.ctx.engine, Filter(actor="cli", action=action))
    return list(reversed(found))


def _json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


async def test_vdn_key_and_holiday_commands_are_recorded_as_the_cli(
    api: Api, tmp_path: Path
) -> None:
    sk = "cli-secret-key-0123456789"
    await _cli(api, tmp_path, "vdn", "add", "--id", "5", "--name", "care")
    await _cli(
        api, tmp_path, "keys", "create", "--vdn", "5", "--ak", "akcli5", "--sk-stdin", stdin=sk
    )
    await _cli(api, tmp_path, "holiday", "add", "--vdn", "5", "--date", "2030-05-01")
    await _cli(api, tmp_path, "holiday", "delete", "--vdn", "5", "--date", "2030-05-01")
    await _cli(api, tmp_path, "keys", "revoke", "akcli5")
    (vdn,) = [e for e in await _by_cli(api, "vdn.add") if e.vdn_id == 5]
    assert (vdn.target, _json(vdn.after)) == (
        "vdn 5",
        {"vdnId": 5, "name": "care", "timeZone": "UTC"},
    )
    (key,) = [e for e in await _by_cli(api, "key.create") if e.target == "key akcli5"]
    assert (key.vdn_id, _json(key.after)) == (5, {"ak": "akcli5", "vdnIds": [5]})
    (revoked,) = await _by_cli(api, "key.revoke")
    assert (revoked.vdn_id, revoked.target) == (5, "key akcli5")
    (added,) = await _by_cli(api, "holiday.add")
    (deleted,) = await _by_cli(api, "holiday.delete")
    assert (added.vdn_id, added.target) == (deleted.vdn_id, deleted.target)
    assert (added.vdn_id, added.target) == (5, "holiday 2030-05-01")
    assert _json(deleted.before) == [{"date": "2030-05-01", "name": ""}]
    everything = await audit.search(api.ctx.engine, Filter(actor="cli"))
    assert all(e.actor == "cli" and e.request_id is None for e in everything)
    assert not any(sk in (e.after or "") + (e.before or "") for e in everything)


async def test_an_import_is_one_entry_and_a_resend_is_recorded(api: Api, tmp_path: Path) -> None:
    async with api.client() as client:
        cid = await make_campaign(client)
    path = tmp_path / "calls.csv"
    path.write_text("called\n13800000001\n13800000002\n13800000003\n", encoding="utf-8")
    await _cli(api, tmp_path, "import", "--vdn", "1", "--campaign", str(cid), str(path))
    (entry,) = await _by_cli(api, "calldata.import")
    assert (entry.vdn_id, entry.target) == (1, f"campaign {cid}")
    assert _json(entry.after) == {
        "file": "calls.csv",
        "rows": 3,
        "loaded": 3,
        "refused": 0,
        "version": 2,
    }
    # a refused import (a bad row, without --skip-bad) loads nothing and records nothing
    bad = tmp_path / "bad.csv"
    bad.write_text("called\n13800000004\nnot-a-number\n", encoding="utf-8")
    await _cli(api, tmp_path, "import", "--vdn", "1", "--campaign", str(cid), str(bad), ok=False)
    assert len(await _by_cli(api, "calldata.import")) == 1

    now = datetime.now(UTC)
    async with api.ctx.engine.begin() as conn:
        await conn.execute(
            sa.insert(push_outbox).values(
                vdn_id=1,
                data_id=11,
                seq=1,
                campaign_id=cid,
                url="https://crm.example/push",
                payload="{}",
                status=FAILED,
                attempts=6,
                created_at=now,
            )
        )
    await _cli(api, tmp_path, "push", "resend", "--all-failed", "--vdn", "1")
    (resent,) = await _by_cli(api, "push.resend")
    assert (resent.vdn_id, resent.target, _json(resent.after)) == (
        1,
        "failed pushes",
        {"queued": 1},
    )
