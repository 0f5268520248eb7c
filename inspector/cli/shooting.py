"""Rendering the window for ``snapshot``: settings of its own, the drawing, the selection and the
step, then the PNG, written only if every panel got what it waits for."""

from __future__ import annotations

import sys

from inspector.testing import stroke

DEADLINE_MS = 30_000  # for everything together: a model this slow is refused, not drawn


def private_settings() -> None:
    """QSettings in a temporary folder: no remembered layout or model goes into the picture,
    and closing the window saves nothing over the user's own."""
    import tempfile

    from PySide6.QtCore import QSettings

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    folder = tempfile.mkdtemp(prefix="net-inspector-snapshot-")
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, folder)


def shoot(app, window, args, saved=None) -> int:
    """Draw, select, step; write the PNG only if every panel got what it waits for, else say
    what failed in one sentence (exit 1): never an empty picture with exit 0."""
    from PySide6.QtCore import QDeadlineTimer

    from inspector.core.forward.settings import MAX_KEPT_STEPS

    failures: list[str] = []
    window.compute.failed.connect(lambda message, _details: failures.append(message))
    window.compute.loadFailed.connect(lambda message, _details: failures.append(message))
    deadline = QDeadlineTimer(DEADLINE_MS)

    def wait(done) -> bool:
        while not done() and not failures and not deadline.hasExpired():
            app.processEvents()
        return done()

    def refuse_with(what: str) -> int:
        reason = failures[0] if failures else f"{what} did not arrive in {DEADLINE_MS // 1000} s"
        print(f"net-inspector: {reason}", file=sys.stderr)
        return 1

    width, height = (int(v) for v in args.size.lower().split("x"))
    window.resize(width, height)
    window.show()
    app.processEvents()
    if saved is not None:
        restored = []
        window.persistence.sessionRestored.connect(restored.append)
        window.persistence.apply_session(args.session, saved)
        while not restored and not failures and not deadline.hasExpired():
            app.processEvents()
    elif args.image is not None:
        loaded = []
        window.canvas_panel.imageLoaded.connect(loaded.append)
        if window.canvas_panel.load_image(args.image):
            while not loaded and not deadline.hasExpired():
                app.processEvents()
        if not loaded or not loaded[0]:
            print(f"net-inspector: {window.statusBar().currentMessage()}", file=sys.stderr)
            return 1
    elif window.canvas_panel.canvas.isEnabled():
        stroke(window.canvas_panel.canvas)
    # The first result says whether the model is big (its activations then follow the
    # selection): select only after it, then wait for a result focused on the selection.
    if not wait(lambda: window.last_result is not None):
        return refuse_with("the forward pass")
    if args.select and args.select not in {
        n.path for n in window.tree.tree_model._by_path.values()
    }:
        args.select = ""  # the default conv1 only exists in the LeNet
    if not args.select:  # the window opens on the first layer with weights: keep that
        args.select = window.state.selected_module or ""
    if args.select:
        window.tree.select_path(args.select)
    big = window.last_result.total_steps > MAX_KEPT_STEPS
    focus = args.select if big else ""
    target = window.compute.latest_request_id

    def settled() -> bool:
        result, params = window.last_result, window.weights.result
        done = result is not None and result.request_id >= target and result.focus == focus
        return done and (not args.select or (params is not None and params.module == args.select))

    if not wait(settled):
        return refuse_with("the forward pass")
    if args.backward_step is not None:
        window.run_backward()
        if not wait(lambda: window.graph.result is not None or window.loss.record is not None):
            return refuse_with("the backward pass")
        for _ in range(args.backward_step):
            window.graph.step()
        window.canvas_panel.saliency_check.setChecked(True)
    for _ in range(5):
        app.processEvents()
    if failures:  # e.g. a session's loss that does not fit its model: no picture of that
        return refuse_with("")
    from inspector.gui.exports import save_image

    try:
        save_image(window.grab(), args.out)
    except OSError as exc:
        print(f"net-inspector: could not write {args.out}: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {args.out}")
    return 0
