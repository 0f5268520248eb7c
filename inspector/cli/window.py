"""``net-inspector [--model M] [--weights W] [--device D] [SESSION]``: the app's window.

A model named here is the user's consent to run its code (remembered, ``gui.trust``). A session
(``--session FILE`` or the only argument) that names code the user has not agreed to run is
refused before anything runs, unless ``--trust-session`` is given.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from inspector.cli.args import (
    add_model_arguments,
    add_session_arguments,
    open_from_arguments,
    open_session_from_arguments,
    refuse,
)
from inspector.cli.attached import add_connect_arguments
from inspector.version import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="net-inspector",
        description="Look inside a PyTorch network while it runs. "
        "Subcommands: train (train the bundled LeNet), bench (latency benchmark), "
        "snapshot (render the window to a PNG), graph (write the autograd graph).",
    )
    parser.add_argument("--version", action="version", version=f"net-inspector {__version__}")
    add_model_arguments(parser)
    parser.add_argument(
        "--reset-settings",
        action="store_true",
        help="forget the saved window layout, last model and settings",
    )
    add_session_arguments(parser)
    add_connect_arguments(parser)
    parser.add_argument(
        "session_file", nargs="?", type=Path, metavar="SESSION", help="a session to open"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.session is not None and args.session_file is not None:
        parser.error("name the session once: --session FILE or FILE")
    session = args.session or args.session_file
    if session is not None and (args.model is not None or args.weights is not None):
        parser.error("a session names its own model: leave out --model and --weights")
    if args.connect and (session is not None or args.model is not None or args.weights):
        parser.error(
            "--connect shows the training's model: leave out --model, --weights and SESSION"
        )
    from inspector.core.runtime.process import prepare_window_process

    prepare_window_process()  # before a model is opened here (a remembered one, --model)
    from inspector.app import remembered_model, run, set_identity
    from inspector.core.runtime.devices import available_devices
    from inspector.core.state import ModelRef
    from inspector.gui.session import trust
    from inspector.gui.session.persistence import Persistence

    set_identity()
    if args.reset_settings:
        from PySide6.QtCore import QSettings

        QSettings().clear()
    if args.device is None:  # the device used last time, where this machine still has it
        last = Persistence.last_device()
        args.device = last if last in available_devices() else "cpu"
    if args.device not in available_devices():
        print(
            f"net-inspector: device {args.device!r} is not available here "
            f"(available: {', '.join(available_devices())})",
            file=sys.stderr,
        )
        return 2
    if session is not None:  # checked, consented and opened before any window
        try:
            saved, opened, risks = open_session_from_arguments(
                session, args.trust_session, trust.consented()
            )
        except Exception as exc:
            return refuse(exc, args.debug)
        trust.remember(risks)  # agreed to: already remembered, or --trust-session
        return run(device=args.device, opened=opened, session=(session, saved))
    if args.connect:  # the bundled LeNet stays the local model behind the connection
        return run(device=args.device, connect=(args.connect, args.token))
    note = None
    opened = None
    ask = None
    if args.model is None and args.weights is None:  # come back to what was open last time
        opened, note, ask = remembered_model()
    else:  # the user names the model: consent to run its code
        weights = None if args.weights is None else str(args.weights)
        trust.consent_to(ModelRef(args.model or "lenet", weights, None, args.trust_checkpoint))
    if opened is None:
        try:  # open the model before any window: a refusal is one sentence and an exit code
            opened = open_from_arguments(args)
        except Exception as exc:
            return refuse(exc, args.debug)
    return run(device=args.device, opened=opened, note=note, ask=ask)
