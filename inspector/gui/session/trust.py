"""Consent to run code from files, remembered between runs, and the question that asks for it.

A model the user opens themselves (``--model``, File > Open) is consent for its files: they are
remembered here as (absolute path, sha256) in QSettings. Anything else that would run code — a
session from someone else, the model remembered from last time — is checked with
``core.consent`` first and asked about (``ask``) unless every file that would run code is
remembered with the same content. A file that changed since is asked about again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from inspector.core.files.consent import Risk, code_risks, consent_for, not_consented
from inspector.core.state import ModelRef
from inspector.logs import LOG

CONSENT_KEY = "trust/consented"
MAX_REMEMBERED = 200  # the most recent files consented to


def consented() -> set[tuple[str, str]]:
    """The (absolute path, sha256) pairs the user agreed to run, as remembered."""
    try:
        pairs = json.loads(str(QSettings().value(CONSENT_KEY, "[]")))
        return {(str(p), str(d)) for p, d in pairs}
    except (TypeError, ValueError):
        LOG.warning("ignoring the unreadable setting %s", CONSENT_KEY)
        return set()


def remember(risks: Iterable[Risk]) -> None:
    """Remember that the user agreed to run these files (as they are now)."""
    new = consent_for(risks)
    if not new:
        return
    text = str(QSettings().value(CONSENT_KEY, "[]"))
    try:
        kept = [tuple(pair) for pair in json.loads(text)]
    except (TypeError, ValueError):
        kept = []
    kept = [pair for pair in kept if pair not in new] + sorted(new)
    QSettings().setValue(CONSENT_KEY, json.dumps([list(p) for p in kept[-MAX_REMEMBERED:]]))


def risks_of(ref: ModelRef) -> list[Risk]:
    """The files opening ``ref`` would run code from (``core.consent.code_risks``)."""
    return code_risks(ref.spec, ref.weights, ref.trust)


def consent_to(ref: ModelRef) -> None:
    """The user opened ``ref`` themselves: that is consent for its files."""
    try:
        remember(risks_of(ref))
    except OSError as exc:  # unreadable: opening it fails and says so
        LOG.warning("could not read %s to remember consent: %s", ref.spec, exc)


def to_ask(ref: ModelRef) -> list[Risk]:
    """The files opening ``ref`` would run code from that the user has not agreed to (or that
    changed since). Raises ``OSError`` if one cannot be read."""
    return not_consented(risks_of(ref), consented())


def question(risks: list[Risk], what: str) -> str:
    """``what`` ("Opening the session s.netinspector") and each file in words, one a line."""
    known = {path for path, _ in consented()}
    lines = []
    for risk in risks:
        changed = " (it has changed since you last opened it)" if str(risk.path) in known else ""
        lines.append(f"• {risk.text[:1].upper()}{risk.text[1:]}{changed}")
    return f"{what} would run code from these files:\n\n" + "\n".join(lines)


def ask(
    parent: QWidget,
    risks: list[Risk],
    what: str,
    on_yes: Callable[[], None],
    on_no: Callable[[], None] | None = None,
) -> QMessageBox:
    """Ask, without blocking, whether to run the code in ``risks``; the default answer is No.
    Yes remembers the consent and calls ``on_yes``; anything else calls ``on_no``."""
    box = QMessageBox(
        QMessageBox.Icon.Warning,
        "Run code from these files?",
        question(risks, what),
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        parent,
    )
    box.setObjectName("consentDialog")
    box.setInformativeText(
        "Code in these files can do anything you can do on this computer: run programs, read "
        "and write your files. Answer Yes only if you trust where they came from; No leaves "
        "everything as it is."
    )
    box.setDefaultButton(QMessageBox.StandardButton.No)
    box.setEscapeButton(QMessageBox.StandardButton.No)
    box.button(QMessageBox.StandardButton.Yes).setText("Yes, run it")
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def finished(_result: int) -> None:
        if box.clickedButton() is box.button(QMessageBox.StandardButton.Yes):
            remember(risks)
            on_yes()
        elif on_no is not None:
            on_no()

    box.finished.connect(finished)
    box.open()  # window-modal, not blocking: the app keeps running (nothing of it runs)
    return box
