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
        "--input",
        action="append",
        default=[],
        metavar="NAME=SHAPE[:DTYPE]",
        help="one input of a model with several, by the forward's argument name (a dict's key as "
        "batch.image=1,1,28,28), e.g. --input mask=1,16:bool; repeat for each",
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


def add_session_arguments(parser: argparse.ArgumentParser) -> None:
    """``--session FILE`` and ``--trust-session``."""
    parser.add_argument("--session", type=Path, help="a saved session (.netinspector) to open")
    parser.add_argument(
        "--trust-session",
        action="store_true",
        help="allow the session to run the code it names (a .py model, a checkpoint that needs "
        "unpickling): trusted files only",
    )


class SessionRefused(Exception):
    """A session that would run code the user has not agreed to; ``str()`` is one sentence."""


def open_session_from_arguments(path: Path, trust_session: bool, consented=frozenset()):
    """``(saved, opened, risks)``: the session at ``path`` read and checked completely, its
    model opened with the session's weights in it, and the files that run code. Refused with
    ``SessionRefused`` before anything is imported or unpickled unless each such file is in
    ``consented`` ((path, sha256) pairs) or ``trust_session`` is given; other failures raise
    ``SessionError`` / ``ModelLoadError`` (one sentence)."""
    from inspector.core.files.consent import code_risks, not_consented
    from inspector.core.files.loading import open_model
    from inspector.core.files.session import load_session, model_to_open, restore_weights

    path = Path(path)
    saved = load_session(path)
    target = model_to_open(saved)
    risks = code_risks(target.spec, target.weights, target.trust)
    pending = not_consented(risks, consented)
    if pending and not trust_session:
        files = "; ".join(risk.text for risk in pending)
        raise SessionRefused(
            f"refused {path.name}: opening it would run code ({files}); "
            "pass --trust-session to allow that"
        )
    opened = open_model(
        target.spec,
        target.weights,
        target.trust,
        target.input_shape,
        target.input_dtype,
        probe=True,  # from someone else: a file that crashes a process crashes a child
        inputs=target.inputs,
    )
    if saved.weights:
        restore_weights(opened.model, saved, path.name)
    return saved, opened, risks


def open_from_arguments(args: argparse.Namespace, check: bool = True):
    """The model the options name, checked to run once on its input (unless ``check`` is
    False), so that a model whose forward fails is refused before anything shows it. Raises
    ModelLoadError / ValueError with one sentence. Where the inputs as first read do not run,
    another reading that does is kept (``core.feed.settle``)."""
    from inspector.core.feed.settle import settle
    from inspector.core.files.loading import open_model

    opened = open_model(
        args.model or "lenet",
        args.weights,
        args.trust_checkpoint,
        args.input_shape,
        getattr(args, "input_dtype", None),
        getattr(args, "input", None) or (),
    )
    if check:
        device = args.device or "cpu"
        opened, _names = settle(opened, opened.model.to(device), device)
    return opened


def refuse(exc: BaseException, debug: bool) -> int:
    """Say what went wrong in one sentence on stderr (the traceback only with --debug)."""
    if debug:
        import traceback

        traceback.print_exception(exc)
    print(f"net-inspector: {exc}", file=sys.stderr)
    return 1
