"""Without the window: the consent store (QSettings) and the canvas's image loading (checked
from the header, refused above 4096² pixels or 50 MB, decoded off the GUI thread)."""

from __future__ import annotations

import struct
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QColor, QImage, QPainter, QPen

from inspector.core.state import AppState, ModelRef
from tests import hostile


def test_consent_is_remembered_per_file_and_content(tmp_path):
    from inspector.gui.session import trust

    marker = tmp_path / "marker"
    nets = hostile.model_file(tmp_path, marker)
    ref = ModelRef(f"{nets}:Mixed")
    assert [r.path for r in trust.to_ask(ref)] == [nets.resolve()]
    trust.consent_to(ref)
    assert trust.to_ask(ref) == []
    assert trust.to_ask(ModelRef("lenet")) == []  # built-ins run no file's code
    nets.write_text(nets.read_text() + "# changed\n")
    pending = trust.to_ask(ref)
    assert len(pending) == 1
    assert "changed since you last opened it" in trust.question(pending, "Opening x")
    QSettings().setValue(trust.CONSENT_KEY, "not json")  # a damaged setting: ask again
    assert len(trust.to_ask(ref)) == 1
    assert not marker.exists()


def _png_header(path: Path, width: int, height: int) -> Path:
    """A PNG whose header says ``width``×``height`` but holds one row: nothing to decode."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = chunk(b"IDAT", zlib.compress(b"\0" * (width + 1)))  # one row of the many promised
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + idat + chunk(b"IEND", b""))
    return path


@pytest.fixture
def panel(qtbot):
    from inspector.core.model.input_inference import infer_input_spec
    from inspector.core.model.nets import Net
    from inspector.gui.panels.canvas import CanvasPanel

    widget = CanvasPanel(AppState(), infer_input_spec(Net(), None, mnist=True))
    qtbot.addWidget(widget)
    messages: list[str] = []
    widget.message.connect(messages.append)
    widget.messages = messages
    return widget


def test_huge_images_are_refused_from_the_header(panel, tmp_path):
    big = _png_header(tmp_path / "big.png", 8190, 8190)
    assert not panel.load_image(big)
    assert "8190×8190 pixels" in panel.messages[-1] and "4096×4096" in panel.messages[-1]
    heavy = tmp_path / "heavy.png"
    heavy.write_bytes(_png_header(tmp_path / "h.png", 64, 64).read_bytes())
    with open(heavy, "r+b") as handle:
        handle.truncate(51 << 20)  # sparse: 51 MB on paper
    assert not panel.load_image(heavy)
    assert "51 MB" in panel.messages[-1] and "50 MB" in panel.messages[-1]
    assert not panel.canvas.drawing.any()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP"])
def test_the_three_formats_open_by_their_bytes_whatever_their_name(panel, tmp_path, fmt, qtbot):
    image = QImage(40, 40, QImage.Format.Format_RGB32)
    image.fill(QColor("black"))
    path = tmp_path / f"digit.{fmt.lower()}"
    assert image.save(str(path), fmt)
    misnamed = path.rename(tmp_path / "digit.gif")  # the name says nothing
    with qtbot.waitSignal(panel.imageLoaded, timeout=10_000) as done:
        assert panel.load_image(misnamed)
    assert done.args == [True]


def test_other_formats_and_special_files_are_refused_at_once(panel, tmp_path):
    import os

    gif = tmp_path / "digit.png"
    gif.write_bytes(b"GIF89a" + bytes(64))
    assert not panel.load_image(gif)
    assert "not a PNG, JPEG or BMP image" in panel.messages[-1]
    fifo = tmp_path / "fifo.png"
    os.mkfifo(fifo)
    assert not panel.load_image(fifo)  # does not block: never opened
    assert "not a file" in panel.messages[-1]


def test_images_are_decoded_off_the_gui_thread(panel, tmp_path, qtbot, monkeypatch):
    import inspector.gui.panels.image_loading as image_loading

    path = tmp_path / "one.png"
    image = QImage(64, 64, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    painter.setPen(QPen(QColor("black"), 6))
    painter.drawLine(32, 8, 32, 56)
    painter.end()
    assert image.save(str(path))
    threads = []
    real = image_loading.decode_drawing

    def spying(p):
        threads.append(threading.current_thread())
        return real(p)

    monkeypatch.setattr(image_loading, "decode_drawing", spying)
    with qtbot.waitSignal(panel.imageLoaded, timeout=10_000) as done:
        assert panel.load_image(path)
    assert done.args == [True]
    assert threads and threads[0] is not threading.main_thread()
    assert panel.canvas.drawing[16, 16] > 0.5
    np.testing.assert_array_equal(panel.state.drawing, panel.canvas.drawing)


def test_grey_image_maps_nan_to_black_and_infinities_to_the_ends(qapp):
    from inspector.gui.panels.array_image import grey_image

    values = np.array([[0.0, 0.5, 1.0, 2.0], [-1.0, np.nan, np.inf, -np.inf]], np.float32)
    image = grey_image(values)
    pixels = [[QColor(image.pixel(x, y)).red() for x in range(4)] for y in range(2)]
    assert pixels == [[0, 127, 255, 255], [0, 0, 255, 0]]
    values[0, 0] = 1.0  # a deep copy: the array may change afterwards
    assert QColor(image.pixel(0, 0)).red() == 0
    # Any layout and real dtype (a session's array may be Fortran-ordered, float64 or bool).
    for other in (np.asfortranarray(values), values.T.copy().T, values.astype(np.float64)):
        assert grey_image(other) == grey_image(values)
    assert QColor(grey_image(np.eye(2, dtype=bool)).pixel(0, 0)).red() == 255


def test_the_open_dialog_says_opening_a_program_is_consent(qtbot):
    from PySide6.QtWidgets import QLabel

    from inspector.gui.session.open_dialog import OpenModelDialog

    dialog = OpenModelDialog()
    qtbot.addWidget(dialog)
    note = dialog.findChild(QLabel, "openModelConsentNote").text()
    for words in (".py", "TorchScript", ".pt2", "read and write files", "your consent"):
        assert words in note, words
