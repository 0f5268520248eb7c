"""``net-inspector train --data ../shared/mnist`` (also ``python -m inspector.train``):
retrain the bundled LeNet with ``core.training.recipe``."""

from __future__ import annotations

import argparse
from pathlib import Path

from inspector.core.model.nets import LENET_WEIGHTS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="net-inspector train", description="retrain the bundled LeNet on MNIST"
    )
    parser.add_argument("--data", type=Path, default=Path("../shared/mnist"), help="IDX folder")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=LENET_WEIGHTS)
    args = parser.parse_args(argv)
    from inspector.cli.args import refuse
    from inspector.core.training.recipe import train

    try:
        card = train(
            args.data,
            epochs=args.epochs,
            seed=args.seed,
            out=args.out,
            card=args.out.with_suffix(".json"),
        )
    except (OSError, ValueError) as exc:  # the data folder, or writing the weights
        return refuse(exc, debug=False)
    print(f"test accuracy {card['test_accuracy']:.2%}; wrote {args.out}")
    return 0
