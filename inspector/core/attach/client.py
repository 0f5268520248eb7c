"""The viewer's end of the wire: one DEALER socket to a probe, used by one thread.

Every failure is an ``AttachError`` whose ``str()`` is one sentence: nothing listening, the
token refused, the training finished or gone (said as soon as its end message arrives or its
connection closes, or after ``wire.GONE_S`` without a heartbeat).
"""

from __future__ import annotations

import itertools
import os
import time
from typing import Any

import zmq
from zmq.utils.monitor import recv_monitor_message

from inspector.core.attach import wire
from inspector.core.attach.codec import WireError

CONNECT_S = 3.0  # no TCP connection within this: nobody listens there
HELLO_S = 15.0  # a busy training's probe thread may take seconds to shake hands
REQUEST_S = 60.0  # a request not answered within this: the training is not reaching a step
RENEW_S = 2.0  # how often the subscription to pushed statistics is renewed
_EVENTS = (
    zmq.EVENT_CONNECTED
    | zmq.EVENT_HANDSHAKE_SUCCEEDED
    | zmq.EVENT_HANDSHAKE_FAILED_AUTH
    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_DISCONNECTED
)


class AttachError(RuntimeError):
    """A connection that cannot go on; ``str()`` is one sentence."""

    one_sentence = True  # the window shows it as it is


class TrainingGone(AttachError):
    """The training finished, died or stopped answering."""


class Refused(AttachError):
    """The probe refused the token."""


class RequestFailed(AttachError):
    """The probe answered with an error (one sentence); the connection is fine."""


class Client:
    """Connects to the probe at ``address`` (``HOST:PORT``) with ``token`` (else
    ``NET_INSPECTOR_TOKEN``) and says hello; raises ``AttachError`` if it cannot."""

    def __init__(self, address: str, token: str | None = None, subscribe: bool = True) -> None:
        self.host, self.port = wire.parse_address(address)
        self.address = f"{self.host}:{self.port}"
        token = token or os.environ.get(wire.TOKEN_ENV)
        if not token:
            raise Refused(
                f"No token for {self.address}: pass --token (the one the training printed) "
                f"or set {wire.TOKEN_ENV}."
            )
        self.token = token
        self._ids = itertools.count(1)
        self._context = zmq.Context()
        self._socket = self._context.socket(zmq.DEALER)
        self._socket.plain_username = wire.USER
        self._socket.plain_password = token.encode()
        self._socket.linger = 0
        self._monitor = self._socket.get_monitor_socket(_EVENTS)
        self._socket.connect(f"tcp://{self.host}:{self.port}")
        self._started = time.monotonic()
        self.reached = False  # the TCP connection is made
        self.connected = False  # ... and the token accepted
        self.subscribed = False
        self.heard = time.monotonic()
        self._renewed = 0.0
        self.gone: str | None = None  # the sentence saying why the training is gone
        self.scalars: dict[int, dict[str, float]] = {}  # step -> values
        self.step = 0  # the training's latest step heard of
        try:
            self.info: dict[str, Any] = self.call("hello", timeout_s=HELLO_S)
            self.step = int(self.info.get("step", 0))
            if subscribe:
                self.call("subscribe")
                self.subscribed = True
                self.fill_scalars()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if not self._context.closed:
            self._socket.disable_monitor()
            self._context.destroy(linger=0)

    # -- requests -------------------------------------------------------------------------------
    def call(self, op: str, timeout_s: float = REQUEST_S, cancel=None, **args: Any) -> Any:
        """Send one request and wait for its answer (pushes that arrive meanwhile are kept).
        ``cancel`` (anything with ``is_set()``) stops the wait with ``capture.Cancelled``."""
        if self.gone:
            raise TrainingGone(self.gone)
        ident = next(self._ids)
        self._socket.send_multipart(wire.request(op, ident, self.token, **args), copy=False)
        deadline = time.monotonic() + timeout_s
        while True:
            answer = self._pump(0.05, ident)
            if answer is not None:
                if not answer.get("ok"):
                    error = str(answer.get("error") or "The probe refused the request.")
                    if error.startswith("Refused: wrong token"):
                        raise Refused(f"The probe at {self.address} refused the token.")
                    if error.startswith("The training finished"):
                        self.gone = error
                        raise TrainingGone(error)
                    raise RequestFailed(error)
                return answer.get("value")
            if cancel is not None and cancel.is_set():
                from inspector.core.forward.capture import Cancelled

                raise Cancelled
            if time.monotonic() > deadline:
                raise AttachError(
                    f"The training at {self.address} did not answer {op} within "
                    f"{timeout_s:.0f} s: is it still calling probe.step()?"
                )

    def pump(self, timeout_s: float = 0.0) -> None:
        """Take in what the probe pushed (statistics, heartbeats); raises ``TrainingGone``."""
        self._pump(timeout_s, None)

    def fill_scalars(self) -> None:
        """Ask for the scalars of the steps not heard of (a late start, dropped pushes)."""
        since = max(self.scalars, default=0)
        value = self.call("scalars", since=since)
        self._take_rows(value.get("rows") or [])

    def _pump(self, timeout_s: float, ident: int | None) -> dict | None:
        poller = zmq.Poller()
        poller.register(self._socket, zmq.POLLIN)
        poller.register(self._monitor, zmq.POLLIN)
        events = dict(poller.poll(int(timeout_s * 1000)))
        if self._monitor in events:
            self._on_monitor()
        answer = None
        while self._socket.poll(0):
            frames = self._socket.recv_multipart(copy=False)
            try:
                message = wire.unpack(frames)
            except WireError as exc:
                raise AttachError(
                    f"{self.address} sent a message that is not ours ({exc})."
                ) from None
            self.heard = time.monotonic()
            if "push" in message:
                self._on_push(message)
            elif ident is not None and message.get("id") == ident:
                answer = message
        self._check(answer is not None)
        return answer

    def _on_monitor(self) -> None:
        while self._monitor.poll(0):
            event = recv_monitor_message(self._monitor)["event"]
            if event == zmq.EVENT_CONNECTED:
                self.reached = True
            elif event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                self.connected, self.heard = True, time.monotonic()
            elif event in (zmq.EVENT_HANDSHAKE_FAILED_AUTH, zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL):
                raise Refused(
                    f"The probe at {self.address} refused the token: use the one the training "
                    f"printed (--token or {wire.TOKEN_ENV})."
                )
            elif event == zmq.EVENT_DISCONNECTED and self.connected:
                self.gone = f"The training at {self.address} is gone (its connection closed)."

    def _on_push(self, message: dict) -> None:
        kind = message.get("push")
        self.step = max(self.step, int(message.get("step", 0) or 0))
        if kind == "scalars":
            self._take_rows(message.get("rows") or [])
        elif kind == "end":
            self.gone = str(message.get("message") or "The training finished.")

    def _take_rows(self, rows: list) -> None:
        for step, _when, values in rows:
            self.scalars[int(step)] = {str(k): float(v) for k, v in dict(values).items()}
            self.step = max(self.step, int(step))

    def _check(self, answered: bool) -> None:
        now = time.monotonic()
        if self.gone:
            raise TrainingGone(self.gone)
        if not self.reached and not answered and now - self._started > CONNECT_S:
            raise AttachError(
                f"Nothing answers at {self.address}: is the training running with "
                "inspector.attach (and, for another machine, the ssh -L tunnel open)?"
            )
        if self.subscribed and now - self.heard > wire.GONE_S:
            self.gone = (
                f"The training at {self.address} stopped answering "
                f"(nothing heard for {wire.GONE_S:g} s)."
            )
            raise TrainingGone(self.gone)
        if self.subscribed and now - self._renewed > RENEW_S:
            self._renewed = now
            ident = next(self._ids)
            self._socket.send_multipart(wire.request("subscribe", ident, self.token))
