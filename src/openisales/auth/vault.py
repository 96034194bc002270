"""Encryption at rest for secret keys (Fernet: AES-128-CBC + HMAC-SHA256)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet, InvalidToken

from openisales.files import create_private_file, private_dir, private_file

if TYPE_CHECKING:
    from openisales.config import Settings


class VaultError(Exception):
    """The master key is wrong or a stored secret is corrupt."""


class Vault:
    def __init__(self, master_key: str) -> None:
        try:
            self._fernet = Fernet(master_key.encode())
        except (ValueError, TypeError) as exc:
            raise VaultError(
                "the master key must be 32 url-safe base64-encoded bytes "
                "(generate one with `openisales keys master-key`)"
            ) from exc

    def encrypt(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise VaultError("a stored secret cannot be decrypted with this master key") from exc


def new_master_key() -> str:
    return Fernet.generate_key().decode()


def load_or_create_master_key(data_dir: Path) -> str:
    """The embedded default's key file ``master.key`` (mode 0600), created on first use."""
    path = data_dir / "master.key"
    if path.exists():
        private_file(path)  # one written by an older version, or copied in, may be wider
        return path.read_text().strip()
    private_dir(data_dir)
    key = new_master_key()
    with os.fdopen(create_private_file(path, exclusive=True), "w") as handle:
        handle.write(key + "\n")
    return key


def master_key(settings: Settings) -> str:
    """The configured master key, or the embedded default's key file."""
    if settings.master_key:
        return settings.master_key
    return load_or_create_master_key(settings.data_dir)
