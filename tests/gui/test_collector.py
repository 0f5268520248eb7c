"""The GUI-thread garbage collector: freezes what a wave of imports loaded, not garbage."""

import gc
import sys
import types
import weakref

from inspector.gui.work.collector import FREEZE_AFTER_MODULES, FreezingCollector


class _Cyclic:
    def __init__(self) -> None:
        self.me = self


def test_imports_are_frozen_and_garbage_is_collected_first(qtbot, monkeypatch):
    collector = FreezingCollector(interval=3600)  # checked by hand here
    try:
        collector.check()
        frozen = gc.get_freeze_count()
        garbage = _Cyclic()
        gone = weakref.ref(garbage)
        del garbage  # a cycle: only a collection frees it
        loaded = []
        for i in range(FREEZE_AFTER_MODULES):  # as if an import brought in its modules
            module = types.ModuleType(f"_imported_{i}")
            module.table = {"entry": [i]}  # tracked objects the import created
            loaded.append(module.table)
            monkeypatch.setitem(sys.modules, module.__name__, module)
        collector.check()
        assert gc.get_freeze_count() > frozen
        assert gone() is None  # collected, not frozen
        assert all(o is not loaded[0] for o in gc.get_objects())  # frozen: not walked again
        young = [[]]  # made after the freeze: a new freeze would take it in
        frozen = gc.get_freeze_count()
        collector.check()  # no new imports: no new freeze
        assert any(o is young for o in gc.get_objects())
        # Frozen objects still die by reference counting (another thread's, too): the count
        # may shrink, but nothing joins it.
        assert gc.get_freeze_count() <= frozen
    finally:
        collector.timer.stop()
        gc.unfreeze()


def test_refreezing_frees_what_was_frozen_alive_and_is_garbage_now(qtbot):
    """A model alive at a freeze (one opened while imports ran) and in a reference cycle is
    freed when a new model replaces it."""
    collector = FreezingCollector(interval=3600)
    try:
        old_model = _Cyclic()
        gone = weakref.ref(old_model)
        gc.collect()
        gc.freeze()
        del old_model
        gc.collect()
        assert gone() is not None  # frozen: collections pass it by
        collector.refreeze_when_idle()  # a model replaced another
        collector.check()
        assert gone() is not None  # not while results are being shown
        collector.last_busy -= 10  # a quiet moment later
        collector.check()
        assert gone() is None and not collector.refreeze_pending
    finally:
        collector.timer.stop()
        gc.unfreeze()
