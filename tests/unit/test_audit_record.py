"""services.audit: declared actions only, secrets masked, snapshots bounded."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from openisales.services import audit


async def test_an_undeclared_action_is_refused_before_any_write() -> None:
    with pytest.raises(ValueError, match=r"undeclared audit action 'campaign\.explode'"):
        await audit.record(
            None,  # type: ignore[arg-type]  # never reached
            audit.CLI,
            "campaign.explode",
            vdn_id=1,
            target="campaign 1",
            now=datetime(2026, 12, 7, tzinfo=UTC),
        )


def test_secrets_are_masked_at_any_depth() -> None:
    text = audit.snapshot({"ak": "A", "sk": "S", "nested": [{"password": "p", "x": 1}]})
    assert text is not None
    assert json.loads(text) == {"ak": "A", "sk": "***", "nested": [{"password": "***", "x": 1}]}


def test_a_large_snapshot_is_cut_and_marked() -> None:
    text = audit.snapshot({"numbers": ["1" * 30] * 2000})
    assert text is not None
    kept = json.loads(text)
    assert kept["truncated"] is True
    assert len(kept["head"]) == audit.MAX_SNAPSHOT


def test_actors_are_named_by_kind() -> None:
    assert str(audit.Actor("operator", "alice")) == "operator:alice"
    assert str(audit.Actor("ak", "demo-ak")) == "ak:demo-ak"
    assert str(audit.CLI) == "cli"
    assert audit.snapshot(None) is None
