"""What both ends agree on: the operations, the messages, where a probe listens, the token.

A request is ``[header, *buffers]`` on the probe's ROUTER socket (the viewer's DEALER): the
header is ``codec`` JSON of ``{"op", "id", "token", "args"}``. The reply carries the same ``id``
with ``ok`` and ``value`` or ``error`` (one sentence). A viewer that sent ``subscribe`` also
gets pushed messages ``{"push": ...}``: ``scalars`` (the ``probe.step`` values), ``beat``
(twice a second, so it hears within 2 s that the training died) and ``end``.

Pushes go out on the same ROUTER socket, not a PUB socket: a PUB needs a second port per rank,
which breaks ``NET_INSPECTOR_PORT + LOCAL_RANK`` and needs a second ``ssh -L``. A ROUTER has
what the PUB was for: each peer has its own send high-water mark, past which messages to it are
dropped (never queued without end, never blocking the sender), and messages to a peer that
went away are discarded.
"""

from __future__ import annotations

import hmac
import os
import secrets
from typing import Any

from inspector.core.attach.codec import WireError, decode, encode

# The operations a probe answers; anything else is refused. The first group reads what the
# probe already has (its serving thread answers at once); the second touches the model and
# runs in the training thread, between two steps.
QUICK_OPS = frozenset({"hello", "configure", "scalars", "subscribe"})
MODEL_OPS = frozenset({"forward", "steps", "parameters", "backward", "saved_value", "health"})
OPS = QUICK_OPS | MODEL_OPS

DEFAULT_BASE_PORT = 5870  # + LOCAL_RANK, where neither port= nor NET_INSPECTOR_PORT says
PORT_ENV, TOKEN_ENV = "NET_INSPECTOR_PORT", "NET_INSPECTOR_TOKEN"
USER = b"inspector"  # the PLAIN user name; the token is its password
BEAT_S = 0.5  # the probe's heartbeat to subscribed viewers
SUBSCRIBED_S = 10.0  # a subscription lapses unless renewed within this (viewers renew each 2 s)
PUSH_HWM = 64  # pushes queued for one viewer before the newest are dropped
# Silence this long (a hung machine, a cut tunnel): the training stopped answering. Its end
# and its death are said at once: the end message, or its connection closing.
GONE_S = 5.0


def resolve_port(port: int | None, environ: dict | None = None) -> int:
    """``port``, else ``NET_INSPECTOR_PORT`` + ``LOCAL_RANK``, else 5870 + ``LOCAL_RANK``."""
    env = os.environ if environ is None else environ
    if port is not None:
        return int(port)
    rank = int(env.get("LOCAL_RANK", "0") or 0)
    base = env.get(PORT_ENV)
    try:
        return (int(base) if base else DEFAULT_BASE_PORT) + rank
    except ValueError:
        raise ValueError(f"{PORT_ENV}={base!r} is not a port number") from None


def resolve_token(token: str | None, environ: dict | None = None) -> tuple[str, str]:
    """The token and where it came from: ``token``, else ``NET_INSPECTOR_TOKEN``, else a new
    random one (which the probe prints)."""
    env = os.environ if environ is None else environ
    if token:
        return str(token), "given"
    if env.get(TOKEN_ENV):
        return env[TOKEN_ENV], TOKEN_ENV
    return secrets.token_urlsafe(16), "generated"


def same_token(given: Any, expected: str) -> bool:
    return isinstance(given, str) and hmac.compare_digest(given.encode(), expected.encode())


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (or ``PORT``: this machine) → (host, port); ValueError in one sentence."""
    host, _, port = str(text).strip().rpartition(":")
    try:
        number = int(port)
    except ValueError:
        raise ValueError(f"{text!r} is not HOST:PORT (e.g. 127.0.0.1:5870)") from None
    if not 0 < number < 65536:
        raise ValueError(f"{text!r}: the port must be between 1 and 65535")
    return (host.strip("[]") or "127.0.0.1"), number


def pack(message: dict) -> list:
    header, buffers = encode(message)
    return [header, *buffers]


def unpack(frames: list) -> dict:
    if not frames:
        raise WireError("an empty message")
    value = decode(frames[0], frames[1:])
    if not isinstance(value, dict):
        raise WireError("a message that is not a request")
    return value


def request(op: str, ident: int, token: str, **args: Any) -> list:
    return pack({"op": op, "id": ident, "token": token, "args": args})


def reply(ident: Any, value: Any = None, error: str | None = None) -> list:
    if error is not None:
        return pack({"id": ident, "ok": False, "error": error})
    return pack({"id": ident, "ok": True, "value": value})
