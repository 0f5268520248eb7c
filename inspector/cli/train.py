"""``net-inspector train --data ../shared/mnist``: retrain the bundled LeNet."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    from inspector.core.training.bundled import main as train_main

    return train_main(argv)
