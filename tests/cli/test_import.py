"""``openisales import``: CSV/XLSX files into a campaign, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from openisales import importing as importer
from openisales.cli import cli
from openisales.clock import SystemClock
from openisales.errors import StorageError
from openisales.importing import ImportRequest, Quiet
from openisales.services.audit import CLI
from openisales.store.engine import create_engine
from openisales.store.ids import IdAllocator
from openisales.store.tables import campaign, data
from tests.conftest import MASTER_KEY, Api
from tests.helpers import add_numbers, make_campaign

HEADER = "called,sessionId,customField,caller,callData,recycleTime\n"


async def _import(
    api: Api, tmp_path: Path, *args: str, max_unfinished: int | None = None
) -> Result:
    """Run the command line in a thread (it runs its own event loop)."""
    settings = api.ctx.settings
    env = {"OPENISALES_MASTER_KEY": MASTER_KEY, "OPENISALES_DATABASE_URL": settings.database_url}
    if max_unfinished is not None:
        env["OPENISALES_MAX_UNFINISHED_PER_CAMPAIGN"] = str(max_unfinished)
    argv = ["--data-dir", str(tmp_path / "cli"), "import", *args]
    return await asyncio.to_thread(CliRunner().invoke, cli, argv, env=env)


def _file(tmp_path: Path, text: str, name: str = "calls.csv") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


async def _rows(api: Api, campaign_id: int | None = None) -> list[Any]:
    stmt = sa.select(data).order_by(data.c.data_id)
    if campaign_id is not None:
        stmt = stmt.where(data.c.campaign_id == campaign_id)
    async with api.ctx.engine.connect() as conn:
        return list((await conn.execute(stmt)).all())


async def test_a_good_file_loads_and_is_queryable_through_the_api(api: Api, tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        HEADER
        + 'SI:13800000001|HOME:13900000002,c-1,batch-7,8888,"{""name"": ""Li""}",'
        + "2030-01-01 10:00:00\n"
        + "13800000003,,,,,\n"
        + "\n"  # blank lines are skipped
        + '13800000004,c-2,,,"two\nlines",\n',
    )
    async with api.client() as client:
        cid = await make_campaign(client)
        result = await _import(api, tmp_path, "--vdn", "1", "--campaign", str(cid), path)
        assert result.exit_code == 0, result.output
        assert "rows read 3, loaded 3, refused 0" in result.output
        assert f"3 record(s) added to campaign {cid} of VDN 1" in result.output
        rows = await _rows(api)
        assert [r.vdn_id for r in rows] == [1, 1, 1]
        assert all(r.data_id >> 48 == 1 for r in rows)
        detail = await client.query_call_data(cid, str(rows[0].data_id))
        assert detail["resultCode"] == "0200000", detail
        more = await client.add_call_data(cid, [{"called": "1"}])  # ids go on after the import
        assert more["returnObject"]["totalSize"] == 4
    record = detail["data"]
    assert record["calledNos"] == [
        {"calledNo": "13800000001", "type": "SI"},
        {"calledNo": "13900000002", "type": "HOME"},
    ]
    assert {p["propCode"]: p["propValue"] for p in record["properties"]} == {
        "sessionId": "c-1",
        "customField": "batch-7",
        "caller": "8888",
        "callData": '{"name": "Li"}',
        "recycleTime": "2030-01-01 10:00:00",
    }
    assert record["status"] == 0 and record["attemptNo"] == 0
    assert rows[2].call_data == "two\nlines" and rows[1].session_id is None


async def test_imported_rows_equal_rows_added_through_the_api(api: Api, tmp_path: Path) -> None:
    """COPY (PostgreSQL) and store.insert write the same columns and values."""
    async with api.client() as client:
        by_api = await make_campaign(client, "api")
        by_file = await make_campaign(client, "file")
        reply = await client.add_call_data(
            by_api,
            [
                {
                    "called": [{"calledNo": "138", "type": "SI"}, {"calledNo": "139", "type": "é"}],
                    "sessionId": "s",
                    "customField": "c",
                    "caller": "88",
                    "callData": "ü",
                    "recycleTime": "2030-01-01 10:00:00",
                }
            ],
            version=2,
        )
        assert reply["resultCode"] == "0200000", reply
    path = _file(tmp_path, HEADER + "SI:138|é:139,s,c,88,ü,2030-01-01 10:00:00\n")
    result = await _import(api, tmp_path, "--vdn", "1", "--campaign", str(by_file), path)
    assert result.exit_code == 0, result.output
    skip = {"data_id", "campaign_id", "created_at", "updated_at", "next_call_time"}
    (a,) = await _rows(api, by_api)
    (b,) = await _rows(api, by_file)
    assert {k: v for k, v in a._asdict().items() if k not in skip} == {
        k: v for k, v in b._asdict().items() if k not in skip
    }
    assert b.created_at == b.updated_at == b.next_call_time


BAD = (
    HEADER
    + "13800000001,s1,,,,\n"  # line 2: good
    + "138-0001,,,,,\n"  # line 3: bad number
    + 's-long,"multi\nline",,,,\n'  # lines 4-5: called s-long is illegal
    + "13800000002,"
    + "x" * 33
    + ",,,,\n"  # line 6: sessionId too long
    + "13800000003,,,,,2030-13-01 00:00:00\n"  # line 7: bad recycleTime
    + "13800000001,s1,,,,\n"  # line 8: duplicate in session s1
    + "13800000004,,,\n"  # line 9: too few fields
    + "13800000005,s2,,,,\n"  # line 10: good
)
BAD_LINES = [
    "line 3: called[0].calledNo: 02000002 may contain only [0-9*#]",
    "line 4: called[0].calledNo: 02000002 may contain only [0-9*#]",
    "line 6: sessionId: 02000003 must be at most 32 characters",
    "line 7: recycleTime: 0200030 is not a valid date and time",
    "line 8: called: 0200018 duplicate number 13800000001 for sessionId s1 (first on line 2)",
    "line 9: row: 0200001 has 4 fields; the header has 6",
]


async def test_bad_rows_are_reported_with_their_lines_and_nothing_is_loaded(
    api: Api, tmp_path: Path
) -> None:
    async with api.client() as client:
        cid = await make_campaign(client)
    errors = tmp_path / "refused.csv"
    result = await _import(
        api, tmp_path, "--vdn", "1", "--campaign", str(cid), "--errors", str(errors),
        _file(tmp_path, BAD),
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    for line in BAD_LINES:
        assert line in result.output
    assert "rows read 8, loaded 0, refused 6" in result.output
    assert "nothing loaded: 6 bad row(s)" in result.output
    assert await _rows(api) == []
    listed = list(csv.reader(io.StringIO(errors.read_text(encoding="utf-8"))))
    assert listed[0] == ["line", "field", "code", "message"]
    assert [int(r[0]) for r in listed[1:]] == [3, 4, 6, 7, 8, 9]


async def test_skip_bad_loads_the_good_rows_only(api: Api, tmp_path: Path) -> None:
    async with api.client() as client:
        cid = await make_campaign(client)
    result = await _import(
        api, tmp_path, "--vdn", "1", "--campaign", str(cid), "--skip-bad", "--show-errors", "2",
        _file(tmp_path, BAD),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert BAD_LINES[0] in result.output and BAD_LINES[1] in result.output
    assert BAD_LINES[2] not in result.output
    assert "... and 4 more refused row(s) (--errors FILE lists them all)" in result.output
    assert "rows read 8, loaded 2, refused 6" in result.output
    rows = await _rows(api)
    assert [r.session_id for r in rows] == ["s1", "s2"]


async def test_blocklisted_numbers_are_refused_like_the_api_does(api: Api, tmp_path: Path) -> None:
    async with api.client() as client:
        cid = await make_campaign(client)
        assert (await client.add_blocklist({"blocklist": ["555"]}))["resultCode"] == "0200000"
    path = _file(tmp_path, "called,sessionId\n111,a\n555|666,b\n")
    result = await _import(api, tmp_path, "--vdn", "1", "--campaign", str(cid), path)
    assert result.exit_code == 1
    assert "line 3: called: 0200024 blocklisted numbers: 555" in result.output
    assert await _rows(api) == []


async def test_v1_rules_refuse_a_number_twice_in_the_file(api: Api, tmp_path: Path) -> None:
    async with api.client() as client:
        cid = await make_campaign(client)
    path = _file(tmp_path, "called,sessionId\n1,a\n2,a\n1,b\n")
    v2 = await _import(api, tmp_path, "--vdn", "1", "--campaign", str(cid), "--check", path)
    assert v2.exit_code == 0, v2.output
    assert "check passed: 3 row(s) can be loaded" in v2.output
    v1 = await _import(
        api, tmp_path, "--vdn", "1", "--campaign", str(cid), "--api-version", "1", path
    )
    assert v1.exit_code == 1
    assert "line 4: called: 0200018 duplicate number 1 (first on line 2)" in v1.output
    assert await _rows(api) == []


async def _expire(api: Api, campaign_id: int) -> None:
    async with api.ctx.engine.begin() as conn:
        await conn.execute(
            sa.update(campaign)
            .where(campaign.c.campaign_id == campaign_id)
            .values(end_time=datetime.now(UTC) - timedelta(minutes=1))
        )


async def test_campaign_checks(api: Api, tmp_path: Path) -> None:
    path = _file(tmp_path, "called\n1\n2\n3\n")
    async with api.client() as client:
        cid = await make_campaign(client)
        other = await make_campaign(client, "other")
        await add_numbers(client, cid, "7", "8")
    async with api.client(2) as client:
        for name in ("a", "b", "c"):
            foreign = await make_campaign(client, name)  # VDN 1 has no campaign of this id

    missing = await _import(api, tmp_path, "--vdn", "1", "--campaign", str(foreign), path)
    assert missing.exit_code == 1
    assert f"nothing loaded: 0200007 campaignId: campaign {foreign} does not exist" in (
        missing.output
    )

    over = await _import(
        api, tmp_path, "--vdn", "1", "--campaign", str(cid), path, max_unfinished=4
    )
    assert over.exit_code == 1
    assert "nothing loaded: 0200020 the campaign would hold 5 unfinished records" in over.output
    checked = await _import(
        api, tmp_path, "--vdn", "1", "--campaign", str(cid), "--check", path, max_unfinished=4
    )
    assert checked.exit_code == 1 and "0200020" in checked.output
    assert len(await _rows(api)) == 2

    exact = await _import(
        api, tmp_path, "--vdn", "1", "--campaign", str(cid), path, max_unfinished=5
    )
    assert exact.exit_code == 0, exact.output
    assert len(await _rows(api, cid)) == 5

    await _expire(api, other)
    ended = await _import(api, tmp_path, "--vdn", "1", "--campaign", str(other), path)
    assert ended.exit_code == 1
    assert "0200019" in ended.output and "has ended" in ended.output
    assert await _rows(api, other) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("called,phone\n1,2\n", "unknown column 'phone'"),
        ("sessionId\ns\n", "no 'called' column"),
        ('called,callData\n1,"open\n', "not valid CSV"),
    ],
)
async def test_unusable_files_are_refused_whole(
    api: Api, tmp_path: Path, text: str, message: str
) -> None:
    async with api.client() as client:
        cid = await make_campaign(client)
    result = await _import(
        api, tmp_path, "--vdn", "1", "--campaign", str(cid), _file(tmp_path, text)
    )
    assert result.exit_code == 1
    assert message in result.output
    assert await _rows(api) == []


async def test_non_utf8_file_is_refused(api: Api, tmp_path: Path) -> None:
    async with api.client() as client:
        cid = await make_campaign(client)
    path = tmp_path / "latin1.csv"
    path.write_bytes("called,callData\n1,caf\u00e9\n".encode("latin-1"))
    result = await _import(api, tmp_path, "--vdn", "1", "--campaign", str(cid), str(path))
    assert result.exit_code == 1
    assert "not UTF-8" in result.output


async def test_a_file_that_turns_unreadable_midway_loads_nothing(api: Api, tmp_path: Path) -> None:
    """Reading fails after thousands of rows went to the database: the transaction rolls back."""
    async with api.client() as client:
        cid = await make_campaign(client)
    good = "".join(f"138{n:08d},{n}\n" for n in range(20_000)).encode()
    path = tmp_path / "broken.csv"
    path.write_bytes(b"called,callData\n" + good + b"1,caf\xe9\n" + good)
    for flag in ("--no-progress", "--skip-bad"):
        result = await _import(api, tmp_path, "--vdn", "1", "--campaign", str(cid), flag, str(path))
        assert result.exit_code == 1
        assert "not UTF-8 text (near line" in result.output
    assert await _rows(api) == []
    again = await _import(
        api, tmp_path, "--vdn", "1", "--campaign", str(cid), _file(tmp_path, "called\n1\n")
    )
    assert again.exit_code == 0, again.output


async def test_xlsx_with_typed_cells(api: Api, tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["called", "sessionId", "recycleTime", "caller"])
    sheet.append([13800000001, "s-1", datetime(2030, 1, 1, 10, 0, 0), 8888])
    sheet.append([None, None, None, None])  # an empty row is skipped
    sheet.append(["SI:139|140", 42, "2030-01-02 00:00:00", None])
    sheet.append(["13-9", None, None, None])
    path = tmp_path / "calls.xlsx"
    book.save(path)
    async with api.client() as client:
        cid = await make_campaign(client)
    refused = await _import(api, tmp_path, "--vdn", "1", "--campaign", str(cid), str(path))
    assert refused.exit_code == 1
    assert "line 5: called[0].calledNo: 02000002" in refused.output
    loaded = await _import(
        api, tmp_path, "--vdn", "1", "--campaign", str(cid), "--skip-bad", str(path)
    )
    assert loaded.exit_code == 0, loaded.output
    assert "rows read 3, loaded 2, refused 1" in loaded.output
    rows = await _rows(api)
    assert [(r.session_id, r.caller) for r in rows] == [("s-1", "8888"), ("42", None)]
    assert rows[0].called_nos == '[{"calledNo":"13800000001","type":""}]'
    assert rows[0].recycle_time == datetime(2030, 1, 1, 10, tzinfo=UTC)


async def test_progress_bar_output_does_not_break_the_command(api: Api, tmp_path: Path) -> None:
    lines = "".join(f"138{n:08d},s-{n},,,,\n" for n in range(10_000))
    path = _file(tmp_path, "called,sessionId,customField,caller,callData,recycleTime\n" + lines)
    async with api.client() as client:
        cid = await make_campaign(client)
    for flag in ("--progress", "--no-progress"):
        result = await _import(
            api, tmp_path, "--vdn", "1", "--campaign", str(cid), flag, "--skip-bad", path
        )
        assert result.exit_code == 0, result.output
        assert "rows read 10,000, loaded 10,000, refused 0" in result.output
    # the API does not compare new data with the campaign's, and neither does the import
    assert len(await _rows(api)) == 20_000


async def _on_postgres(api: Api, check: Callable[[], Awaitable[None]]) -> None:
    if api.ctx.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    await check()


@asynccontextmanager
async def _refusing(api: Api, call_data: str) -> AsyncIterator[None]:
    """A database that refuses rows with this callData (rows valid to the importer)."""
    async with api.ctx.engine.begin() as conn:
        await conn.execute(
            sa.text(
                "ALTER TABLE t_isl_data ADD CONSTRAINT test_refused "
                f"CHECK (call_data IS DISTINCT FROM '{call_data}')"
            )
        )
    try:
        yield
    finally:
        async with api.ctx.engine.begin() as conn:
            await conn.execute(sa.text("ALTER TABLE t_isl_data DROP CONSTRAINT test_refused"))


async def test_a_failure_during_copy_leaves_nothing(api: Api, tmp_path: Path) -> None:
    """PostgreSQL refuses a row midway through the COPY: the transaction rolls back."""

    async def check() -> None:
        async with api.client() as client:
            cid = await make_campaign(client)
        path = _file(tmp_path, "called,callData\n1,ok\n2,bad\n")
        async with _refusing(api, "bad"):
            result = await _import(api, tmp_path, "--vdn", "1", "--campaign", str(cid), path)
        assert result.exit_code == 1
        assert "0200006 database operation failed" in result.output
        assert await _rows(api) == []

    await _on_postgres(api, check)


async def test_text_no_database_can_store_is_a_bad_row(api: Api, tmp_path: Path) -> None:
    async with api.client() as client:
        cid = await make_campaign(client)
    path = _file(tmp_path, "called,callData\n1,ok\n2,bad\x00\n")
    result = await _import(api, tmp_path, "--vdn", "1", "--campaign", str(cid), path)
    assert result.exit_code == 1
    assert "line 3: callData: 02000002 must not contain the NUL character" in result.output
    assert await _rows(api) == []


async def test_the_import_leaves_its_connection_as_it_found_it(api: Api, tmp_path: Path) -> None:
    """The COPY's timestamptz codec is the connection's own until COPY ends, even when it fails."""
    engine = create_engine(api.ctx.settings.effective_database_url, pool_size=1)
    try:
        async with api.client() as client:
            cid = await make_campaign(client)
        ids = IdAllocator(engine)
        good = tmp_path / "good.csv"
        good.write_text("called,recycleTime\n1,2030-01-01 10:00:00\n", encoding="utf-8")
        bad = tmp_path / "bad.csv"
        bad.write_text("called,callData\n2,x\n", encoding="utf-8")
        request = ImportRequest(vdn_id=1, campaign_id=cid, path=good)
        outcome = await importer.run(engine, ids, request, clock=SystemClock(), actor=CLI)
        assert (outcome.read, outcome.loaded, outcome.committed) == (1, 1, True)
        if engine.dialect.name == "postgresql":
            async with _refusing(api, "x"):
                with pytest.raises(StorageError):
                    await importer.run(
                        engine,
                        ids,
                        replace(request, path=bad),
                        clock=SystemClock(),
                        actor=CLI,
                        reporter=Quiet(),
                    )
        async with engine.connect() as conn:
            row = (await conn.execute(sa.select(data.c.recycle_time, data.c.created_at))).one()
        assert row.recycle_time == datetime(2030, 1, 1, 10, tzinfo=UTC)
        assert isinstance(row.created_at, datetime) and row.created_at.tzinfo is not None
    finally:
        await engine.dispose()
