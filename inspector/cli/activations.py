"""``net-inspector activations --out acts.npz``: every step of a forward pass as arrays, headless.

Module outputs and functional ops, in the order they ran, named as the activations panel names
them (``1. conv1``, ``2. relu``, ...). With ``--compare-image`` or ``--compare-weights`` the
same for B, and ``diff/<step>`` = B − A: Compare without a window. The file is a
plain ``.npz`` (no pickles), written atomically; the README lists its keys.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from inspector.cli.args import add_model_arguments, open_from_arguments, refuse
from inspector.cli.attached import add_connect_arguments
from inspector.cli.image_input import drawing_from_image


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="net-inspector activations", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--out", type=Path, required=True, help="the .npz file to write")
    add_model_arguments(parser)
    add_connect_arguments(parser)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--image", type=Path, help="a digit image as input A (PNG, JPEG, BMP)")
    source.add_argument(
        "--random", type=int, metavar="SEED", help="a seeded random input (default: seed 0)"
    )
    parser.add_argument("--compare-image", type=Path, help="B: the same net on this image")
    parser.add_argument(
        "--compare-weights", type=Path, help="B: the same input through these weights"
    )
    parser.add_argument(
        "--edit",
        action="append",
        default=[],
        metavar="STEP:ACTION",
        help="an intervention in B's forward (repeatable): STEP a number as `steps` lists it or "
        "a module name; ACTION zero, zero[CH], scale=F, scale=F[CH], set=V, set=V[CH], "
        "clamp=LO,HI or patch (A's value: needs --compare-image or --compare-weights)",
    )
    parser.add_argument(
        "--attention",
        action="store_true",
        help="also attn/<module>: each attention layer's probabilities [B, H, Q, K], in order",
    )
    return parser


def _network_input(opened, image: Path | None, seed: int | None):
    import numpy as np

    from inspector.core.model.inputs import TENSOR, make_input, random_input

    spec = opened.input
    if image is not None:
        if spec.kind == TENSOR:
            raise ValueError(f"{opened.name} does not take an image (its input is {spec.shape})")
        return make_input(spec, drawing_from_image(image))
    if seed is not None or spec.kind == TENSOR:
        return random_input(spec, seed or 0)
    return make_input(spec, np.zeros((32, 32), np.float32))  # an empty canvas


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.connect and args.edit:
        return refuse(ValueError("--edit runs the model here: it does not go with --connect"), 0)
    if args.connect:
        from inspector.cli.attached import activations

        return activations(args)
    import numpy as np
    import torch

    from inspector.cli.edits import edited_steps
    from inspector.core.feed.named import bind
    from inspector.core.feed.settle import inputs_of, settle
    from inspector.core.files.io import atomic_write
    from inspector.core.files.loading import open_model
    from inspector.core.forward.attention import attention_arrays, watching
    from inspector.core.forward.export import activation_arrays, forward_steps
    from inspector.core.model.inputs import to_tensor

    try:
        opened = open_from_arguments(args, check=False)
        device = torch.device(args.device or "cpu")
        model = opened.model.to(device)
        opened, _names = settle(opened, model, device)  # one sentence if the forward fails
        x_a = _network_input(opened, args.image, args.random)
        with watching(model, args.attention) as watch_a:
            steps_a = forward_steps(model, to_tensor(x_a, opened.input, device))
        x_b = steps_b = None
        comparing = args.compare_image is not None or args.compare_weights is not None
        if comparing or args.edit:  # B: another input or weights, or the same run edited
            x_b = x_a
            if args.compare_image is not None:
                x_b = _network_input(opened, args.compare_image, None)
            model_b = model
            if args.compare_weights is not None:
                other = open_model(
                    args.model or "lenet",
                    args.compare_weights,
                    args.trust_checkpoint,
                    args.input_shape,
                    args.input_dtype,
                )
                model_b = other.model.to(device)
                bind(model_b, inputs_of(opened))
            with watching(model_b, args.attention) as watch_b:
                if args.edit:
                    a = model if comparing else None  # what a patch takes from
                    steps_b = edited_steps(model_b, x_a, x_b, opened.input, device, args.edit, a)
                else:
                    steps_b = forward_steps(model_b, to_tensor(x_b, opened.input, device))
        arrays = activation_arrays(x_a, steps_a, x_b, steps_b)
        if args.attention:
            arrays.update(attention_arrays(watch_a.maps()))
            if steps_b is not None:
                arrays.update(attention_arrays(watch_b.maps(), "b/"))
    except Exception as exc:
        return refuse(exc, args.debug)

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)

    try:
        atomic_write(args.out, write)
    except OSError as exc:
        return refuse(exc, args.debug)
    diffs = sum(1 for k in arrays if k.startswith("diff/"))
    what = f", {diffs} differences B − A" if steps_b is not None else ""
    what += f", {len(args.edit)} edits in B" if args.edit else ""
    if args.attention:
        layers = sum(1 for k in arrays if k.startswith("attn/"))
        what += f", {layers} attention layers"
    print(f"wrote {args.out} ({len(steps_a)} steps of {opened.name}{what})")
    for said in (opened.warning, opened.note):
        if said:
            print(f"net-inspector: {said}", file=sys.stderr)
    return 0
