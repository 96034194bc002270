"""Storage: the schema, migrations and SQL repositories (SQLite and PostgreSQL)."""

from __future__ import annotations
