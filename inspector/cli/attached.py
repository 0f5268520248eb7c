"""``--connect HOST:PORT``: the headless commands on a model that trains in another process.

``activations --connect`` writes the same ``.npz`` as for a local model, computed by the
probe in the training process (``inspector.attach``) between two of its steps. A refused
token, nothing listening, or the training ending is one sentence and exit status 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_connect_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--connect",
        metavar="HOST:PORT",
        help="a model training elsewhere: the address its inspector.attach printed",
    )
    parser.add_argument(
        "--token", help="the token the training printed (default: $NET_INSPECTOR_TOKEN)"
    )


def say(message: str) -> int:
    print(f"net-inspector: {message}", file=sys.stderr)
    return 1


def activations(args: argparse.Namespace) -> int:
    """``activations --connect``: every step of one forward in the training process."""
    import numpy as np

    from inspector.cli.image_input import drawing_from_image
    from inspector.core.attach.client import AttachError, Client
    from inspector.core.files.io import atomic_write
    from inspector.core.forward.export import activation_arrays
    from inspector.core.forward.results import ForwardRequest
    from inspector.core.model.inputs import TENSOR, make_input, random_input

    if args.compare_weights is not None:
        return say("--compare-weights needs a local model; leave out --connect")
    if args.model is not None or args.weights is not None:
        return say("--connect reads the training's own model; leave out --model and --weights")
    client = None
    try:
        client = Client(args.connect, args.token, subscribe=True)
        spec, example = client.info["input"], client.info.get("example")

        def network_input(image: Path | None, seed: int | None):
            if image is not None:
                if spec.kind == TENSOR:
                    raise ValueError(
                        f"the model does not take an image (its input is {spec.shape})"
                    )
                return make_input(spec, drawing_from_image(image))
            if seed is not None:
                return random_input(spec, seed)
            return make_input(spec, np.zeros((32, 32), np.float32), example)

        def steps(x):
            request = ForwardRequest(0, np.zeros((32, 32), np.float32), x)
            value = client.call("steps", request=request)
            return value["input"], [(str(n), a) for n, a in value["steps"]]

        x_a, steps_a = steps(network_input(args.image, args.random))
        x_b = steps_b = None
        if args.compare_image is not None:
            x_b, steps_b = steps(network_input(args.compare_image, None))
        arrays = activation_arrays(x_a, steps_a, x_b, steps_b)
    except (AttachError, ValueError, OSError) as exc:
        return say(str(exc))
    finally:
        if client is not None:
            client.close()

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)

    try:
        atomic_write(args.out, write)
    except OSError as exc:
        return say(f"could not write {args.out}: {exc}")
    info = client.info
    where = f"rank {info['rank']} on {info['host']}" if info["world_size"] > 1 else info["host"]
    print(
        f"wrote {args.out} ({len(steps_a)} steps of {info['name']} at step {client.step}, {where})"
    )
    return 0


def snapshot(args: argparse.Namespace) -> int:
    """``snapshot --connect``: the window connected to the training, drawn on and shot."""
    if args.model is not None or args.weights is not None or args.session is not None:
        return say("--connect shows the training's model: leave out --model, --weights, --session")
    from PySide6.QtCore import QDeadlineTimer
    from PySide6.QtWidgets import QApplication

    from inspector.app import MainWindow
    from inspector.cli.shooting import DEADLINE_MS, private_settings, shoot
    from inspector.gui.theme import follow_system_theme

    private_settings()
    app = QApplication.instance() or QApplication(["net-inspector-snapshot"])
    follow_system_theme(app)
    window = MainWindow(device=args.device or "cpu")
    try:
        refused: list[str] = []
        window.compute.loadFailed.connect(lambda message, _details: refused.append(message))
        deadline = QDeadlineTimer(DEADLINE_MS)
        if window.connection.connect_to(args.connect, args.token) is None:
            return say(window.statusBar().currentMessage().lstrip("⚠ "))
        while not window.state.connection and not refused and not deadline.hasExpired():
            app.processEvents()
        if not window.state.connection:
            return say(refused[0] if refused else f"{args.connect} did not answer in time")
        window.compute.last_result = None  # the local model's: wait for the training's own
        return shoot(app, window, args)
    finally:
        window.close()
