"""bench/canvas_redraw.py: words are redrawn as the app's canvas would hold them."""

from __future__ import annotations

import numpy as np

from tests.bench_modules import load_bench as load_bench_module


def load_bench():
    return load_bench_module("canvas_redraw")


def scan_of_a_bar() -> np.ndarray:
    """An 80x30 grey scan: light textured paper, one 6-px grey vertical stroke."""
    rng = np.random.default_rng(0)
    grey = rng.normal(225.0, 4.0, (80, 30))
    grey[5:75, 12:18] = 90.0
    return np.clip(grey, 0, 255).astype(np.uint8)[..., None]


def test_redraw_fills_the_canvas_with_one_brush_wide_black_stroke() -> None:
    bench = load_bench()
    for stroke in (6.0, 16.0):
        canvas = bench.redraw(scan_of_a_bar(), stroke)
        assert canvas.shape == (200, 600, 1) and canvas.dtype == np.uint8
        inked = canvas[..., 0] < 128
        rows = np.nonzero(inked.any(axis=1))[0]
        # the bar's centre line is scaled to fill the canvas height within its margins
        assert rows.min() <= bench.MARGIN and rows.max() >= 200 - bench.MARGIN - 1
        middle = inked[100]
        assert abs(middle.sum() - stroke) <= 2  # one stroke, the brush's width
        assert canvas.min() == 0 and canvas.max() == 255  # black ink on white


def test_blank_scans_have_nothing_to_redraw_and_binarising_keeps_two_levels() -> None:
    bench = load_bench()
    assert bench.redraw(np.full((20, 20, 1), 230, np.uint8), 10.0) is None
    binary = bench.binarise(scan_of_a_bar())
    assert set(np.unique(binary)) == {0, 255}
    assert (binary[5:75, 12:18] == 0).all() and (binary[:, :10] == 255).all()
