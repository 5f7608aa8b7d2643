"""The shared preprocessing: aspect-preserving fit, normalisation, foreign-image preparation."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from pipeline.errors import HTRError
from pipeline.preprocess import fit_to_input, prepare_foreign, to_ink


def _bar(height: int, width: int, ink_box: tuple[int, int, int, int], paper=230, ink=20):
    image = np.full((height, width, 1), paper, np.uint8)
    top, bottom, left, right = ink_box
    image[top:bottom, left:right] = ink
    return image


def test_fit_keeps_aspect_ratio_and_centres():
    # a 40x400 strip (aspect 10) is scaled by 0.32 to 128 wide; its 20-row ink band
    # becomes ~6.4 rows, vertically centred, and reaches both side edges
    image = _bar(40, 400, (10, 30, 0, 400))
    out = fit_to_input(tf.constant(image), 32, 128).numpy()[..., 0]
    assert out.shape == (32, 128)
    rows = np.flatnonzero(out.max(axis=1) > 0.5)
    assert 5 <= len(rows) <= 8
    assert abs((rows[0] + rows[-1]) / 2 - 15.5) <= 1
    assert out[:, 0].max() > 0.5 and out[:, -1].max() > 0.5


def test_tall_image_is_not_stretched():
    image = _bar(100, 40, (0, 100, 10, 30))
    out = fit_to_input(tf.constant(image), 32, 128).numpy()[..., 0]
    cols = np.flatnonzero(out.max(axis=0) > 0.5)
    assert 5 <= len(cols) <= 8  # 20 ink columns * 32/100 = 6.4 columns, centred
    assert abs((cols[0] + cols[-1]) / 2 - 63.5) <= 1.5


def test_ink_is_one_and_paper_zero_whatever_the_levels():
    image = _bar(32, 128, (8, 24, 30, 90), paper=180, ink=120)
    ink = to_ink(tf.constant(image)).numpy()
    assert ink.max() == pytest.approx(1.0) and ink.min() == pytest.approx(0.0)
    assert ink[16, 60, 0] == pytest.approx(1.0) and ink[0, 0, 0] == pytest.approx(0.0)


def test_foreign_light_on_dark_is_inverted_and_cropped():
    image = _bar(300, 400, (100, 160, 50, 350), paper=0, ink=255)
    out = prepare_foreign(image)
    assert out.shape[2] == 1
    assert out[0, 0, 0] > 200  # paper is light now
    assert out[out.shape[0] // 2, out.shape[1] // 2, 0] < 50  # ink dark
    assert 60 <= out.shape[0] <= 75 and 300 <= out.shape[1] <= 315  # crop + small margin


def test_foreign_blank_canvas_is_an_error_not_a_guess():
    with pytest.raises(HTRError, match="blank"):
        prepare_foreign(np.full((200, 300, 1), 255, np.uint8))
