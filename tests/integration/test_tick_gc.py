"""D-TICK-GC: during a tick Python's cycle collector leaves alone what lived before it (``gc.freeze``) and looks at
new objects less often; the last tick to end hands both back to the collector, normally or not."""

from __future__ import annotations

import gc
import weakref
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from licensedesk.services import scheduler
from licensedesk.services.context import Services


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_older_objects_are_frozen_during_the_tick_and_given_back() -> None:
    assert gc.get_freeze_count() == 0
    with scheduler._older_objects_not_scanned():
        assert gc.get_freeze_count() > 0
        fresh = _Cycle()  # made during the tick: still the collector's
        gone = weakref.ref(fresh)
        del fresh
        gc.collect()
        assert gone() is None
    assert gc.get_freeze_count() == 0


def test_garbage_from_before_the_tick_is_collected_after_it() -> None:
    old = _Cycle()
    gone = weakref.ref(old)
    del old  # a cycle: only the collector frees it
    with scheduler._older_objects_not_scanned():
        gc.collect()
        assert gone() is not None  # frozen: left alone while the tick runs
    gc.collect()
    assert gone() is None


def test_a_failing_tick_unfreezes_too() -> None:
    with pytest.raises(RuntimeError), scheduler._older_objects_not_scanned():
        raise RuntimeError("crash mid-tick")
    assert gc.get_freeze_count() == 0


def test_tick_leaves_nothing_frozen(svc: Services) -> None:
    report = scheduler.tick(svc, datetime(2026, 4, 1, 9, tzinfo=ZoneInfo("Asia/Tokyo")))
    assert report.documents == []
    assert gc.get_freeze_count() == 0


def test_the_young_threshold_is_raised_during_the_tick_and_restored_after_a_failure() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), scheduler._older_objects_not_scanned():
        assert gc.get_threshold() == (scheduler.TICK_YOUNG_OBJECTS, *before[1:])
        raise RuntimeError("crash mid-tick")
    assert gc.get_threshold() == before


def test_overlapping_ticks_give_everything_back_when_the_last_one_ends() -> None:
    before = gc.get_threshold()
    first = scheduler._older_objects_not_scanned()
    second = scheduler._older_objects_not_scanned()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)  # the first to start ends first: the other is still running
    assert gc.get_freeze_count() > 0 and gc.get_threshold()[0] == scheduler.TICK_YOUNG_OBJECTS
    second.__exit__(None, None, None)
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == before


def test_a_process_frozen_before_the_tick_stays_as_frozen_as_it_was() -> None:
    """``simulate`` and the server freeze their start-up (D-CLI-SIMULATE-GC, D-API-GC): a tick must not hand those
    objects back, nor freeze more, which nothing could undo (a cycle alive at the tick's start would live on)."""
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        before = gc.get_threshold()
        old = _Cycle()  # alive when the tick starts, garbage during it
        gone = weakref.ref(old)
        with scheduler._older_objects_not_scanned():
            del old
            assert gc.get_threshold() == (scheduler.TICK_YOUNG_OBJECTS, *before[1:])
            assert gc.get_freeze_count() <= frozen  # (a frozen object freed by its reference count leaves it)
        assert 0 < gc.get_freeze_count() <= frozen and gc.get_threshold() == before
        gc.collect()
        assert gone() is None  # the tick did not freeze the cycle that was alive at its start
    finally:
        gc.unfreeze()
