"""Net Inspector. ``import inspector`` stays cheap: torch, zmq and Qt load when first used.

``inspector.attach(model)`` serves a training model to the window and the command line
(``core.attach``); ``inspector.show(model, example_input)`` opens the window on a live model.
"""

from __future__ import annotations

from inspector.version import __version__

__all__ = ["__version__", "attach", "show"]


def attach(
    model: object,
    example_input: object = None,
    port: int | None = None,
    host: str = "127.0.0.1",
    token: str | None = None,
) -> object:
    """Serve ``model`` to Net Inspector viewers while it trains; returns the probe. Call
    ``probe.step(loss=..., ...)`` once per training step and ``probe.close()`` at the end.

    ``port``: else ``NET_INSPECTOR_PORT`` + ``LOCAL_RANK``, else 5870 + ``LOCAL_RANK``;
    ``host``: the address to listen on (this machine only, by default: reach it from
    elsewhere with ``ssh -L``); ``token``: else ``NET_INSPECTOR_TOKEN``, else one generated and
    printed. ``example_input`` says what the model takes when the model itself does not."""
    from inspector.core.attach.probe import Probe

    return Probe(model, example_input, port, host, token)


def show(model: object, example_input: object = None, device: str | None = None) -> object:
    """Open the window on ``model`` (a live object) and return it. With a Qt event loop
    already running (a notebook's ``%gui qt``) it returns at once; otherwise it runs the
    window until it is closed."""
    from inspector.gui.live import show_live

    return show_live(model, example_input, device)
