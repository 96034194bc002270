"""Which tables Citus distributes, in which order (store.citus; the cluster: tests/citus)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from openisales.store import citus
from openisales.store.tables import metadata

ALL = list(metadata.tables)


def test_every_table_is_reference_or_distributable_by_vdn() -> None:
    kinds = {name: citus.kind_of(table) for name, table in metadata.tables.items()}
    assert {n for n, k in kinds.items() if k == "reference"} == citus.REFERENCE
    assert kinds[citus.ANCHOR] == "distributed"
    assert kinds["t_isl_credential"] == "reference"  # looked up by AK alone


def test_a_fresh_schema_takes_reference_tables_then_the_anchor_then_the_rest() -> None:
    steps = citus.plan(ALL, managed=())
    kinds = [s.kind for s in steps]
    first_distributed = kinds.index("distributed")
    assert set(kinds[:first_distributed]) == {"reference"}
    assert set(kinds[first_distributed:]) == {"distributed"}
    assert steps[first_distributed] == citus.Step(citus.ANCHOR, "distributed", "none")
    assert {s.colocate_with for s in steps[first_distributed + 1 :]} == {citus.ANCHOR}
    assert {s.table for s in steps} == set(ALL)


def test_managed_and_unknown_tables_are_left_alone() -> None:
    assert citus.plan(ALL, managed=ALL) == []
    assert citus.plan(["t_isl_newer_release"], managed=()) == []
    later = citus.plan(["t_isl_data", "t_isl_import_job"], managed=["t_isl_data"])
    assert later == [citus.Step("t_isl_import_job", "distributed", citus.ANCHOR)]


def test_tenant_tables_without_the_anchor_are_refused() -> None:
    with pytest.raises(ValueError, match="t_isl_data is missing"):
        citus.plan(["t_isl_campaign"], managed=())


def test_a_table_whose_keys_lack_vdn_id_cannot_be_distributed() -> None:
    table = sa.Table(
        "t_isl_stray",
        sa.MetaData(),
        sa.Column("vdn_id", sa.Integer, nullable=False),
        sa.Column("code", sa.String(8), nullable=False),
        sa.PrimaryKeyConstraint("vdn_id", "code"),
        sa.UniqueConstraint("code"),
    )
    with pytest.raises(ValueError, match="t_isl_stray can be neither"):
        citus.kind_of(table)


def test_the_statements() -> None:
    reference = citus.Step("t_isl_vdn", "reference").sql()
    assert "create_reference_table(:t)" in reference.text
    distributed = citus.Step("t_isl_campaign", "distributed", citus.ANCHOR).sql()
    assert "create_distributed_table(:t, :key, colocate_with => :with)" in distributed.text
    compiled = distributed.compile()
    assert compiled.params == {"t": "t_isl_campaign", "key": "vdn_id", "with": citus.ANCHOR}
