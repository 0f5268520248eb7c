"""``net-inspector [--model M] [--weights W] [--device D]``: the app's window."""

from __future__ import annotations

import argparse
import sys

from .. import __version__
from .args import add_model_arguments, open_from_arguments, refuse


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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from ..app import last_model_or_none, run, set_identity
    from ..core.devices import available_devices
    from ..gui.persistence import Persistence

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
    note = None
    opened = None
    if args.model is None and args.weights is None:  # come back to what was open last time
        opened, note = last_model_or_none()
    if opened is None:
        try:  # open the model before any window: a refusal is one sentence and an exit code
            opened = open_from_arguments(args)
        except Exception as exc:
            return refuse(exc, args.debug)
    return run(device=args.device, opened=opened, note=note)
