"""Which files would run code if a model were opened, in words, and whether the user agreed.

A model the user opens themselves (``--model``, File > Open) is consent for its files. Anything
else — a session from someone else, the model remembered from last time — is checked first:

    risks = code_risks(spec, weights, trust)          # nothing is imported or unpickled
    pending = not_consented(risks, consented)         # consented: set of (path, sha256)
    if pending and not ask_user([r.text for r in pending]):   # default No
        return                                         # nothing changed
    consented |= consent_for(pending)

``Risk.digest`` is the file's sha256 when it was checked, so a remembered file that has changed
since is asked about again.

What counts: a ``.py`` model always runs its code (and whatever it imports); so does a
TorchScript archive or a ``.pt2`` (their graphs are programs: TorchScript's ``__setstate__``
runs while it loads, and either can call operators that read and write files); a checkpoint
that needs full unpickling (any failure of the ``weights_only`` load that every load starts
with) runs code only if opened with ``trust`` (without it it is refused, so it is no risk).
Built-in models, safetensors and ``weights_only``-loadable checkpoints run nothing and give no
risk. A file that does not exist gives none either (opening it fails).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from inspector.core.files.checkpoints import ModelLoadError, needs_unpickling
from inspector.core.files.io import file_digest
from inspector.core.files.pt2_scan import pt2_code_parts

__all__ = ["Risk", "code_risks", "consent_for", "file_digest", "not_consented"]

RUNS_PYTHON = "python"
UNPICKLES = "pickle"
PT2_CODE = "pt2"
TORCHSCRIPT = "torchscript"
# What a program in a model file can do, said in every question about one.
CAN_DO = "it can run code, read and write files"


@dataclass(frozen=True)
class Risk:
    """One file that would run code: ``text`` says so in words, naming the absolute path."""

    path: Path  # absolute
    digest: str  # sha256 of the file when it was checked
    kind: str  # "python", "pickle" or "pt2"
    text: str

    @property
    def key(self) -> tuple[str, str]:
        """What a consent set holds for this file."""
        return (str(self.path), self.digest)


def code_risks(spec: str, weights: Path | str | None = None, trust: bool = False) -> list[Risk]:
    """Each file that opening ``spec`` with ``weights`` (as ``loading.open_model(spec, weights,
    trust)`` would) runs code from, in words. Nothing is imported, and nothing is unpickled
    except by ``weights_only`` loads, which run no code."""
    from inspector.core.files.loading import BUILTIN, _is_torchscript, python_spec

    key = spec.strip()
    risks: list[Risk] = []
    if key.lower() in BUILTIN:
        return risks  # built-ins load their weights with trust=False: never unpickled
    python = python_spec(key)
    if python is not None:
        path = Path(python[0])
        if path.is_file():
            risks.append(_risk(path, RUNS_PYTHON, f"runs the Python code in {{}} ({CAN_DO})"))
    else:
        path = Path(key)
        if path.is_file() and path.suffix != ".py":
            if path.suffix == ".pt2":
                pickled = " with pickled parts" if trust and _pt2_runs_code(path) else ""
                text = f"runs the torch.export program{pickled} in {{}} ({CAN_DO})"
                risks.append(_risk(path, PT2_CODE, text))
            elif _is_torchscript(path):
                text = f"runs the TorchScript program in {{}} ({CAN_DO})"
                risks.append(_risk(path, TORCHSCRIPT, text))
            elif trust and needs_unpickling(path):
                risks.append(_risk(path, UNPICKLES, f"unpickles {{}} ({CAN_DO})"))
    if weights is not None:
        wpath = Path(weights)
        if wpath.is_file() and wpath.suffix != ".safetensors" and trust and needs_unpickling(wpath):
            risks.append(_risk(wpath, UNPICKLES, f"unpickles {{}} ({CAN_DO})"))
    return risks


def not_consented(risks: Iterable[Risk], consented: Iterable[tuple[str, str]]) -> list[Risk]:
    """The risks whose (path, digest) is not in ``consented``: the ones to ask about."""
    agreed = set(consented)
    return [risk for risk in risks if risk.key not in agreed]


def consent_for(risks: Iterable[Risk]) -> set[tuple[str, str]]:
    """The (path, digest) pairs to add to a consent set once the user has said yes."""
    return {risk.key for risk in risks}


def _risk(path: Path, kind: str, template: str) -> Risk:
    absolute = path.resolve()
    return Risk(absolute, file_digest(absolute), kind, template.format(absolute))


def _pt2_runs_code(path: Path) -> bool:
    try:
        return bool(pt2_code_parts(path))
    except ModelLoadError:
        return False  # not an archive: torch.export.load refuses it before running anything
