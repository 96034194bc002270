"""``openisales push list`` and ``openisales push resend`` on the embedded database."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from click.testing import CliRunner, Result

from openisales.cli import cli
from openisales.store.engine import create_engine
from openisales.store.outbox import DELIVERED, FAILED, PENDING
from openisales.store.tables import push_outbox

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ENV = {"OPENISALES_DATABASE_URL": "", "OPENISALES_MASTER_KEY": ""}


def _cli(tmp_path: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--data-dir", str(tmp_path), *args], env=ENV)


def _invoke(tmp_path: Path, *args: str) -> str:
    result = _cli(tmp_path, *args)
    assert result.exit_code == 0, result.output
    return result.output


def _row(vdn_id: int, data_id: int, status: int, minutes: int, **extra: object) -> dict:
    return {
        "vdn_id": vdn_id,
        "data_id": data_id,
        "seq": 1,
        "campaign_id": 42,
        "url": "https://crm.example/push",
        "payload": json.dumps({"pushId": f"{data_id}.1"}),
        "status": status,
        "attempts": 6 if status == FAILED else 1,
        "next_attempt_at": None if status != PENDING else T0 + timedelta(minutes=minutes),
        "last_error": "HTTP 500" if status == FAILED else None,
        "created_at": T0 + timedelta(minutes=minutes),
        "delivered_at": T0 + timedelta(minutes=minutes) if status == DELIVERED else None,
        **extra,
    }


def _seed(tmp_path: Path) -> None:
    _invoke(tmp_path, "vdn", "list")  # creates and migrates the embedded database

    async def insert() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'openisales.db'}")
        async with engine.begin() as conn:
            await conn.execute(
                sa.insert(push_outbox),
                [
                    _row(1, 11, FAILED, 1),
                    _row(1, 12, DELIVERED, 2),
                    _row(1, 13, PENDING, 3),
                    _row(2, 21, FAILED, 4),
                ],
            )
        await engine.dispose()

    asyncio.run(insert())


def _ids(tmp_path: Path, *args: str) -> list[str]:
    return [
        item["pushId"] for item in json.loads(_invoke(tmp_path, "push", "list", "--json", *args))
    ]


def test_push_list_filters_by_status_and_vdn_newest_first(tmp_path: Path) -> None:
    _seed(tmp_path)
    assert _ids(tmp_path) == ["21.1", "13.1", "12.1", "11.1"]
    assert _ids(tmp_path, "--limit", "2") == ["21.1", "13.1"]
    failed = _invoke(tmp_path, "push", "list", "--status", "failed", "--vdn", "1")
    assert failed.splitlines() == [
        "PUSH ID  VDN  CAMPAIGN  STATUS  PUSHES  NEXT/DELIVERED (UTC)  URL"
        "                       LAST ERROR",
        "11.1     1    42        failed  6       -                     https://crm.example/push"
        "  HTTP 500",
    ]
    assert json.loads(_invoke(tmp_path, "push", "list", "--status", "pending", "--json")) == [
        {
            "pushId": "13.1",
            "vdnId": 1,
            "campaignId": 42,
            "status": "pending",
            "pushes": 1,
            "nextPushAt": "2026-03-01T09:03:00+00:00",
            "deliveredAt": None,
            "url": "https://crm.example/push",
            "lastError": None,
        }
    ]
    assert "2026-03-01 09:02:00" in _invoke(tmp_path, "push", "list", "--status", "delivered")
    assert _ids(tmp_path, "--vdn", "3") == []
    assert _invoke(tmp_path, "push", "list", "--vdn", "3").split() == [
        "PUSH", "ID", "VDN", "CAMPAIGN", "STATUS", "PUSHES", "NEXT/DELIVERED", "(UTC)", "URL",
        "LAST", "ERROR",
    ]  # fmt: skip


def test_push_resend_one_or_all_failed(tmp_path: Path) -> None:
    _seed(tmp_path)
    assert "1 push(es) queued again" in _invoke(tmp_path, "push", "resend", "--push-id", "11.1")
    pending = json.loads(_invoke(tmp_path, "push", "list", "--status", "pending", "--json"))
    assert [item["pushId"] for item in pending] == ["13.1", "11.1"]
    assert pending[1]["pushes"] == 0
    assert "0 push(es) queued again" in _invoke(
        tmp_path, "push", "resend", "--all-failed", "--vdn", "1"
    )
    assert "1 push(es) queued again" in _invoke(tmp_path, "push", "resend", "--all-failed")
    assert _ids(tmp_path, "--status", "failed") == []
    assert "1 push(es) queued again" in _invoke(tmp_path, "push", "resend", "--push-id", "12.1")


def test_push_resend_refuses_unclear_requests(tmp_path: Path) -> None:
    _seed(tmp_path)
    for args, message in [
        ([], "exactly one of --push-id and --all-failed"),
        (["--push-id", "11.1", "--all-failed"], "exactly one of --push-id and --all-failed"),
        (["--push-id", "eleven"], "not a pushId"),
        (["--push-id", "13.1"], "no failed or delivered push 13.1"),  # pending already
        (["--push-id", "11.1", "--vdn", "2"], "no failed or delivered push 11.1"),
    ]:
        result = _cli(tmp_path, "push", "resend", *args)
        assert result.exit_code != 0
        assert message in result.output
