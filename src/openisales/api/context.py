"""What every request handler may use: built once by ``create_app``."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from openisales.auth.replay import ReplayGuard
from openisales.clock import Clock
from openisales.config import Settings
from openisales.metrics import Metrics
from openisales.services.writeback import Definitions
from openisales.store.credentials import CredentialCache
from openisales.store.ids import IdAllocator
from openisales.store.writeback_fast import FastPath
from openisales.store.writeback_group import GroupCommit


@dataclass
class AppContext:
    settings: Settings
    engine: AsyncEngine
    ids: IdAllocator
    credentials: CredentialCache
    replay: ReplayGuard
    clock: Clock
    definitions: Definitions
    metrics: Metrics
    writeback_fast: FastPath | None = None  # PostgreSQL: the batched write-back
    writeback_group: GroupCommit | None = None  # SQLite: write-backs share transactions

    async def close(self) -> None:
        """Release every connection this context holds."""
        await self.replay.close()
        if self.writeback_fast is not None:
            await self.writeback_fast.close()
        await self.engine.dispose()
