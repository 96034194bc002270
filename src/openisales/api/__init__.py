"""HTTP entry points (Starlette)."""

from __future__ import annotations
