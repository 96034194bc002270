"""One module per resource; each exposes ``OPERATIONS``."""

from __future__ import annotations
