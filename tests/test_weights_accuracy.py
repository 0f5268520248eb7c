"""The shipped weights reach the accuracy their card claims."""

import json
from pathlib import Path

import numpy as np
import pytest

from inspector.core import mnist
from inspector.core.nets import LENET_CARD, load_lenet
from inspector.core.train import evaluate

SAMPLE = Path(__file__).parent / "data" / "mnist_test_1000.npz"
FULL = Path(__file__).resolve().parents[1].parent / "shared" / "mnist"


def test_card_describes_the_training():
    card = json.loads(LENET_CARD.read_text())
    assert card["test_accuracy"] >= 0.99
    assert card["seed"] == 0 and card["epochs"] > 0
    assert card["data_md5"]["t10k-images-idx3-ubyte"] == "2646ac647ad5339dbf082846283269ea"


def test_accuracy_on_committed_sample():
    data = np.load(SAMPLE)
    accuracy = evaluate(load_lenet().model, data["images"], data["labels"])
    assert accuracy >= 0.99


@pytest.mark.skipif(not FULL.exists(), reason="the full MNIST set is not beside the project")
def test_accuracy_on_full_test_set():
    images, labels = mnist.load_split(FULL, "test")
    assert len(images) == 10_000
    accuracy = evaluate(load_lenet().model, images, labels)
    assert accuracy >= 0.99
    card = json.loads(LENET_CARD.read_text())
    assert accuracy == pytest.approx(card["test_accuracy"], abs=1e-4)
