"""The shipped weights reach the accuracy their card claims."""

import json
from pathlib import Path

import numpy as np
import pytest

from inspector.core.files.loading import bundled_lenet
from inspector.core.model.nets import LENET_CARD
from inspector.core.training import mnist
from inspector.core.training.recipe import evaluate

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "mnist_test_1000.npz"
FULL = Path(__file__).resolve().parents[2].parent / "shared" / "mnist"


def test_sample_accuracy_agrees_with_the_card():
    """The card's claim, checked against the weights on the committed sample (1,000 images:
    a 99.46 % net misses about 5, so the sample's accuracy is within 1.5 % of the claim)."""
    card = json.loads(LENET_CARD.read_text())
    data = np.load(SAMPLE)
    accuracy = evaluate(bundled_lenet().model, data["images"], data["labels"])
    assert abs(accuracy - card["test_accuracy"]) < 0.015


@pytest.mark.skipif(not FULL.exists(), reason="the full MNIST set is not beside the project")
def test_card_names_the_data_it_was_trained_on():
    """The checksums on the card are those of the data files beside the project."""
    card = json.loads(LENET_CARD.read_text())
    assert mnist.checksums(FULL) == card["data_md5"]


@pytest.mark.skipif(not FULL.exists(), reason="the full MNIST set is not beside the project")
def test_accuracy_on_full_test_set():
    images, labels = mnist.load_split(FULL, "test")
    assert len(images) == 10_000
    accuracy = evaluate(bundled_lenet().model, images, labels)
    assert accuracy >= 0.99
    card = json.loads(LENET_CARD.read_text())
    assert accuracy == pytest.approx(card["test_accuracy"], abs=1e-4)
