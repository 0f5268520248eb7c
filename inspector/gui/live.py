"""``inspector.show(model, example_input)``: the window on a live model object, in-process."""

from __future__ import annotations

from typing import Any


def show_live(model: Any, example_input: Any = None, device: str | None = None):
    """Open the window on ``model`` (it stays on its device unless ``device`` says) and return
    it. With a QApplication already made (a notebook's ``%gui qt``, an app), whose loop runs
    the window, this returns at once; otherwise the window runs until closed. The window's
    worker runs the model: do not train it meanwhile (``inspector.attach`` is for that)."""
    from PySide6.QtWidgets import QApplication

    from inspector.core.attach.describe import example_array, live_opened, model_device
    from inspector.core.runtime.process import prepare_window_process

    opened = live_opened(model, example_array(example_input))
    device = device or str(model_device(opened.model))
    # An application made already (IPython's %gui qt, the caller's own) runs its loop.
    running = QApplication.instance() is not None
    if not running:
        prepare_window_process()
    from inspector.app import MainWindow, set_identity

    set_identity()
    app = QApplication.instance() or QApplication(["net-inspector"])
    window = MainWindow(device=device, opened=opened)
    example = example_array(example_input)
    if example is not None and opened.input.kind == "tensor":
        window.state.raw_input = example
    window.show()
    if not running:
        app.exec()
    return window
