"""The zoo: models and files nobody here wrote, each opened with no flags through ``graph``,
``snapshot``, ``activations`` and the real window. ``make test`` runs the fast subset;
``make zoo`` (``ZOO=all``) runs every case."""

from __future__ import annotations

import os

import pytest

from tests.zoo.cases import CASES, FAST
from tests.zoo.run import CHECKS, run_case

pytest.importorskip("transformers")

NAMES = list(CASES) if os.environ.get("ZOO") == "all" else FAST


@pytest.mark.parametrize("name", NAMES)
def test_opens_with_no_flags(name, qapp):
    results = run_case(name)
    failed = {check: results[check] for check in CHECKS if results[check] is not None}
    assert not failed, failed
