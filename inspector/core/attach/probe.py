"""The probe inside the training process: ``inspector.attach(model)`` makes one.

A background thread serves a ROUTER socket; the training thread never touches a socket.
Requests that only read what the probe has (the module tree, the logged scalars) are answered
by that thread at once. Requests that touch the model wait in a queue that ``probe.step()``
works through, in the training thread, between two steps: they run on the model's device,
with nothing else touching the model, and without a lock the training would have to take
(the alternative, the serving thread taking a lock that the training holds between steps,
runs the model on a thread whose CUDA device, grad mode and autocast state are not the
training's). A step with nothing asked costs a counter and a deque append.

Serving is held to a share of the training's time (``BUDGET``): a request waits for the
next step once the requests served so far used up their share, so a viewer drawing cannot slow
the training by more than that, whatever it asks.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
import threading
import time
import traceback
from collections import deque
from typing import Any

import zmq

from inspector.core.attach import wire
from inspector.core.attach.codec import WireError
from inspector.core.attach.serve import ModelServer, rank_info

LOG = logging.getLogger("inspector.attach")
# The share of the training's wall time requests may use. At 0.02 a viewer drawing on a LeNet
# loop (170 steps/s, quiet 2-core Xeon) cost 5.4 % CPU and 3-8 % of the steps: the probe's own
# thread (answers, scalars, heartbeats) spends about as much again as the requests. At 0.01 the
# viewer still gets several LeNet forwards a second.
BUDGET = 0.01
CREDIT_CAP_S = 0.25  # what an idle probe saves up: a viewer's first requests go at once
SCALARS_KEPT = 100_000  # steps whose scalars a viewer connecting late still gets
PUSH_EVERY_S = 0.1  # scalars go out in batches, at most this often
REFUSED_LOG_S = 10.0  # one log line per refused address in this time


class Probe:
    """Serves one model to viewers; ``step(**scalars)`` once per training step."""

    def __init__(self, model: Any, example_input: Any = None, port: int | None = None,
                 host: str = "127.0.0.1", token: str | None = None) -> None:  # fmt: skip
        self.server = ModelServer(model, example_input)
        self.token, token_source = wire.resolve_token(token)
        self.port = wire.resolve_port(port)
        self.host = host
        self.steps = 0
        self.served = 0  # requests that ran on the model
        self.serving_cpu_s = 0.0  # the training thread's CPU time spent on them
        self.closed = False
        self._scalars: deque[tuple[int, float, dict]] = deque(maxlen=SCALARS_KEPT)
        self._pending: deque[tuple[bytes, dict]] = deque()  # model requests, oldest first
        self._outbox: deque[list] = deque()  # replies made in the training thread
        self._credit = CREDIT_CAP_S
        self._last_step = time.perf_counter()
        self._lock = threading.Lock()  # step() against close()
        self._refused: dict[str, float] = {}
        self._subscribers: dict[bytes, float] = {}
        self._context = zmq.Context(io_threads=1)
        self._zap = self._context.socket(zmq.REP)
        self._zap.bind("inproc://zeromq.zap.01")
        self._router = self._context.socket(zmq.ROUTER)
        self._router.plain_server = True
        self._router.zap_domain = b"inspector"
        self._router.sndhwm = wire.PUSH_HWM
        self._router.linger = 0
        try:
            self._router.bind(f"tcp://{host}:{self.port}")
        except zmq.ZMQError as exc:
            self._context.destroy(linger=0)
            raise OSError(
                f"net-inspector cannot listen on {host}:{self.port} ({exc}): pass port= to "
                f"attach or set {wire.PORT_ENV} to a free base port"
            ) from None
        self._stop = threading.Event()
        self._wake_r, wake_w = os.pipe()
        self._wake_w: int | None = wake_w
        os.set_blocking(self._wake_r, False)
        os.set_blocking(wake_w, False)
        self._thread = threading.Thread(target=self._serve, name="net-inspector-probe", daemon=True)
        self._thread.start()
        atexit.register(self.close)
        self._announce(token_source)

    def _announce(self, token_source: str) -> None:
        info = rank_info()
        who = (f"rank {info['rank']} of {info['world_size']}" if info["world_size"] > 1
               else self.server.opened.name)  # fmt: skip
        address = f"{self.host}:{self.port}"
        how = f"net-inspector --connect {address}"
        if token_source == "generated":
            how += f" --token {self.token}"
        else:
            how += f" (token: {'yours' if token_source == 'given' else token_source})"
        print(f"net-inspector: {who} listens on {address}; connect with: {how}",
              file=sys.stderr, flush=True)  # fmt: skip

    # -- the training thread --------------------------------------------------------------------
    def step(self, **scalars: Any) -> None:
        """Call once per training step (after the optimiser's step), with any scalars to plot:
        ``probe.step(loss=loss.item(), lr=lr)``. Runs what viewers asked for, if anything."""
        self.steps += 1
        if scalars:
            self._scalars.append((self.steps, time.time(), _detached(scalars)))
        if self._pending:
            self._serve_pending()

    def _serve_pending(self) -> None:
        now = time.perf_counter()
        self._credit = min(CREDIT_CAP_S, self._credit + BUDGET * (now - self._last_step))
        self._last_step = now
        with self._lock:
            while self._pending and self._credit > 0 and not self.closed:
                client, message = self._pending.popleft()
                started, cpu = time.perf_counter(), time.thread_time()
                ident = message.get("id")
                try:
                    value = self.server.run(client, message["op"], message.get("args") or {})
                    frames = wire.reply(ident, value)
                except Exception as exc:  # a viewer's request must never stop the training
                    LOG.debug("request failed: %s", traceback.format_exc())
                    frames = wire.reply(ident, error=_sentence(message["op"], exc))
                self._outbox.append([client, *frames])
                self.served += 1
                spent = time.perf_counter() - started
                self.serving_cpu_s += time.thread_time() - cpu
                self._credit -= spent
            if self._outbox:
                self._wake()  # the replies go out now, not at the serving thread's next look
        self._last_step = time.perf_counter()  # the time serving took is not training time

    def _wake(self) -> None:
        """Wake the serving thread (a byte down a pipe it polls: no socket in this thread)."""
        if self._wake_w is None:
            return
        with contextlib.suppress(OSError):  # full: it is awake anyway
            os.write(self._wake_w, b"x")

    def close(self) -> None:
        """Tell viewers the training finished and stop serving (also run at exit)."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
        self._stop.set()
        self._wake()
        self._thread.join(timeout=2.0)
        with self._lock:  # no step is writing to the pipe now
            if not self._thread.is_alive():
                os.close(self._wake_r)
                os.close(self._wake_w)
                self._wake_w = None
        atexit.unregister(self.close)

    # -- the serving thread ---------------------------------------------------------------------
    def _serve(self) -> None:
        poller = zmq.Poller()
        poller.register(self._router, zmq.POLLIN)
        poller.register(self._zap, zmq.POLLIN)
        poller.register(self._wake_r, zmq.POLLIN)
        beat = pushed = 0.0
        sent = 0  # scalars pushed so far (steps)
        try:
            while not self._stop.is_set():
                # Woken by a request, a reply to send (the pipe) or close; the timeout only
                # paces heartbeats and pushed scalars, and is long while nobody listens.
                events = dict(poller.poll(100 if self._subscribers else 250))
                if self._wake_r in events:
                    with contextlib.suppress(OSError):
                        os.read(self._wake_r, 4096)
                if self._zap in events:
                    self._authenticate(self._zap.recv_multipart())
                if self._router in events:
                    for _ in range(100):  # drain, but let the rest of the loop run too
                        try:
                            frames = self._router.recv_multipart(zmq.NOBLOCK, copy=False)
                        except zmq.Again:
                            break
                        self._receive(frames[0].bytes, frames[1:])
                while self._outbox:
                    self._send(self._outbox.popleft())
                now = time.monotonic()
                if now - pushed >= PUSH_EVERY_S and self._subscribers:
                    sent = self._push_scalars(sent)
                    pushed = now
                if now - beat >= wire.BEAT_S:
                    self._push({"push": "beat", "step": self.steps})
                    beat = now
            self._finish()
        finally:
            self._context.destroy(linger=200)

    def _finish(self) -> None:
        while self._outbox:
            self._send(self._outbox.popleft())
        self._push_scalars(0 if not self._scalars else self._scalars[0][0] - 1)
        ended = "The training finished"
        while self._pending:
            client, message = self._pending.popleft()
            self._send([client, *wire.reply(message.get("id"), error=f"{ended}.")])
        self._push({"push": "end", "step": self.steps, "message": f"{ended} at step {self.steps}."})
        time.sleep(0.05)  # let the I/O thread hand the last messages over

    def _send(self, frames: list) -> None:
        # A viewer that went away or cannot keep up: its messages are dropped.
        with contextlib.suppress(zmq.ZMQError):
            self._router.send_multipart(frames, zmq.NOBLOCK, copy=False)

    def _push(self, message: dict) -> None:
        now = time.monotonic()
        for client, since in list(self._subscribers.items()):
            if now - since > wire.SUBSCRIBED_S:
                del self._subscribers[client]
                continue
            self._send([client, *wire.pack(message)])

    def _push_scalars(self, sent: int) -> int:
        new = []
        for row in reversed(self._scalars):  # only the newest: never the whole history
            if row[0] <= sent:
                break
            new.append(row)
        if new:
            new.reverse()
            self._push({"push": "scalars", "rows": _rows(new)})
            sent = new[-1][0]
        return sent

    def _receive(self, client: bytes, frames: list) -> None:
        try:
            message = wire.unpack(frames)
        except WireError as exc:
            self._send([client, *wire.reply(None, error=f"Refused a message: {exc}.")])
            return
        ident = message.get("id")
        if not wire.same_token(message.get("token"), self.token):
            self._log_refusal("a request", "its token is wrong")
            self._send([client, *wire.reply(ident, error="Refused: wrong token.")])
            return
        op = message.get("op")
        if op not in wire.OPS:
            self._send([client, *wire.reply(ident, error=f"Unknown operation {op!r}.")])
            return
        if op in wire.MODEL_OPS:
            if self.closed:
                self._send([client, *wire.reply(ident, error="The training finished.")])
                return
            self._drop_older(client, op)
            self._pending.append((client, message))
            return
        try:
            value = self._quick(client, op, message.get("args") or {})
            frames = wire.reply(ident, value)
        except Exception as exc:
            frames = wire.reply(ident, error=_sentence(op, exc))
        self._send([client, *frames])

    def _quick(self, client: bytes, op: str, args: dict) -> Any:
        if op == "hello":
            return self.server.hello(self.steps)
        if op == "configure":
            self.server.configure(client, dict(args.get("changes") or {}))
            return None
        if op == "subscribe":
            self._subscribers[client] = time.monotonic()
            return {"step": self.steps}
        since = int(args.get("since", 0))
        return {"rows": _rows([s for s in list(self._scalars) if s[0] > since]),
                "step": self.steps}  # fmt: skip

    def _drop_older(self, client: bytes, op: str) -> None:
        """A newer forward (or parameters) request from the same viewer replaces one not
        started: a stroke faster than the training's steps never builds a backlog."""
        if op not in ("forward", "parameters", "health"):
            return
        for item in list(self._pending):
            if item[0] == client and item[1].get("op") == op:
                self._pending.remove(item)
                reply = wire.reply(item[1].get("id"), error="Superseded by a newer request.")
                self._send([client, *reply])

    def _authenticate(self, frames: list[bytes]) -> None:
        """ZAP (ZeroMQ's authentication protocol): a connection whose PLAIN password is not
        the token is refused before any request of it is read."""
        version, request_id, _domain, address = frames[:4]
        mechanism, credentials = frames[5], frames[6:]
        ok = (mechanism == b"PLAIN" and len(credentials) == 2
              and wire.same_token(credentials[1].decode(errors="replace"), self.token))  # fmt: skip
        if not ok:
            self._log_refusal(f"a viewer from {address.decode(errors='replace')}", "wrong token")
        code, text = (b"200", b"OK") if ok else (b"400", b"wrong token")
        self._zap.send_multipart([version, request_id, code, text, wire.USER if ok else b"", b""])

    def _log_refusal(self, who: str, why: str) -> None:
        now = time.monotonic()
        if now - self._refused.get(who, -1e9) >= REFUSED_LOG_S:
            self._refused[who] = now
            LOG.warning("net-inspector: refused %s on port %d: %s", who, self.port, why)


def _detached(scalars: dict[str, Any]) -> dict[str, Any]:
    """Scalars as they are now; a tensor is detached (keeping it would keep its graph) and read
    on the serving thread."""
    out = {}
    for key, value in scalars.items():
        detach = getattr(value, "detach", None)
        out[key] = detach() if detach is not None else value
    return out


def _rows(rows: list[tuple[int, float, dict]]) -> list:
    out = []
    for step, when, values in rows:
        plain = {}
        for key, value in values.items():
            try:
                plain[str(key)] = float(value)
            except (TypeError, ValueError, RuntimeError):
                continue  # not a number (a tensor of many values, a string): not plotted
        out.append([step, when, plain])
    return out


def _sentence(op: str, exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"The {op} request failed: {type(exc).__name__}" + (f": {text}" if text else "")
