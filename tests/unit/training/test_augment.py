"""The elastic warp of training inputs: bounded, smooth, ink-preserving, off when asked."""

import numpy as np
import tensorflow as tf
from omegaconf import OmegaConf

from pipeline.training import augment


def _cfg(px: float, cell: int = 8):
    return OmegaConf.create({"elastic_px": px, "elastic_cell": cell})


def _word_like(seed: int = 0) -> np.ndarray:
    """A fitted-input-sized image with a few strokes (paper 0, ink 1)."""
    rng = np.random.default_rng(seed)
    ink = np.zeros((32, 128, 1), np.float32)
    for x in rng.integers(10, 110, size=8):
        ink[8:24, x : x + 2] = 1.0
    ink[15:17, 10:118] = 1.0
    return ink


def test_reading_at_whole_pixels_is_the_image_and_paper_outside():
    ink = tf.constant(np.arange(12, dtype=np.float32).reshape(3, 4))
    rows, cols = tf.meshgrid(tf.range(3.0), tf.range(4.0), indexing="ij")
    np.testing.assert_allclose(augment._read_at(ink, rows, cols).numpy(), ink.numpy())
    half = augment._read_at(ink, rows * 0 + 0.5, cols * 0 + 0.5).numpy()
    np.testing.assert_allclose(half, (0 + 1 + 4 + 5) / 4)  # mean of the top-left 2x2
    outside = augment._read_at(ink, rows - 10.0, cols + 10.0).numpy()
    assert not outside.any()


def test_zero_amplitude_leaves_the_input_alone():
    ink = tf.constant(_word_like())
    assert augment.elastic(ink, _cfg(0.0)) is ink


def test_warp_moves_strokes_a_little_and_keeps_the_ink():
    tf.random.set_seed(3)
    ink = _word_like()
    outputs = [augment.elastic(tf.constant(ink), _cfg(2.0)).numpy() for _ in range(20)]
    for out in outputs:
        assert out.shape == ink.shape and out.min() >= 0.0 and out.max() <= 1.0
        assert abs(out.sum() - ink.sum()) < 0.15 * ink.sum()
    # strokes move (not an identity) yet stay near where they were: nearly all the ink
    # within 3 px of the original (the amplitude, 2 px, is a typical displacement)
    assert np.mean([np.abs(out - ink).sum() for out in outputs]) > 0.05 * ink.sum()
    near = tf.nn.max_pool2d(ink[None], 7, 1, "SAME")[0].numpy() > 0  # ink grown by 3 px
    for out in outputs:
        assert out[near].sum() > 0.97 * out.sum()


def test_warp_is_smooth_neighbours_move_together():
    """Displacements vary over elastic_cell pixels, so two touching dots stay together."""
    tf.random.set_seed(5)
    dots = np.zeros((32, 128, 1), np.float32)
    dots[16, 60:62, 0] = 1.0
    shifts = []
    for _ in range(30):
        out = augment.elastic(tf.constant(dots), _cfg(2.0, cell=16)).numpy()[..., 0]
        rows, cols = np.nonzero(out > 0.05)
        assert np.ptp(rows) <= 2 and np.ptp(cols) <= 3  # still a short dash, not torn apart
        shifts.append(np.average(rows, weights=out[rows, cols]) - 16.0)
    assert np.std(shifts) > 0.2  # and it does move from sample to sample
