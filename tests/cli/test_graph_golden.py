"""``net-inspector graph`` output against golden files, as torchinfo and torchview do: a change
in the graph, its labels or the engine's order shows as a diff of tests/golden/ in review.

Regenerate after an intended change with ``make test ARGS="--update-goldens -k golden"``."""

import json
from pathlib import Path

import pytest

from inspector.cli import main
from tests.conftest import ZOO

GOLDEN = Path(__file__).resolve().parents[1] / "golden"

CASES = {
    "lenet_mse": ["--model", "lenet", "--loss", "mse"],
    "lenet_ce3": ["--model", "lenet", "--loss", "ce:3"],
    "resnetish_sum": ["--model", f"{ZOO / 'nets.py'}:ResNetish", "--loss", "sum"],
}


def _compare(path: Path, written: str, update: bool) -> None:
    if update:
        path.write_text(written)
        return
    assert path.exists(), f"no golden file {path.name}: run with --update-goldens"
    assert written == path.read_text(), f"{path.name} changed: run with --update-goldens"


@pytest.mark.parametrize("name", sorted(CASES))
def test_graph_json_matches_the_golden_file(tmp_path, name, update_goldens, capsys):
    out = tmp_path / f"{name}.json"
    assert main(["graph", *CASES[name], "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    # The loss value depends on float rounding of the machine (and, for the zoo's untrained
    # nets, on nothing we keep): the structure is the golden part.
    loss = data["loss"].pop("value")
    assert loss == loss and loss != float("inf")  # finite
    _compare(GOLDEN / f"{name}.json", json.dumps(data, indent=1) + "\n", update_goldens)


@pytest.mark.parametrize("name", sorted(CASES))
def test_graph_dot_matches_the_golden_file(tmp_path, name, update_goldens):
    out = tmp_path / f"{name}.dot"
    assert main(["graph", *CASES[name], "--out", str(out)]) == 0
    _compare(GOLDEN / f"{name}.dot", out.read_text(), update_goldens)
