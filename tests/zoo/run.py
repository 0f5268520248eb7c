"""Run zoo cases through ``graph``, ``snapshot``, ``activations`` and the real window.

    python -m tests.zoo.run               every case, each in its own process: a table
    python -m tests.zoo.run CASE [CASE…]  these cases (in this process), one JSON line each

A case passes a check when the command exits 0 with a finite result (the window: the model
opened and a forward reached the panels). A failure keeps its one-sentence message.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CHECKS = ("graph", "snapshot", "activations", "window")


def _cli(argv: list[str]) -> tuple[int, str]:
    import contextlib
    import io

    from inspector.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(argv)
    return code, err.getvalue().strip().splitlines()[-1] if err.getvalue().strip() else ""


def check_graph(args: list[str], folder: Path) -> str | None:
    out = folder / "graph.json"
    code, err = _cli(["graph", *args, "--format", "json", "--out", str(out)])
    if code != 0:
        return err or f"exit {code}"
    loss = json.loads(out.read_text())["loss"]["value"]
    return None if math.isfinite(loss) else f"loss {loss}"


def check_snapshot(args: list[str], folder: Path) -> str | None:
    out = folder / "shot.png"
    code, err = _cli(["snapshot", *args, "--out", str(out), "--size", "1000x700"])
    if code != 0:
        return err or f"exit {code}"
    return None if out.stat().st_size > 10_000 else "an empty picture"


def check_activations(args: list[str], folder: Path) -> str | None:
    out = folder / "acts.npz"
    code, err = _cli(["activations", *args, "--out", str(out)])
    if code != 0:
        return err or f"exit {code}"
    with np.load(out) as data:
        steps = [str(s) for s in data["steps"]]
        if not steps:
            return "no steps"
        for name in steps:
            value = data[name]
            if np.iscomplexobj(value):
                value = np.abs(value)
            if value.dtype.kind == "f" and np.isnan(value).any():
                return f"NaN in {name}"
    return None


def check_window(args: list[str], folder: Path) -> str | None:
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from inspector.app import MainWindow
    from inspector.core.state import ModelRef

    QApplication.instance() or QApplication(["zoo"])
    spec = args[args.index("--model") + 1]
    weights = args[args.index("--weights") + 1] if "--weights" in args else None
    window = MainWindow()
    outcome: dict[str, str | None] = {}
    loop = QEventLoop()

    def done(key: str, value: str | None) -> None:
        outcome.setdefault(key, value)
        loop.quit()

    compute = window.compute
    compute.loadFailed.connect(lambda sentence, _d: done("open", sentence))
    compute.modelLoaded.connect(lambda _r: outcome.setdefault("open", None))
    compute.failed.connect(lambda sentence, _d: done("forward", sentence))
    compute.forwardReady.connect(lambda r: done("forward", None if r.steps else "no steps"))
    try:
        window.open_model(ModelRef(spec, weights=weights, trust=True))
        QTimer.singleShot(120_000, lambda: done("open", "no answer in 120 s"))
        while "forward" not in outcome and not outcome.get("open"):
            loop.exec()
        return outcome.get("open") or outcome["forward"]
    finally:
        window.close()
        window.deleteLater()


def run_case(name: str) -> dict[str, str | None]:
    from tests.zoo.cases import CASES

    results: dict[str, str | None] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        try:
            args = CASES[name](folder)
        except Exception as error:  # the zoo's own file could not be written here
            return {check: f"could not build: {error}" for check in CHECKS}
        for check in CHECKS:
            try:
                results[check] = globals()[f"check_{check}"](args, folder)
            except Exception as error:
                results[check] = f"{type(error).__name__}: {error}".splitlines()[0]
    return results


def table(rows: dict[str, dict[str, str | None]], seconds: dict[str, float]) -> str:
    lines = ["| case | " + " | ".join(CHECKS) + " | s |", "|---" * (len(CHECKS) + 2) + "|"]
    for name, result in rows.items():
        cells = ["ok" if result.get(c) is None else "FAIL" for c in CHECKS]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {seconds[name]:.0f} |")
    passed = sum(all(r.get(c) is None for c in CHECKS) for r in rows.values())
    lines.append(f"\n{passed} of {len(rows)} cases pass every check.")
    failures = []
    for name, result in rows.items():
        failed = [c for c in CHECKS if result.get(c) is not None]
        if failed:  # one line per case: the checks are usually refused for the same reason
            failures.append(f"- {name} ({', '.join(failed)}): {result[failed[0]]}")
    return "\n".join(lines + (["", *failures] if failures else []))


def main(argv: list[str]) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if argv:
        for name in argv:
            print(json.dumps({"case": name, **run_case(name)}), flush=True)
        return 0
    from tests.zoo.cases import CASES

    rows, seconds = {}, {}
    for name in CASES:
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "tests.zoo.run", name],
            capture_output=True,
            text=True,
            timeout=600,
        )
        seconds[name] = time.perf_counter() - start
        lines = [line for line in proc.stdout.splitlines() if line.startswith('{"case"')]
        if lines:
            rows[name] = {k: v for k, v in json.loads(lines[-1]).items() if k != "case"}
        else:
            tail = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
            rows[name] = {check: f"crashed: {tail}" for check in CHECKS}
        print(name, "ok" if all(v is None for v in rows[name].values()) else rows[name], flush=True)
    print(table(rows, seconds))
    return 0 if all(all(v is None for v in r.values()) for r in rows.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
