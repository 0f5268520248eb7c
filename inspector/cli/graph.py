"""``net-inspector graph``: record a backward pass headless and write its graph to a file."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from inspector.cli.args import add_model_arguments, open_from_arguments, refuse

FORMATS = ("json", "dot", "svg", "png")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="net-inspector graph",
        description="Write the autograd graph of a loss (nodes, edges, the engine's order).",
    )
    add_model_arguments(parser)
    parser.add_argument("--loss", default="mse", help="mse (default), sum, ce or ce:CLASS")
    parser.add_argument("--format", choices=FORMATS, help="default: from --out's extension")
    parser.add_argument("--out", type=Path, required=True, help="the file to write")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random input")
    parser.add_argument("--output", type=int, default=0, help="which output the loss uses")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    fmt = args.format or args.out.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        print(
            f"net-inspector: {args.out.name}: say --format ({', '.join(FORMATS)})", file=sys.stderr
        )
        return 2
    import torch

    from inspector.core.feed.settle import settle
    from inspector.core.graph.backward import record_backward
    from inspector.core.graph.export import TEXT_FORMATS
    from inspector.core.graph.losses import LossSpec
    from inspector.core.model.inputs import random_input, to_tensor

    try:
        loss = LossSpec.parse(args.loss)
        opened = open_from_arguments(args, check=False)
        device = torch.device(args.device or "cpu")
        model = opened.model.to(device)
        opened, names = settle(opened, model, device)  # one sentence if the forward fails
        if not 0 <= args.output < len(names):
            listed = ", ".join(f"{i}: {name}" for i, name in enumerate(names))
            raise ValueError(
                f"--output {args.output} is out of range: {opened.name} returns "
                f"{len(names)} output{'s' if len(names) != 1 else ''} ({listed})"
            )
        x = to_tensor(random_input(opened.input, args.seed), opened.input, device)
        record, _live = record_backward(
            model,
            x,
            loss,
            with_saliency=False,
            output_index=args.output,
            run_backward=fmt in TEXT_FORMATS,  # a picture needs the graph, not the engine's order
        )
    except Exception as exc:
        return refuse(exc, args.debug)
    for said in (opened.warning, opened.note):
        if said:
            print(f"net-inspector: {said}", file=sys.stderr)
    if record.loss_note:  # NaN, infinite or exactly 0: say why
        print(f"net-inspector: {record.loss_note}", file=sys.stderr)
    try:
        _write(record, args, fmt)
    except OSError as exc:  # a full disk, a read-only folder, a folder that is a file
        reason = exc.strerror or str(exc)
        return refuse(OSError(f"could not write {args.out}: {reason}"), args.debug)
    print(f"wrote {args.out} ({len(record.graph.nodes)} nodes, loss {record.loss_value:.4f})")
    return 0


def _write(record, args: argparse.Namespace, fmt: str) -> None:
    from inspector.core.graph.export import TEXT_FORMATS, write_text_format

    if fmt in TEXT_FORMATS:
        write_text_format(record, args.out, fmt)
    else:
        from inspector.core.graph.collapse import lay_out

        view = lay_out(record.graph)
        if fmt == "svg":  # written as text, without Qt
            from inspector.core.graph.svg import write_svg

            write_svg(view.shown.graph, view.layout, args.out)
        else:
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
            from PySide6.QtWidgets import QApplication

            from inspector.gui.exports import export_graph
            from inspector.gui.graph.view import GraphScene

            app = QApplication.instance() or QApplication(["net-inspector-graph"])
            scene = GraphScene(view.shown.graph, view.layout)
            export_graph(record, scene, args.out, fmt)
            del app
