"""What every request handler may use: built once by ``create_app``."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from openisales.clock import Clock
from openisales.config import Settings
from openisales.metrics import Metrics
from openisales.replay import ReplayGuard
from openisales.services.writeback import Definitions
from openisales.store.credentials import CredentialCache
from openisales.store.ids import IdAllocator


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
