"""The serving process's garbage-collector settings, and that they are undone."""

from __future__ import annotations

import gc

from openisales import collector


def test_tuned_freezes_sets_thresholds_and_restores_on_exit() -> None:
    before = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    with collector.tuned():
        assert gc.get_threshold() == collector.THRESHOLDS
        assert gc.get_freeze_count() > 0  # what was loaded is never scanned again
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_a_nested_use_leaves_the_outer_settings_in_place() -> None:
    before = gc.get_threshold()
    with collector.tuned():
        frozen = gc.get_freeze_count()
        with collector.tuned():
            assert gc.get_threshold() == collector.THRESHOLDS
        assert gc.get_threshold() == collector.THRESHOLDS  # the inner exit undid nothing
        assert gc.get_freeze_count() == frozen
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
