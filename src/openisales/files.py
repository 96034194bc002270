"""Private files: the data directory (0700) and what holds secrets or data in it (0600).

The data directory holds the master key, the embedded database (with its
``-wal`` and ``-shm`` files) and the self-signed TLS key. Each is created
owner-only, whatever the process's umask, and an existing one is narrowed
to owner-only when a command opens it (docs/security.md).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """``path`` as a directory only its owner may enter (created with its parents if missing)."""
    old = os.umask(0o077)
    try:
        path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    finally:
        os.umask(old)
    _narrow(path, DIR_MODE)
    return path


def private_file(path: Path) -> None:
    """Narrow an existing file to owner read and write (nothing if it does not exist)."""
    _narrow(path, FILE_MODE)


def create_private_file(path: Path, *, exclusive: bool = False) -> int:
    """Open ``path`` for writing, created 0600 (truncated, or refused if ``exclusive``)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)  # an existing file keeps its mode through O_CREAT
    except BaseException:
        os.close(fd)
        raise
    return fd


def _narrow(path: Path, mode: int) -> None:
    try:
        current = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if current & ~mode:
        try:
            path.chmod(current & mode)
        except PermissionError:  # not ours: leave it, the owner decides
            pass
