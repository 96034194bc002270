"""Pure domain rules: no I/O, no clock."""

from __future__ import annotations
