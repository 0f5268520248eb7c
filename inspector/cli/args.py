"""The options every command that opens a model shares, and how a refusal is reported."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


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
    from ..core.loading import open_model

    return open_model(args.model or "lenet", args.weights, args.trust_checkpoint, args.input_shape)


def refuse(exc: BaseException, debug: bool) -> int:
    """Say what went wrong in one sentence on stderr (the traceback only with --debug)."""
    if debug:
        import traceback

        traceback.print_exception(exc)
    print(f"net-inspector: {exc}", file=sys.stderr)
    return 1
