"""``net-inspector bench``: the benchmarks (``inspector.benchmarks``), figures printed.

With no flag: input-to-screen latency of the real window, driven offscreen by a scripted stroke
(``benchmarks.latency``). The flags pick another benchmark instead."""

from __future__ import annotations

import argparse
import json
import sys


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="net-inspector bench",
        description="input-to-screen latency of the real window, driven offscreen",
    )
    parser.add_argument("--events", type=int, default=320, help="mouse moves in the stroke")
    parser.add_argument("--interval-ms", type=float, default=8.0, help="time between events")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--model", default="lenet", help="lenet (default), resnet50, or a file")
    parser.add_argument(
        "--graph", action="store_true", help="time the autograd graph view on three models instead"
    )
    parser.add_argument(
        "--all",
        action="store_true",
        help="every speed figure in one table: LeNet ×3, ResNet-50, a ResNet-18 file, export",
    )
    parser.add_argument(
        "--train",
        action="store_true",
        help="training throughput in the window (while drawing) vs headless, in one run",
    )
    parser.add_argument(
        "--epoch", action="store_true", help="with --train: also one epoch of Adam, its accuracy"
    )
    parser.add_argument(
        "--manners",
        action="store_true",
        help="how long closing mid-backward or mid-epoch and asking for an autosave take",
    )
    parser.add_argument(
        "--attention",
        action="store_true",
        help="capture with every attention layer vs a bare forward, a ViT-Small-shaped ViT",
    )
    parser.add_argument(
        "--attach",
        action="store_true",
        help="what inspector.attach costs a training loop: none, probe, a viewer drawing",
    )
    parser.add_argument(
        "--edits",
        action="store_true",
        help="interventions: painting on a LeNet conv1 channel, one patch and the sweep on a "
        "12-layer GPT-2-shaped model",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from inspector.benchmarks.machine import describe, headline
    from inspector.core.runtime.process import prepare_window_process

    prepare_window_process()  # this process shows the window, as the app does

    def show(report, text: str) -> int:
        print(json.dumps(report, indent=2) if args.json else text)
        return 0

    if args.attach:
        from inspector.benchmarks.attach import format_report, run

        report = run()
        return show(report, headline(report["machine"]) + "\n" + format_report(report))
    if args.edits:
        from inspector.benchmarks.edits import format_report, run

        report = run()
        report["machine"] = describe()
        return show(report, headline(report["machine"]) + "\n" + format_report(report))
    if args.manners:
        from inspector.benchmarks.manners import format_report, run

        report = run()
        report["machine"] = describe()
        return show(report, headline(report["machine"]) + "\n" + format_report(report))
    if args.attention:
        from inspector.benchmarks.attention import format_report, run

        report = run()
        return show(report, headline(report["machine"]) + "\n" + format_report(report))
    if args.train:
        from inspector.benchmarks.training import format_report, run

        report = run(epoch=args.epoch)
        report["machine"] = describe()
        return show(report, headline(report["machine"]) + "\n" + format_report(report))
    if args.all:
        from inspector.benchmarks.suite import run, table

        report = run()
        return show(report, table(report))
    if args.graph:
        from inspector.benchmarks.graph import format_rows, run

        rows = run()
        return show(rows, format_rows(rows))
    if args.model != "lenet":
        # A model that cannot run is refused in one sentence before any window (exit 1).
        from inspector.core.engine import check_runs
        from inspector.core.files.loading import open_model

        try:
            check_runs(open_model(args.model))
        except Exception as exc:
            print(f"net-inspector: {exc}", file=sys.stderr)
            return 1
    from inspector.benchmarks.common import BenchError
    from inspector.benchmarks.latency import format_report, run

    try:
        report = run(args.events, args.interval_ms, args.model)
    except BenchError as exc:
        print(f"net-inspector: {exc}", file=sys.stderr)
        return 1
    report["machine"] = describe()
    return show(report, headline(report["machine"]) + "\n" + format_report(report))


if __name__ == "__main__":
    sys.exit(main())
