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
        young = [[] for _ in range(1_000)]  # a second freeze would take these in
        with collector.tuned():
            assert gc.get_threshold() == collector.THRESHOLDS
        assert gc.get_threshold() == collector.THRESHOLDS  # the inner exit undid nothing
        # Frozen objects that die leave the count (another thread may free some
        # meanwhile); only a freeze adds to it and only an unfreeze empties it.
        assert 0 < gc.get_freeze_count() <= frozen
        del young
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
