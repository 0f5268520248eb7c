"""``net-inspector snapshot --out shot.png``: render the whole window offscreen to a PNG.

The README's screenshot is made with it. Without ``--image`` it draws a scripted "7" on the
canvas with real mouse events, as a person would. ``--session FILE`` renders a saved session
instead; one that names code to run (a ``.py`` model, a checkpoint that needs unpickling) is
refused unless ``--trust-session`` is given. The PNG is written atomically.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from inspector.cli.args import (
    add_model_arguments,
    add_session_arguments,
    open_from_arguments,
    open_session_from_arguments,
    refuse,
)
from inspector.cli.attached import add_connect_arguments
from inspector.cli.shooting import private_settings, shoot


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="net-inspector snapshot", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--out", type=Path, required=True, help="PNG file to write")
    parser.add_argument("--image", type=Path, help="a digit image to load instead of drawing")
    parser.add_argument(
        "--select", default=None, help="module to select (default conv1; a session's own)"
    )
    add_model_arguments(parser)
    add_session_arguments(parser)
    parser.add_argument("--size", default="1500x940", help="window size, WxH")
    parser.add_argument(
        "--backward-step",
        type=int,
        default=None,
        metavar="N",
        help="run Backward and step N nodes (shows the autograd graph tab)",
    )
    add_connect_arguments(parser)
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if args.connect:
        from inspector.cli.attached import snapshot

        return snapshot(args)
    from PySide6.QtWidgets import QApplication

    from inspector.app import MainWindow
    from inspector.gui.theme import follow_system_theme

    saved = None
    try:
        if args.session is not None:  # consent on the command line only: --trust-session
            saved, opened, _risks = open_session_from_arguments(args.session, args.trust_session)
        else:
            opened = open_from_arguments(args)
    except Exception as exc:
        return refuse(exc, args.debug)
    if args.select is None and saved is None:
        args.select = "conv1"
    private_settings()  # the picture is of a first start, and leaves the user's settings alone
    app = QApplication.instance() or QApplication(["net-inspector-snapshot"])
    follow_system_theme(app)  # as the app looks when run
    window = MainWindow(device=args.device or "cpu", opened=opened)
    try:
        return shoot(app, window, args, saved)
    finally:
        window.close()
