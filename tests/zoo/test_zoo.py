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


# The zoo's models are other people's code (torch.ao's quantizers, transformers' configs): what
# they warn about is theirs, and is not what this test checks.
@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")
@pytest.mark.parametrize("name", NAMES)
def test_opens_with_no_flags(name, qapp):
    results = run_case(name)
    failed = {check: results[check] for check in CHECKS if results[check] is not None}
    assert not failed, failed
