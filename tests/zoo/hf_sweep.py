"""Sweep transformers' model types: each built from a small config (``tests/zoo/hf_small.py``)
and opened with no flags through ``graph`` and ``activations``, each in its own process.

    python -m tests.zoo.hf_sweep [--every N] [--offset O] [--limit K] [--timeout S]
    python -m tests.zoo.hf_sweep TYPE [TYPE…] --one     these types in this process, JSON lines

The sample is every N-th type of the sorted list from O (the issue's: every fifth from 0).
A type that does not build is left out; one whose own forward fails at that size with the
reference inputs (its ``dummy_inputs`` where they name forward arguments, else the inputs its
``main_input_name`` and config describe) is counted apart as skipped. The open rate is over the
rest. A step's ``-inf`` (an attention mask) passes; NaN fails.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
SMALL = HERE / "hf_small.py"

CLASSES = [  # first match wins: (class, pattern over the failure's sentence)
    ("timeout", r"^timeout"),
    ("crash", r"^crashed"),
    ("NaN", r"NaN"),
    ("backward", r"backward|training mode|requires_grad"),
    ("capture", r"escape|activation_export|vmap"),
    (
        "missing input",
        r"must specify|have to specify|missing \d+ required|required positional"
        r"|needs? the input|is None|NoneType|You must|is required",
    ),
    ("token range", r"index out of range|out of bounds|indices"),
    ("shape", r"shape|size|dimension|expected|mismatch|channels|must match"),
]


LACKS_INPUT = r"missing \d+ required|must specify|have to specify|is required"


def failure_class(sentence: str) -> str:
    sentence = sentence.split("; choose the input")[0]  # the complaint, not the advice
    for name, pattern in CLASSES:
        if re.search(pattern, sentence, re.IGNORECASE):
            return name
    return "other"


def _reference_inputs(model) -> dict:
    """What the model's own forward is tried with to tell a type broken at this size."""
    import torch

    params = inspect.signature(model.forward).parameters
    config = model.config
    subs = [getattr(config, n, None) for n in ("vision_config", "text_config", "audio_config")]
    configs = [c for c in subs if c is not None and not isinstance(c, dict)] + [config]

    def get(name, default):
        for c in configs:
            value = getattr(c, name, None)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        return default

    feed = {}
    try:
        dummy = model.dummy_inputs
    except Exception:
        dummy = {}
    for name, value in (dummy or {}).items():
        if name in params and isinstance(value, torch.Tensor):
            feed[name] = value
    main = getattr(model, "main_input_name", "input_ids")
    main = main[0] if isinstance(main, (list, tuple)) else main  # OneFormer names two
    required = [n for n, p in params.items() if p.default is p.empty and p.kind < p.VAR_KEYWORD]
    if main not in params and required:  # a vision tower's main_input_name may be no argument
        main = required[0]
    vocab = min(get("vocab_size", 99), 99)
    if main not in feed:
        if main == "pixel_values":
            size = get("image_size", 64)
            feed[main] = torch.randn(1, get("num_channels", 3), size, size)
        elif main == "input_values":
            feed[main] = torch.randn(1, 16000)
        elif main == "input_features":
            feed[main] = torch.randn(
                1, get("num_mel_bins", 80), 2 * get("max_source_positions", 1500)
            )
        else:
            feed[main] = torch.randint(3, vocab, (1, 8))
    if getattr(config, "is_encoder_decoder", False) and "decoder_input_ids" in params:
        feed.setdefault("decoder_input_ids", torch.ones(1, 8, dtype=torch.long))
    return feed


def run_one(model_type: str) -> dict:
    """Build, try the model's own forward, then ``graph`` and ``activations`` with no flags."""
    import torch

    from tests.zoo.hf_small import build
    from tests.zoo.run import check_activations, check_graph

    warnings.filterwarnings("ignore")
    row: dict = {"type": model_type}
    try:
        model = build(model_type)
    except Exception as error:
        return {**row, "built": False, "why": f"{type(error).__name__}: {error}"[:200]}
    row["built"], row["class"], row["own"] = True, type(model).__name__, None
    args = ["--model", f"{SMALL}:{model_type}"]
    with tempfile.TemporaryDirectory() as tmp:
        for name, check in (("graph", check_graph), ("activations", check_activations)):
            try:
                row[name] = check(args, Path(tmp))
            except Exception as error:
                row[name] = f"{type(error).__name__}: {error}".splitlines()[0]
    if row["graph"] or row["activations"]:  # tried only then: it decides a skip alone
        try:
            with torch.no_grad():
                model(**_reference_inputs(model))
        except Exception as error:
            row["own"] = f"{type(error).__name__}: {error}".splitlines()[0][:200]
    return row


def sample(every: int, offset: int, limit: int | None) -> list[str]:
    from transformers import CONFIG_MAPPING

    types = sorted(CONFIG_MAPPING.keys())[offset::every]
    return types[:limit] if limit else types


def _in_child(model_type: str, timeout: float) -> dict:
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "tests.zoo.hf_sweep", "--one", model_type],
            capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return {"type": model_type, "built": True, "graph": f"timeout after {timeout:.0f} s"}
    lines = [line for line in proc.stdout.splitlines() if line.startswith('{"type"')]
    if lines:
        return json.loads(lines[-1])
    tail = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
    return {"type": model_type, "built": True, "graph": f"crashed: {tail}"}


def report(rows: list[dict], seconds: float) -> str:
    built = [r for r in rows if r.get("built")]
    opened = [r for r in built if r.get("graph") is None and r.get("activations") is None]
    # a reference that lacks an input says nothing of the model: not a skip
    skipped = [r for r in built if r not in opened and r.get("own")
               and not re.search(LACKS_INPUT, r["own"], re.IGNORECASE)]  # fmt: skip
    counted = [r for r in built if r not in skipped]
    lines = ["| type | class | own forward | graph | activations |", "|---|---|---|---|---|"]
    for r in built:
        cells = ["ok" if r.get(c) is None else "FAIL" for c in ("own", "graph", "activations")]
        lines.append(f"| {r['type']} | {r.get('class', '')} | " + " | ".join(cells) + " |")
    failures = [r for r in counted if r not in opened]
    classes = Counter(failure_class(r.get("graph") or r.get("activations") or "") for r in failures)
    rate = 100 * len(opened) / max(1, len(counted))
    lines += [
        "",
        f"{len(rows)} types sampled, {len(built)} built, {len(skipped)} skipped (own forward "
        f"fails, app fails too), {sum(1 for r in opened if r.get('own'))} opened although the "
        f"reference inputs failed.",
        f"Open rate: {len(opened)} of {len(counted)} ({rate:.0f} %) in {seconds:.0f} s.",
        "Failure classes: " + ", ".join(f"{k} {v}" for k, v in classes.most_common()),
        "",
    ]
    for r in failures:
        sentence = r.get("graph") or r.get("activations")
        lines.append(f"- {r['type']} [{failure_class(sentence)}]: {sentence[:240]}")
    for r in skipped:
        lines.append(f"- skipped {r['type']}: own forward: {r['own'][:160]}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.zoo.hf_sweep")
    parser.add_argument("types", nargs="*")
    parser.add_argument("--every", type=int, default=5)
    parser.add_argument("--offset", type=int, default=0)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--one", action="store_true", help="run the types in this process")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if args.one:
        for model_type in args.types:
            print(json.dumps(run_one(model_type)), flush=True)
        return 0
    types = args.types or sample(args.every, args.offset, args.limit)
    start, rows = time.perf_counter(), []
    for model_type in types:
        row = _in_child(model_type, args.timeout)
        rows.append(row)
        state = "ok" if row.get("graph") is None and row.get("activations") is None else "FAIL"
        print(model_type, state if row.get("built") else "does not build", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    print(report(rows, time.perf_counter() - start))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
