"""Entry point for uvicorn workers: settings from the environment."""

from __future__ import annotations

from starlette.applications import Starlette

from openisales.api.app import create_app
from openisales.config import Settings


def create_from_env() -> Starlette:
    return create_app(Settings.from_env())
