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
        "--input-dtype",
        help="the input's dtype: float32 (default for images), long / int64 (token ids), "
        "int32, float16, bfloat16, ... (default: inferred from the model)",
    )
    parser.add_argument(
        "--trust-checkpoint",
        action="store_true",
        help="allow checkpoints that need full unpickling (this can run code: trusted files only)",
    )
    parser.add_argument(
        "--device", default=None, help="cpu, cuda:0, mps, ... (default: cpu; the app: the last one)"
    )
    parser.add_argument("--debug", action="store_true", help="print tracebacks of errors")


def open_from_arguments(args: argparse.Namespace, check: bool = True):
    """The model the options name, checked to run once on its input (unless ``check`` is
    False), so that a model whose forward fails is refused before anything shows it. Raises
    ModelLoadError / ValueError with one sentence."""
    from ..core.engine import check_runs
    from ..core.loading import open_model

    opened = open_model(
        args.model or "lenet",
        args.weights,
        args.trust_checkpoint,
        args.input_shape,
        getattr(args, "input_dtype", None),
    )
    if check:
        device = args.device or "cpu"
        check_runs(opened, opened.model.to(device), device)
    return opened


def refuse(exc: BaseException, debug: bool) -> int:
    """Say what went wrong in one sentence on stderr (the traceback only with --debug)."""
    if debug:
        import traceback

        traceback.print_exception(exc)
    print(f"net-inspector: {exc}", file=sys.stderr)
    return 1
