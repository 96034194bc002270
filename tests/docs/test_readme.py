"""The README's five-minute walkthrough, run as written against a live server (issue 12).

The commands and Python sessions are read from README.md itself: every fenced
block of the "Five-minute walkthrough" section is run in order, and what it
prints is compared with what the README shows. A block is one of

* ``console``: ``$ command`` lines, each followed by its output (stdout and
  stderr together). ``make serve`` starts the server in the background (in the
  repository, as a reader does) and is compared with its first lines;
  ``.venv/bin/python`` with no argument opens an interactive session: the
  ``>>>`` lines after it are run with doctest; any other command is run by
  ``sh`` (pipes work) in a temporary directory, to its end, and must exit 0;
* ``pycon``: a ``>>>`` session, run with doctest in the same namespace as the
  sessions before it.

Any other block in the section fails the test: nothing there goes unchecked.

When running, and nothing else, the test substitutes

* the port: the server listens on a free port, and ``127.0.0.1:8443`` in
  commands, sessions and shown output is replaced by ``127.0.0.1:<port>``;
* the ``.venv/bin/`` prefix of a command's words: the directory of this interpreter.

The environment carries ``OPENISALES_DATA_DIR`` (a temporary directory) and
``OPENISALES_PORT``; other ``OPENISALES_*`` variables are removed.

Normalisation rules, applied to the shown and the produced output alike:

1. every ``YYYY-MM-DD HH:MM:SS`` matches any date-time (``keys list``'s
   creation time, ``nextCallTime``);
2. trailing white space on a line, and trailing empty lines, are ignored
   (curl prints no final newline; editors strip trailing blanks);
3. a JSON log line of the server (a shown line of ``make serve`` that starts
   with ``{``) is compared by shape: the same keys in the same order, the same
   ``level`` and ``logger``, ``time`` in ISO 8601 UTC (``…T…Z``) in both, the
   same ``message`` once a process id in brackets (``[30723]``) is masked; the
   values of other fields (``worker``: a random id per process) only need to
   be there.

Ids are deterministic on a fresh database and stay literal. When the
repository's ``.venv`` is not this interpreter's, or make would reinstall it
first (``pyproject.toml`` is newer than ``.venv/.installed``: ``make test``
refreshes it), the server is started with the command ``make serve`` runs,
``.venv/bin/openisales serve``, and make's own first line is not compared.
"""

from __future__ import annotations

import doctest
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from openisales.client import Client
from tests.process.serving import free_port

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
SECTION = "## Five-minute walkthrough"
BIN = Path(sys.executable).parent
SHOWN_ADDRESS = "127.0.0.1:8443"
VENV_BIN = re.compile(r"(?<![\w./-])\.venv/bin/")  # a command word starting with it
DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
ISO_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
PID = re.compile(r"\[\d+\]")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
SERVER = "make serve"
PYTHON = ".venv/bin/python"


@dataclass(frozen=True)
class Block:
    kind: str
    text: str
    line: int  # README line of the block's first line (after the fence)


def walkthrough_blocks() -> list[Block]:
    readme = README.read_text()
    start = readme.index(SECTION)
    end = readme.find("\n## ", start + len(SECTION))
    section = readme[start : end if end != -1 else len(readme)]
    first_line = readme[:start].count("\n") + 1
    return [
        Block(m.group(1), m.group(2), first_line + section[: m.start(2)].count("\n"))
        for m in FENCE.finditer(section)
    ]


def commands(block: Block) -> Iterator[tuple[str, list[str], int]]:
    """A console block's ``(command, shown output lines, README line)``."""
    lines = block.text.splitlines()
    assert lines and lines[0].startswith("$ "), f"README.md:{block.line}: starts with no command"
    for i, line in enumerate(lines):
        if line.startswith("$ "):
            shown = []
            for following in lines[i + 1 :]:
                if following.startswith("$ "):
                    break
                shown.append(following)
            yield line[2:], shown, block.line + i


def normalised(lines: list[str]) -> list[str]:
    """Rules 1 and 2."""
    result = [DATE_TIME.sub("<date-time>", line).rstrip() for line in lines]
    while result and not result[-1]:
        result.pop()
    return result


def same_shape(shown: str, produced: str) -> bool:
    """Rule 3: a JSON log line."""
    try:
        want, got = json.loads(shown), json.loads(produced)
    except ValueError:
        return False
    return (
        list(want) == list(got)
        and all(
            isinstance(x.get("time"), str) and ISO_UTC.fullmatch(x["time"]) for x in (want, got)
        )
        and all(want.get(k) == got.get(k) for k in ("level", "logger"))
        and PID.sub("[pid]", str(want.get("message"))) == PID.sub("[pid]", str(got.get("message")))
    )


def difference(where: str, command: str, shown: list[str], produced: list[str]) -> str:
    return (
        f"{where}: `{command}` printed other than the README shows.\n"
        "--- shown\n"
        + "\n".join(shown)
        + "\n--- produced (paste into README.md)\n"
        + "\n".join(produced)
    )


class Checker(doctest.OutputChecker):
    """doctest's comparison, after rule 1."""

    def check_output(self, want: str, got: str, optionflags: int) -> bool:
        return super().check_output(
            DATE_TIME.sub("<date-time>", want), DATE_TIME.sub("<date-time>", got), optionflags
        )


class Walkthrough:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.port = free_port()
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("OPENISALES_", "MAKE"))
            and k not in {"MFLAGS", "PROMETHEUS_MULTIPROC_DIR"}
        }
        self.env |= {
            "OPENISALES_DATA_DIR": str(tmp_path / "openisales-data"),
            "OPENISALES_PORT": str(self.port),
        }
        self.namespace: dict[str, Any] = {"__name__": "README"}
        self.server: subprocess.Popen[bytes] | None = None

    def substituted(self, text: str) -> str:
        return text.replace(SHOWN_ADDRESS, f"127.0.0.1:{self.port}")

    def run_block(self, block: Block) -> None:
        if block.kind == "pycon":
            self.session(block.text, block.line)
            return
        assert block.kind == "console", (
            f"README.md:{block.line}: a `{block.kind}` block in the walkthrough: "
            "use `console` or `pycon`, which this test runs"
        )
        for command, shown, line in commands(block):
            if command == SERVER:
                self.serve(shown, line)
            elif command == PYTHON:
                self.session("\n".join(shown), line + 1)
            else:
                self.run(command, shown, line)

    def run(self, command: str, shown: list[str], line: int) -> None:
        """A command run by ``sh`` (a pipe works as in a terminal), in the temporary directory."""
        script = VENV_BIN.sub(shlex.quote(str(BIN)) + "/", self.substituted(command))
        done = subprocess.run(
            ["sh", "-c", script],
            cwd=self.tmp_path,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=120,
            check=False,
        )
        produced = done.stdout.decode().splitlines()
        assert done.returncode != 127, f"README.md:{line}: {produced} (.ci/run installs curl)"
        assert done.returncode == 0, difference(f"README.md:{line}", command, shown, produced)
        want = normalised([self.substituted(x) for x in shown])
        assert want == normalised(produced), difference(
            f"README.md:{line}", command, shown, produced
        )

    def serve(self, shown: list[str], line: int) -> None:
        if not _make_serve_runs_the_server_only():
            # what make serve runs once .venv is up to date; make's echo of it is not shown
            shown = [x for x in shown if x.startswith("{")]
            argv = [str(BIN / "openisales"), "serve"]
        else:
            argv = ["make", "serve"]
        log = self.tmp_path / "server.log"
        with log.open("wb") as out:
            self.server = subprocess.Popen(
                argv,
                cwd=REPO,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        want = [self.substituted(x) for x in normalised(shown)]
        deadline = time.monotonic() + 60
        while True:
            produced = log.read_text().splitlines()
            if len(produced) >= len(want) and self._ready():
                break
            assert self.server.poll() is None, difference(
                f"README.md:{line}", SERVER, shown, produced
            )
            assert time.monotonic() < deadline, difference(
                f"README.md:{line}", SERVER, shown, produced
            )
            time.sleep(0.1)
        first = normalised(produced[: len(want)])
        matches = [
            w == g or (w.startswith("{") and same_shape(w, g))
            for w, g in zip(want, first, strict=True)
        ]
        assert all(matches), difference(f"README.md:{line}", SERVER, shown, produced)

    def _ready(self) -> bool:
        try:
            url = f"https://127.0.0.1:{self.port}/readyz"
            return httpx.get(url, verify=False, timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    def session(self, text: str, line: int) -> None:
        """A ``>>>`` session, run with doctest in the walkthrough's namespace."""
        test = doctest.DocTestParser().get_doctest(
            self.substituted(text), self.namespace, "README walkthrough", str(README), line - 1
        )
        report: list[str] = []
        runner = doctest.DocTestRunner(checker=Checker(), optionflags=doctest.REPORT_NDIFF)
        result = runner.run(test, out=report.append, clear_globs=False)
        self.namespace = test.globs  # a copy of the namespace given: the next session's
        assert result.failed == 0, "".join(report)

    def close(self) -> None:
        for value in self.namespace.values():
            if isinstance(value, Client):
                value.close()
        if self.server is None:
            return
        # SIGTERM to make alone would leave the server it started running: stop
        # the process group started for it (make and the server), then wait for it.
        group = self.server.pid
        if _alive(group):
            os.killpg(group, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while _alive(group) and time.monotonic() < deadline:
            self.server.poll()  # reap make once it exits
            time.sleep(0.1)
        if _alive(group):
            os.killpg(group, signal.SIGKILL)
        self.server.wait(timeout=10)


def _alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def _make_serve_runs_the_server_only() -> bool:
    """Whether ``make serve`` would start the server at once (no venv to create or update)."""
    if shutil.which("make") is None or Path(sys.prefix).resolve() != (REPO / ".venv").resolve():
        return False
    question = subprocess.run(
        ["make", "-q", ".venv/.installed"],
        cwd=REPO,
        env={k: v for k, v in os.environ.items() if not k.startswith("MAKE")},
        capture_output=True,
        check=False,
    )
    return question.returncode == 0


def test_the_readme_walkthrough_prints_what_it_shows(tmp_path: Path) -> None:
    blocks = walkthrough_blocks()
    assert [b.kind for b in blocks][:1] == ["console"] and len(blocks) >= 4, blocks
    assert next(commands(blocks[0]))[0] == SERVER, "the walkthrough starts with the server"
    walkthrough = Walkthrough(tmp_path)
    try:
        for block in blocks:
            walkthrough.run_block(block)
    finally:
        walkthrough.close()


def test_the_shape_rule_is_narrow() -> None:
    shown = (
        '{"time": "2026-12-06T23:07:44.995Z", "level": "INFO", "logger": "uvicorn.error",'
        ' "message": "Started server process [30723]"}'
    )
    assert same_shape(shown, shown.replace("30723", "4").replace("23:07", "01:02"))
    assert not same_shape(shown, shown.replace("INFO", "WARNING"))
    assert not same_shape(shown, shown.replace("Started", "Stopped"))
    assert not same_shape(shown, shown.replace("44.995Z", "44,995"))
    assert not same_shape(shown, shown[:-1] + ', "color_message": "x"}')
    assert normalised(["created 2026-11-27 02:28:48\t ", ""]) == ["created <date-time>"]
