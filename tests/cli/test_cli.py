"""The command line, and a real HTTPS server started the way the README starts it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from openisales.cli import cli
from openisales.client import Client


def _invoke(tmp_path: Path, *args: str) -> str:
    """The command's standard output; it must succeed."""
    result = CliRunner().invoke(
        cli,
        ["--data-dir", str(tmp_path), *args],
        env={"OPENISALES_DATABASE_URL": "", "OPENISALES_MASTER_KEY": ""},
    )
    assert result.exit_code == 0, result.output
    return result.stdout


def test_vdn_and_key_lifecycle(tmp_path: Path) -> None:
    assert "VDN 7 (sales, Europe/Paris) added" in _invoke(
        tmp_path, "vdn", "add", "--id", "7", "--name", "sales", "--time-zone", "Europe/Paris"
    )
    header, row = _invoke(tmp_path, "vdn", "list").splitlines()
    assert header.split() == ["VDN", "NAME", "TIME", "ZONE", "CREATED", "(UTC)"]
    assert row.split()[:3] == ["7", "sales", "Europe/Paris"]
    created = _invoke(
        tmp_path, "keys", "create", "--vdn", "7", "--ak", "myak01", "--sk", "my-very-secret-key-1"
    )
    assert created == "AK: myak01\nSK: my-very-secret-key-1\n"
    listed = _invoke(tmp_path, "keys", "list")
    assert listed.splitlines()[0].split()[:3] == ["AK", "VDNS", "STATUS"]
    assert listed.splitlines()[1].split()[:3] == ["myak01", "7", "active"]
    assert "my-very-secret-key-1" not in listed
    assert "my-very-secret-key-1" not in (tmp_path / "openisales.db").read_bytes().decode("latin-1")
    assert "AK myak01 revoked" in _invoke(tmp_path, "keys", "revoke", "myak01")
    assert "revoked" in _invoke(tmp_path, "keys", "list")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["vdn", "add", "--id", "0", "--name", "x"], "between 1 and 9999"),
        (
            ["vdn", "add", "--id", "3", "--name", "x", "--time-zone", "Mars/Base"],
            "unknown time zone",
        ),
        (["keys", "create", "--vdn", "42"], "VDN 42 does not exist"),
        (["keys", "revoke", "ghost"], "does not exist"),
    ],
)
def test_cli_errors_are_clear(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), *args])
    assert result.exit_code != 0
    assert message in result.output


def test_duplicate_ak_and_vdn_are_refused(tmp_path: Path) -> None:
    _invoke(tmp_path, "vdn", "add", "--id", "1", "--name", "a")
    again = CliRunner().invoke(
        cli, ["--data-dir", str(tmp_path), "vdn", "add", "--id", "1", "--name", "b"]
    )
    assert "already exists" in again.output
    _invoke(tmp_path, "keys", "create", "--vdn", "1", "--ak", "dupak1")
    dup = CliRunner().invoke(
        cli, ["--data-dir", str(tmp_path), "keys", "create", "--vdn", "1", "--ak", "dupak1"]
    )
    assert "already exists" in dup.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_https_server_round_trip_with_both_profiles(tmp_path: Path) -> None:
    _invoke(tmp_path, "vdn", "add", "--id", "1", "--name", "demo")
    out = _invoke(tmp_path, "keys", "create", "--vdn", "1")
    ak = out.split("AK: ")[1].split()[0]
    sk = out.split("SK: ")[1].split()[0]
    port = _free_port()
    env = {**os.environ, "OPENISALES_DATA_DIR": str(tmp_path), "OPENISALES_DATABASE_URL": ""}
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "openisales", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/readyz", verify=False).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "server.log").read_text()
            time.sleep(0.2)
        assert (tmp_path / "tls-cert.pem").exists()
        for profile in ("hex", "base64"):
            with Client(base, ak, sk, vdn_id=1, profile=profile, verify=False) as client:
                code = f"C-{profile}"
                assert (
                    client.add_business_result({"name": code, "code": code})["resultCode"]
                    == "0200000"
                )
                codes = [d["code"] for d in client.query_business_results()["data"]]
                assert code in codes
        with Client(base, ak, "wrong-secret-key-123", vdn_id=1, verify=False) as client:
            response = client.http.get(
                "/rest/isales/v1/openapi/campaigns/1/queryBusinessResults?pageSize=1&pageNum=1"
            )
            assert response.status_code == 401
        document = httpx.get(f"{base}/openapi.json", verify=False).json()
        assert document["openapi"].startswith("3.1")
        assert "/rest/isales/v1/openapi/campaigns/{vdnId}/addBusinessResult" in document["paths"]
        docs = httpx.get(f"{base}/docs", verify=False)
        assert "swagger-ui-bundle.js" in docs.text
        assert (
            httpx.get(f"{base}/docs/static/swagger-ui-bundle.js", verify=False).status_code == 200
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
    assert sk not in (tmp_path / "server.log").read_text()


def test_serve_refuses_several_workers_on_the_embedded_database(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["--data-dir", str(tmp_path), "serve", "--workers", "2"],
        env={"OPENISALES_DATABASE_URL": "", "OPENISALES_MASTER_KEY": ""},
    )
    assert result.exit_code != 0
    assert "one writer" in result.output and "PostgreSQL" in result.output
