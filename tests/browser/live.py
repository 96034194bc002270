"""A live console for a real browser: ``openisales serve`` in a subprocess, set up through the CLI.

The server speaks TLS with its self-signed certificate (as ``serve`` does by
default), runs the dispatcher with no default gateway, as ``make serve`` does (a
campaign given the built-in simulator, through the API or the console, really
dials; one that names no gateway does not), gives up a failed result push at
once (``OPENISALES_PUSH_MAX_PUSHES=1``, so it is listed for a resend), and has
two VDNs with an API key each and the four operators of
``tests/console/conftest.py``: root (admin), sup1 (supervisor of VDN 1), view1
(viewer of VDN 1) and sup2 (supervisor of VDN 2). Shared by the browser tests
(``conftest.py``) and the screenshot script (``screenshots.py``).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from openisales.client import Client
from tests.process.serving import Server, serving

T = TypeVar("T")

PASSWORD = "correct horse battery"
OPERATORS: dict[str, tuple[str, tuple[int, ...]]] = {
    "root": ("admin", ()),
    "sup1": ("supervisor", (1,)),
    "view1": ("viewer", (1,)),
    "sup2": ("supervisor", (2,)),
}
# A simulator ``mix`` (docs/dialing.md, "Simulator"): every call "powered off" (00548);
# with no retry policy each record completes after that one attempt, so the attempts
# placed are the call results of completed records that the API reports.
POWERED_OFF = {"00548": 1}


def in_thread(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion on a loop of its own, in another thread.

    Playwright's sync API keeps its event loop marked as running in this
    thread while the browser is open, so ``asyncio.run`` here would refuse.
    """
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


@dataclass
class Live:
    """A running server, how to reach it, and how to run the CLI on its database."""

    server: Server
    env: dict[str, str]
    engine: str
    keys: dict[int, tuple[str, str]] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return self.server.base

    def url(self, path: str) -> str:
        return self.base + path

    def cli(self, *args: str, stdin: str | None = None) -> str:
        return cli(self.env, *args, stdin=stdin)

    def api(self, vdn_id: int = 1) -> Client:
        """The signed API client of the VDN's key (``with live.api() as api: ...``)."""
        ak, sk = self.keys[vdn_id]
        return Client(self.base, ak, sk, vdn_id=vdn_id, verify=False, timeout=30)


def cli(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "openisales", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, f"openisales {' '.join(args)}: {done.stderr}"
    return done.stdout


def _parallel(env: dict[str, str], commands: list[tuple[tuple[str, ...], str | None]]) -> list[str]:
    with ThreadPoolExecutor(len(commands)) as pool:
        return list(pool.map(lambda c: cli(env, *c[0], stdin=c[1]), commands))


def _set_up(env: dict[str, str]) -> dict[int, tuple[str, str]]:
    """VDNs 1 and 2, a key each, and the operators, with the CLI (about 4 s)."""
    cli(env, "vdn", "add", "--id", "1", "--name", "Retail", "--time-zone", "Asia/Shanghai")
    # the first key makes the embedded database's master key file: alone, then the rest at once
    first, _ = _parallel(
        env,
        [
            (("keys", "create", "--vdn", "1"), None),
            (
                ("vdn", "add", "--id", "2", "--name", "Insurance", "--time-zone", "Europe/Paris"),
                None,
            ),
        ],
    )
    operators: list[tuple[tuple[str, ...], str | None]] = [
        (
            (
                "operator",
                "add",
                "--name",
                name,
                "--role",
                role,
                *(x for v in vdns for x in ("--vdn", str(v))),
                "--password-stdin",
            ),
            PASSWORD + "\n",
        )
        for name, (role, vdns) in OPERATORS.items()
    ]
    second, *_ = _parallel(env, [(("keys", "create", "--vdn", "2"), None), *operators])
    return {1: _key(first), 2: _key(second)}


def _key(out: str) -> tuple[str, str]:
    return out.split("AK: ")[1].split()[0], out.split("SK: ")[1].split()[0]


@contextmanager
def running(
    tmp: Path, engine: str, database_url: str = "", extra: dict[str, str] | None = None
) -> Iterator[Live]:
    """The live server on ``engine`` ("sqlite": the embedded default in ``tmp``)."""
    env = {
        "OPENISALES_WORKER": "true",  # the dispatcher inside serve, on PostgreSQL too
        # as `make serve`: a campaign is dialled once it is given a gateway (API or console)
        "OPENISALES_GATEWAY": "",
        # a result push that fails is failed at once (listed for a resend), not retried
        "OPENISALES_PUSH_MAX_PUSHES": "1",
        "OPENISALES_PUSH_TIMEOUT_S": "2",
        "OPENISALES_CALLDATA_MIN_INTERVAL_S": "0",
        "OPENISALES_LOG_LEVEL": "warning",
        **(extra or {}),
    }
    if database_url:
        from tests.conftest import MASTER_KEY

        env |= {"OPENISALES_DATABASE_URL": database_url, "OPENISALES_MASTER_KEY": MASTER_KEY}
    data_dir = tmp / "data"
    cli_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OPENISALES_")},
        "OPENISALES_DATA_DIR": str(data_dir),
        **env,
    }
    keys = _set_up(cli_env)
    with serving(tmp, tls=True, env=env, data_dir=data_dir) as server:
        yield Live(server, cli_env, engine, keys)


def wait_for(
    check: Callable[[], T | None], timeout: float = 20.0, every: float = 0.1, what: str = ""
) -> T:
    """Poll ``check`` until it returns something truthy, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(every)


# Arranging data through the signed API (tests/helpers.py's, for the sync client).


def make_campaign(api: Client, name: str, **overrides: Any) -> int:
    from tests.helpers import campaign_body

    reply = api.create_campaign(campaign_body(name, **overrides))
    assert reply["resultCode"] == "0200000", reply
    return int(reply["returnObject"]["id"])


def dialling_campaign(
    api: Client,
    name: str,
    *,
    concurrency: int = 100,
    fields: dict[str, Any] | None = None,
    **simulator: Any,
) -> int:
    """A running campaign dialled by the simulator with these settings (``seed``, ``mix``…).

    ``fields`` are the campaign's own (``campaign_body`` overrides).

    Made paused, given its dialing settings, then resumed: a dispatcher reads a
    campaign's simulator settings the first time it sees the campaign running
    and keeps them (``Simulator._campaign``), so settings given to a campaign
    already running might never be used.
    """
    campaign = make_campaign(api, name, **{**(fields or {}), "initStatus": 3})
    body = {"gateway": "simulator", "gatewayConfig": simulator, "maxConcurrency": concurrency}
    reply = api.set_dialing(campaign, body)
    assert reply["resultCode"] == "0200000", reply
    reply = api.resume_campaign(campaign)
    assert reply["resultCode"] == "0200000", reply
    return campaign


def add_numbers(api: Client, campaign_id: int, numbers: list[str], **fields: Any) -> list[str]:
    """One record per number, 20 per call (the API's batch limit); their dataIds."""
    ids: list[str] = []
    for start in range(0, len(numbers), 20):
        records = [{"called": n, **fields} for n in numbers[start : start + 20]]
        reply = api.add_call_data(campaign_id, records)
        assert reply["resultCode"] == "0200000", reply
        ids += [d["dataId"] for d in reply["returnObject"]["dataIdList"]]
    return ids


def attempts(api: Client, campaign_id: int) -> int:
    """Attempts recorded for the campaign's completed records (every attempt, showDetail 1)."""
    reply = api.query_call_results(campaign_id, {"showDetail": 1, "pageSize": 1})
    assert reply["resultCode"] == "0200000", reply
    return int(reply["totalCount"])


def status(api: Client, campaign_id: int) -> int:
    """The campaign's status as the API reports it: 2 running, 3 paused."""
    reply = api.campaign_detail(campaign_id)
    assert reply["resultCode"] == "0200000", reply
    return int(reply["returnObject"]["status"])
