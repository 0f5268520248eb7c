"""A monkey: random clicks, strokes, keys, dock moves, model and device switches and backward
steps on the real window, with a fixed seed. Nothing may raise (pytest-qt fails the test on
any exception in a slot), no thread may be left running, and memory must come back.

Short in CI; ``MONKEY_SECONDS=60 make test ARGS='-k monkey'`` runs the full minute.
"""

import gc
import os
import random
import time

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QDockWidget, QPushButton

from inspector.core.state import ModelRef
from inspector.testing import stroke

SECONDS = float(os.environ.get("MONKEY_SECONDS", "6"))
# Buttons that open a modal file dialog would wait for a person: the monkey leaves them alone.
MODAL = {"loadImageButton", "saveWeightsButton", "dataFolderButton"}  # file dialogs


def rss_mb() -> float | None:
    """Resident memory now (Linux); None where /proc is missing (the check is then skipped)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return None


def test_monkey(qtbot, window, zoo_files):
    """Random clicks, strokes, keys, docks, models, backward passes: nothing may fail. Every
    model here opens and runs, so any failure message or error dialog is a bug."""
    rng = random.Random(1234)
    failures: list[str] = []
    window.compute.failed.connect(lambda message, _details: failures.append(message))
    window.compute.loadFailed.connect(lambda message, _details: failures.append(message))
    models = [
        "lenet",
        f"{zoo_files['nets']}:make_mlp",
        f"{zoo_files['nets']}:ResNetish",
        str(zoo_files["torchscript"]),
    ]
    window.state.train_data = ""  # Train, if clicked, learns from the small bundled sample
    docks = list(window.findChildren(QDockWidget))
    areas = [
        Qt.DockWidgetArea.LeftDockWidgetArea,
        Qt.DockWidgetArea.RightDockWidgetArea,
        Qt.DockWidgetArea.BottomDockWidgetArea,
    ]
    keys = [
        (Qt.Key.Key_Space, Qt.KeyboardModifier.NoModifier),
        (Qt.Key.Key_Space, Qt.KeyboardModifier.ShiftModifier),
        (Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier),
        (Qt.Key.Key_Delete, Qt.KeyboardModifier.NoModifier),
        (Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier),
        (Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier),
        (Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier),
    ]

    def click_a_button():
        buttons = [
            b
            for b in window.findChildren(QPushButton)
            if b.isVisible() and b.isEnabled() and b.objectName() not in MODAL
        ]
        if buttons:
            button = rng.choice(buttons)
            qtbot.mouseClick(button, Qt.MouseButton.LeftButton)

    def draw():
        canvas = window.canvas_panel.canvas
        if canvas.isEnabled():
            path = [(rng.random(), rng.random()) for _ in range(rng.randint(2, 5))]
            stroke(canvas, path, steps=rng.randint(2, 8))
            if rng.random() < 0.3:  # and erase a bit
                point = QPoint(
                    int(rng.random() * canvas.width()), int(rng.random() * canvas.height())
                )
                qtbot.mouseClick(canvas, Qt.MouseButton.RightButton, pos=point)

    def press_a_key():
        key, modifiers = rng.choice(keys)
        qtbot.keyClick(window.graph.view if rng.random() < 0.5 else window, key, modifiers)

    def move_a_dock():
        dock = rng.choice(docks)
        if rng.random() < 0.5:
            dock.setFloating(not dock.isFloating())
        else:
            dock.setFloating(False)
            window.addDockWidget(rng.choice(areas), dock)

    def switch_model():
        window.open_model(ModelRef(rng.choice(models), None, None, False))

    def switch_device():
        combo = window.device_combo
        combo.setCurrentIndex(rng.randrange(combo.count()))

    def backward():
        if rng.random() < 0.5:
            window.run_backward()
        for _ in range(rng.randint(1, 10)):
            window.graph.step()

    def select_a_module():
        paths = list(window.tree.tree_model._by_path)
        window.tree.select_path(rng.choice(paths))

    def change_the_loss():
        window.loss.loss_combo.setCurrentIndex(rng.randrange(window.loss.loss_combo.count()))
        window.loss.class_spin.setValue(rng.randrange(10))

    actions = [
        click_a_button,
        draw,
        draw,
        press_a_key,
        move_a_dock,
        switch_model,
        switch_device,
        backward,
        select_a_module,
        change_the_loss,
    ]

    def play(seconds: float) -> int:
        done = 0
        stop = time.monotonic() + seconds
        while time.monotonic() < stop:
            rng.choice(actions)()
            qtbot.wait(rng.randint(1, 30))
            done += 1
        return done

    for action in actions:  # warm-up: every action once, so caches exist before we measure
        action()
        qtbot.wait(50)
    qtbot.wait(500)
    gc.collect()
    before = rss_mb()
    done = play(SECONDS)
    # Let the last model load and the worker go quiet, then measure again.
    window.open_model(ModelRef("lenet", None, None, False))
    qtbot.waitUntil(lambda: window.windowTitle() == "Net Inspector — LeNet (MNIST)", timeout=30_000)
    qtbot.wait(500)
    dialogs = [
        w.objectName()
        for w in QApplication.topLevelWidgets()
        if w.isVisible() and w.objectName() in ("loadErrorDialog", "errorDialog")
    ]
    assert not failures and not dialogs, f"failures: {failures}; dialogs: {dialogs}"
    gc.collect()
    after = rss_mb()
    assert done > 20
    assert window.compute.runner.isRunning()
    if before is not None:
        assert after <= before * 1.10, f"memory grew from {before:.0f} MB to {after:.0f} MB"
