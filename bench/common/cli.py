"""The ``openisales`` command line: one-shot commands, and children in a session of their own."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

CLI = str(Path(sys.executable).with_name("openisales"))


def clean_env() -> dict[str, str]:
    """The caller's environment without any ``OPENISALES_*`` setting."""
    return {k: v for k, v in os.environ.items() if not k.startswith("OPENISALES_")}


def run(env: dict[str, str], *args: str) -> str:
    """Run ``openisales <args>``; raise with its output when it fails."""
    done = subprocess.run([CLI, *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"openisales {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def postgres_env(url: str) -> dict[str, str]:
    """A clean environment for the database at ``url``, with a new master key."""
    master_key = run(clean_env(), "keys", "master-key").strip()
    return clean_env() | {"OPENISALES_DATABASE_URL": url, "OPENISALES_MASTER_KEY": master_key}


def provision(env: dict[str, str], vdn_id: int) -> None:
    """Schema and VDN, the way an operator creates them."""
    run(env, "migrate")
    run(env, "vdn", "add", "--id", str(vdn_id), "--name", "bench", "--time-zone", "UTC")


def start(
    args: list[str], *, env: dict[str, str], log: Path, command: list[str] | None = None
) -> subprocess.Popen[bytes]:
    """``openisales <args>`` in the background, output to ``log``.

    ``command``, when given, runs in place of ``openisales`` with the same
    arguments. The child leads a session (and process group) of its own, so
    that ``signal_group`` reaches whatever it spawns as well.
    """
    with log.open("wb") as sink:
        return subprocess.Popen(
            [*(command or [CLI]), *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def signal_group(pgid: int, sig: signal.Signals) -> None:
    """Signal the process group a ``start``-ed child led; a group already gone is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def run_input(env: dict[str, str], stdin: str, *args: str) -> str:
    """``run`` with ``stdin`` as the command's input (a password, say)."""
    done = subprocess.run(
        [CLI, *args], env=env, input=stdin, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"openisales {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout
