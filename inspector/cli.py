"""The command line: the app itself, and the train, bench and snapshot subcommands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__


def _app_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="net-inspector",
        description="Look inside a PyTorch network while it runs. "
        "Subcommands: train (train the bundled LeNet), bench (latency benchmark), "
        "snapshot (render the window to a PNG), graph (write the autograd graph).",
    )
    parser.add_argument("--version", action="version", version=f"net-inspector {__version__}")
    parser.add_argument(
        "--weights",
        type=Path,
        default=None,
        help="LeNet weights (.safetensors or a state_dict .pt); default: bundled",
    )
    parser.add_argument("--device", default="cpu", help="cpu, cuda:0, mps, ... (default: cpu)")
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
    from .app import run
    from .core.devices import available_devices
    from .core.nets import LENET_WEIGHTS

    if args.device not in available_devices():
        print(
            f"net-inspector: device {args.device!r} is not available here "
            f"(available: {', '.join(available_devices())})",
            file=sys.stderr,
        )
        return 2
    return run(weights=args.weights or LENET_WEIGHTS, device=args.device)
