"""The command line: ``net-inspector [options]`` opens the window; subcommands do the rest
headless. One module per command; they share ``args``."""

from __future__ import annotations

import importlib
import sys

# subcommand -> the module whose ``main(argv)`` runs it
COMMANDS = {
    "train": "inspector.cli.train",
    "bench": "inspector.cli.bench",
    "graph": "inspector.cli.graph",
    "snapshot": "inspector.cli.snapshot",
    "activations": "inspector.cli.activations",
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] and argv[0] in COMMANDS:
        return importlib.import_module(COMMANDS[argv[0]]).main(argv[1:])
    from inspector.cli.window import main as window_main

    return window_main(argv)
