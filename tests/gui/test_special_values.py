"""NaN, ±Inf and constant activations, from the engine to the activations panel alone: the
colours the colour bar promises, painted."""

import numpy as np
import pytest
from PySide6.QtGui import QColor

from inspector.core.display.colormap import NAN_RGBA, NEG_INF_RGBA, POS_INF_RGBA
from inspector.core.engine import Engine
from inspector.core.files.loading import bundled_lenet
from inspector.core.forward.results import ForwardRequest


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(bundled_lenet())


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 3.0])
def test_nan_inf_and_constant_tensors_render(qtbot, engine, value):
    """conv1's output of a NaN input is NaN everywhere, of +Inf it is ±Inf or NaN, of a
    constant it is constant per channel: the panel paints each in the colours they promise."""
    from inspector.gui.panels.activations import ActivationsPanel

    raw = np.full((1, 1, 32, 32), value, np.float32)
    result = engine.forward(ForwardRequest(1, np.zeros((32, 32), np.float32), raw))
    step = result.steps[0]
    image = step.heatmap.image
    gaps = step.heatmap.gaps()
    shown = step.rgba[np.ones(image.shape, bool) if gaps is None else ~gaps]  # tensor pixels
    specials = {NAN_RGBA, POS_INF_RGBA, NEG_INF_RGBA}
    colours = {tuple(int(c) for c in px) for px in shown.reshape(-1, 4)}
    if np.isnan(value):
        assert colours == {NAN_RGBA}
    elif np.isinf(value):
        assert colours <= specials and colours
    else:
        assert not colours & specials and 1 < len(colours) <= 6  # one colour per channel

    panel = ActivationsPanel()
    qtbot.addWidget(panel)
    panel.resize(700, 900)
    panel.show()
    qtbot.waitExposed(panel)
    panel.show_result(result)
    picture = panel.column.grab().toImage()
    wanted = QColor(*NAN_RGBA[:3])
    found = any(
        picture.pixelColor(x, y) == wanted
        for x in range(0, picture.width(), 3)
        for y in range(0, picture.height(), 3)
    )
    rows = panel.column.rows  # painted: coloured by the worker or when shown
    nan_coloured = any(
        (row._rgbas[0].reshape(-1, 4) == NAN_RGBA).all(axis=1).any()
        for row in rows
        if row._rgbas[0] is not None
    )
    assert found == nan_coloured and nan_coloured == (value != 3.0)  # Inf - Inf is NaN too
