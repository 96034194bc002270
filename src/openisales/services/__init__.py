"""Use cases: each takes its ports (database, ids, clock) as arguments."""

from __future__ import annotations
