"""The data directory and its secrets are owner-only (issue 10, finding 4)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tests.process.serving import serving

SECRETS = ["master.key", "tls-key.pem", "openisales.db", "openisales.db-wal", "openisales.db-shm"]


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _modes(data: Path) -> dict[str, int]:
    return {name: _mode(data / name) for name in SECRETS}


def test_the_data_directory_and_its_secrets_are_created_and_kept_owner_only(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    old = os.umask(0o022)  # the usual umask, which made them 0755 and 0644
    try:
        with serving(tmp_path, tls=True, data_dir=data):
            assert _mode(data) == 0o700
            assert _modes(data) == dict.fromkeys(SECRETS, 0o600)
        data.chmod(0o755)  # made by an older version, or by hand
        for name in ("master.key", "tls-key.pem", "openisales.db"):
            (data / name).chmod(0o644)
        with serving(tmp_path, tls=True, data_dir=data):
            assert _mode(data) == 0o700
            assert _modes(data) == dict.fromkeys(SECRETS, 0o600)
    finally:
        os.umask(old)
