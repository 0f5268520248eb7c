import numpy as np

from inspector.core.model.brush import paint_segment, stamp_alpha
from inspector.core.model.images import to_drawing


def test_stroke_is_continuous_and_reports_its_cells():
    canvas = np.zeros((32, 32), np.float32)
    top, left, bottom, right = paint_segment(canvas, (4.0, 16.0), (28.0, 16.0))
    assert (canvas[16, 4:28] > 0.9).all()  # no gaps even though it is one fast move
    assert canvas[2, 2] == 0
    touched = np.argwhere(canvas > 0)
    assert touched[:, 0].min() >= top and touched[:, 0].max() < bottom
    assert touched[:, 1].min() >= left and touched[:, 1].max() < right


def test_brush_is_soft_at_the_edge():
    alpha = stamp_alpha((32, 32), 16.0, 16.0, 1.4)
    assert alpha[15, 15] == 1.0
    assert 0 < alpha[15, 17] < 1.0 or 0 < alpha[13, 15] < 1.0


def test_erase_removes_ink():
    canvas = np.ones((32, 32), np.float32)
    paint_segment(canvas, (16.0, 16.0), (16.0, 16.0), erase=True)
    assert canvas[15, 15] == 0 and canvas[0, 0] == 1


def test_dark_on_light_images_are_inverted_and_fitted():
    paper = np.full((40, 20), 255.0)
    paper[5:35, 8:12] = 0.0  # a dark "1" on white paper
    drawing = to_drawing(paper)
    assert drawing.shape == (32, 32)
    assert drawing[16, 16] > 0.9 and drawing[16, 2] == 0


def test_a_segment_is_the_union_of_its_stamps():
    """All stamps are computed in one array op: the same ink as stamping one by one."""
    start, end, radius = (3.2, 5.7), (27.9, 22.4), 1.4
    canvas = np.zeros((32, 32), np.float32)
    paint_segment(canvas, start, end, radius)
    steps = int(np.ceil(np.hypot(end[0] - start[0], end[1] - start[1]) / 0.3))
    expected = np.zeros((32, 32), np.float32)
    for i in range(steps + 1):
        t = i / steps
        x, y = start[0] + (end[0] - start[0]) * t, start[1] + (end[1] - start[1]) * t
        np.maximum(expected, stamp_alpha((32, 32), x, y, radius), out=expected)
    np.testing.assert_allclose(canvas, expected, atol=1e-5)


def test_a_stroke_off_the_canvas_reports_cells_inside_it():
    canvas = np.zeros((32, 32), np.float32)
    cells = paint_segment(canvas, (-5.0, -5.0), (40.0, 3.0))
    assert cells == (0, 0, 6, 32) and all(type(c) is int for c in cells)
    assert canvas[0:6].max() > 0 and canvas[6:].max() == 0  # nothing beyond the cells
