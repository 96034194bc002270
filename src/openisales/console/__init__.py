"""The operator console (docs/console.md)."""

from __future__ import annotations
