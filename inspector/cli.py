"""The command line: the app itself, and the train, bench and snapshot subcommands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every command that opens a model shares."""
    parser.add_argument(
        "--model",
        default=None,
        help="lenet (the default), resnet50, transformer, path/to/file.py:Name, a TorchScript "
        ".pt, or a torch.export .pt2",
    )
    parser.add_argument("--weights", type=Path, help="a state_dict (.pt, .pth, .safetensors)")
    parser.add_argument("--input-shape", help="e.g. 1,3,64,64 (default: inferred from the model)")
    parser.add_argument(
        "--trust-checkpoint",
        action="store_true",
        help="allow checkpoints that need full unpickling (this can run code: trusted files only)",
    )
    parser.add_argument(
        "--device", default=None, help="cpu, cuda:0, mps, ... (default: cpu; the app: the last one)"
    )
    parser.add_argument("--debug", action="store_true", help="print tracebacks of errors")


def open_from_arguments(args: argparse.Namespace):
    """The model the options name (raises ModelLoadError / ValueError with one sentence)."""
    from .core.loading import open_model

    return open_model(args.model or "lenet", args.weights, args.trust_checkpoint, args.input_shape)


def refuse(exc: BaseException, debug: bool) -> int:
    """Say what went wrong in one sentence on stderr (the traceback only with --debug)."""
    if debug:
        import traceback

        traceback.print_exception(exc)
    print(f"net-inspector: {exc}", file=sys.stderr)
    return 1


def _app_parser() -> argparse.ArgumentParser:
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
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["train"]:
        from .core.train import main as train_main

        return train_main(argv[1:])
    if argv[:1] == ["bench"]:
        from .bench import main as bench_main

        return bench_main(argv[1:])
    if argv[:1] == ["graph"]:
        from .graph_cli import main as graph_main

        return graph_main(argv[1:])
    if argv[:1] == ["snapshot"]:
        from .snapshot import main as snapshot_main

        return snapshot_main(argv[1:])
    args = _app_parser().parse_args(argv)
    from .app import last_model_or_none, run, set_identity
    from .core.devices import available_devices
    from .gui.persistence import Persistence

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
