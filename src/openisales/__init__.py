"""openisales: an open outbound-campaign server compatible with the CC-iSales OpenAPI."""

from __future__ import annotations

__version__ = "0.1.0"
