"""With ``--profile``: the server's CPU per write-back, split by component (py-spy samples).

Each sample (an on-CPU Python stack of a worker) goes to the component of the
frame nearest its top that belongs to one: code that runs for a component
(``asyncio/locks.py`` under the write-back's batching, say) counts for it.
The frames that only start a worker (uvicorn's ``Server.run``, its
supervisor, ``multiprocessing``) belong to none. Samples with no such frame
are the event loop's: uvloop, its TLS and its sockets are C code that py-spy
(without ``--native``) shows as the Python frame that entered it, which is
``Runner.run`` for the loop itself and the protocol's ``send`` for a
response's encryption and write. The shares, times the server's measured
CPU per write-back, give microseconds per write-back.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

_LINE = re.compile(r"^(.*) (\d+)$")

# (component, path fragments of its frames): the first that matches a frame wins.
COMPONENTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("signature check (AK/SK)", ("openisales/auth/",)),
    ("request validation", ("openisales/validation.py",)),
    ("write-back decision and batching", ("openisales/services/", "openisales/domain/")),
    ("store: SQL and batches", ("openisales/store/",)),
    ("asyncpg (driver)", ("asyncpg/",)),
    ("SQLAlchemy", ("sqlalchemy/",)),
    ("metrics", ("prometheus_client/", "openisales/metrics.py")),
    ("logging", ("logging/", "openisales/logs.py")),
    ("JSON (msgspec) and envelopes", ("msgspec/", "openisales/api/envelope.py")),
    ("API endpoint and middleware", ("openisales/api/", "openisales/console/")),
    ("Starlette routing", ("starlette/",)),
    (
        "HTTP protocol: parsing, response writes (their TLS encryption and send)",
        ("uvicorn/protocols/", "uvicorn/middleware/", "openisales/cli/protocol.py", "granian/asgi"),
    ),
)
EVENT_LOOP = "event loop: polling, reads and their TLS decryption, callbacks (uvloop, C)"


def component(frames: list[str]) -> str:
    for frame in reversed(frames):
        for name, fragments in COMPONENTS:
            if any(fragment in frame for fragment in fragments):
                return name
    return EVENT_LOOP


def shares(files: Iterable[Path]) -> Counter[str]:
    """Samples per component over every py-spy raw file."""
    found: Counter[str] = Counter()
    for raw in files:
        if not raw.exists():
            continue
        for line in raw.read_text(errors="replace").splitlines():
            match = _LINE.match(line)
            if match:
                found[component(match.group(1).split(";"))] += int(match.group(2))
    return found


def table(files: Iterable[Path], server_us: float) -> str:
    """Markdown rows: component, share of the samples, microseconds per write-back."""
    counts = shares(files)
    total = sum(counts.values())
    if not total:
        return "py-spy recorded no samples"
    lines = [
        f"server CPU per write-back {server_us:.0f} µs, by component ({total} py-spy samples):",
        "| component | share | µs per write-back |",
        "| --- | --- | --- |",
    ]
    for name, n in counts.most_common():
        lines.append(f"| {name} | {n / total:.1%} | {n / total * server_us:.0f} |")
    return "\n".join(lines)
