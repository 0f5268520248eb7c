"""Opening a model file once in a child process first, so that a file which crashes the
interpreter (a TorchScript archive whose storage record is shorter than its tensors say, a
native op that aborts, a build that eats all memory) costs one sentence, not the app.

``probe(spec, ...)`` runs ``python -c`` with this checkout importable: the child limits its own
address space (``resource.RLIMIT_AS``, Linux and macOS) to most of the memory available now,
opens the model with ``loading.open_model`` exactly as asked and runs it once on its input
(``engine.check_runs``). A signal, a timeout or running out of memory there raises
``ModelLoadError``; a Python exception does not (opening in this process then raises it, with
its details). What is probed (``loading._probe_first``): TorchScript, ``.pt2`` and pickled
whole models, whoever opens them; a session's or the remembered model's ``.py``. Built-ins and
a ``.py`` the user opens are not: they cost nothing extra. The child's side is
``probe_child``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from inspector.core.files.checkpoints import ModelLoadError
from inspector.core.files.io import file_digest
from inspector.core.runtime.budget import available_memory

PROBE_TIMEOUT_S = 180.0  # importing torch alone takes seconds on a busy machine
OUT_OF_MEMORY = 75  # the child's exit status when it ran out of its address space
_ROOT = str(Path(__file__).resolve().parents[3])  # the folder holding the inspector package


def memory_limit() -> int:
    """The child's address-space limit: most of what is available, at least 2 GiB (importing
    torch maps about 1 GiB)."""
    return max(2 << 30, available_memory() * 3 // 4)


def probe(
    spec: str,
    weights: Path | str | None = None,
    trust: bool = False,
    input_shape: str | tuple[int, ...] | None = None,
    input_dtype: str | None = None,
    timeout: float = PROBE_TIMEOUT_S,
    inputs: tuple[str, ...] = (),
) -> None:
    """Open ``spec`` (as ``loading.open_model`` would) and run it once in a child process;
    ``ModelLoadError`` (one sentence) if that crashes, hangs or runs out of memory."""
    request = {
        "spec": spec,
        "weights": None if weights is None else str(weights),
        "trust": bool(trust),
        "input_shape": list(input_shape) if isinstance(input_shape, tuple) else input_shape,
        "input_dtype": input_dtype,
        "inputs": list(inputs),
        "memory": memory_limit(),
    }
    tried = _tried_key(spec, weights, request)
    if tried is not None and tried in _RAN_FINE:
        return
    code = "from inspector.core.files.probe_child import main; main()"
    paths = [_ROOT, os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    env.pop("QT_QPA_PLATFORM", None)
    name = Path(spec.strip().rpartition(":")[0] or spec.strip()).name
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, json.dumps(request)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=timeout,
            env=env,
        )
    except subprocess.TimeoutExpired:
        raise ModelLoadError(
            f"{name} is refused: opening and running it once did not finish in {timeout:.0f} s"
        ) from None
    except OSError as exc:  # no process could be started: open it here, as before
        from inspector.logs import LOG

        LOG.warning("could not start a process to try %s first: %s", name, exc)
        return
    if done.returncode < 0 or done.returncode > 255:  # a signal; on Windows, an NTSTATUS
        how = (
            _signal_name(-done.returncode)
            if done.returncode < 0
            else f"exit status {done.returncode:#x}"
        )
        raise ModelLoadError(
            f"{name} is refused: it crashed the process that tried it ({how}), "
            "so it was not opened here"
        )
    if done.returncode == OUT_OF_MEMORY:
        raise ModelLoadError(
            f"{name} is refused: opening and running it once needed more than "
            f"{request['memory'] / 2**30:.1f} GiB of memory"
        )
    if done.returncode == 0 and tried is not None:
        _RAN_FINE.add(tried)


# Requests whose files, byte for byte, opened and ran in a child: the same again is not
# tried again in this process (a child costs seconds: torch's import, then the model).
_RAN_FINE: set[tuple] = set()


def _tried_key(spec: str, weights, request: dict) -> tuple | None:
    """The request with its files' digests, or None where the files do not say everything
    that runs: a ``.py`` may import other files, which can change under the same digest."""
    path = Path(spec.strip())
    if not path.is_file() or path.suffix == ".py":
        return None
    try:
        digests = (file_digest(path), None if weights is None else file_digest(weights))
    except OSError:
        return None
    asked = {k: v for k, v in request.items() if k != "memory"}
    return json.dumps(asked, sort_keys=True), digests


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
