"""Routes: blocklist (being built)."""

from __future__ import annotations

from openisales.api.endpoint import Operation

OPERATIONS: list[Operation] = []
