"""On-the-fly augmentation in tf.data, applied to ink images around `preprocess.fit_ink`.

Geometric changes (horizontal stretch, shear, small rotation) act on the full-resolution
ink before it is fitted, so nothing is cut off; an elastic warp (a smooth random
displacement of every pixel, the classic augmentation for handwritten digits) and
photometric ones (stroke weight, ink level, noise) act on the fitted input. Evaluation
never calls this module.
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf
from omegaconf import DictConfig


def _uniform(low: float, high: float) -> tf.Tensor:
    return tf.random.uniform([], low, high)


def geometric(ink: tf.Tensor, cfg: DictConfig) -> tf.Tensor:
    """Stretch, shear and rotate ink [h, w, 1] (paper 0) into a canvas that holds it all."""
    sx = _uniform(cfg.stretch_min, cfg.stretch_max)
    shear = _uniform(-cfg.shear, cfg.shear)
    angle = _uniform(-cfg.rotation_deg, cfg.rotation_deg) * (math.pi / 180.0)
    cos, sin = tf.cos(angle), tf.sin(angle)
    # forward map: rotation @ shear @ horizontal stretch (x right, y down)
    m00, m01 = cos * sx, cos * shear - sin
    m10, m11 = sin * sx, sin * shear + cos
    shape = tf.cast(tf.shape(ink)[:2], tf.float32)
    h, w = shape[0], shape[1]
    xs = tf.stack([0.0, w, 0.0, w])
    ys = tf.stack([0.0, 0.0, h, h])
    out_x = m00 * xs + m01 * ys
    out_y = m10 * xs + m11 * ys
    off_x, off_y = tf.reduce_min(out_x), tf.reduce_min(out_y)
    out_w = tf.cast(tf.math.ceil(tf.reduce_max(out_x) - off_x), tf.int32)
    out_h = tf.cast(tf.math.ceil(tf.reduce_max(out_y) - off_y), tf.int32)
    det = m00 * m11 - m01 * m10
    i00, i01, i10, i11 = m11 / det, -m01 / det, -m10 / det, m00 / det
    transform = tf.stack(
        [
            i00,
            i01,
            i00 * off_x + i01 * off_y,
            i10,
            i11,
            i10 * off_x + i11 * off_y,
            0.0,
            0.0,
        ]
    )
    out = tf.raw_ops.ImageProjectiveTransformV3(
        images=ink[None],
        transforms=transform[None],
        output_shape=tf.stack([tf.maximum(out_h, 1), tf.maximum(out_w, 1)]),
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )
    return out[0]


def photometric(ink: tf.Tensor, cfg: DictConfig) -> tf.Tensor:
    """Thin or thicken strokes, vary ink level and add noise on a fitted input [H, W, 1]."""
    choice = tf.random.uniform([])
    batch = ink[None]
    thick = tf.nn.max_pool2d(batch, 2, 1, "SAME")
    thin = -tf.nn.max_pool2d(-batch, 2, 1, "SAME")
    half = cfg.stroke_p / 2.0
    batch = tf.where(choice < half, thick, tf.where(choice < cfg.stroke_p, thin, batch))
    ink = batch[0] * _uniform(1.0 - cfg.ink_level, 1.0)
    ink = ink + tf.random.normal(tf.shape(ink), stddev=_uniform(0.0, cfg.noise_std))
    return tf.clip_by_value(ink, 0.0, 1.0)


def _read_at(ink: tf.Tensor, rows: tf.Tensor, cols: tf.Tensor) -> tf.Tensor:
    """Ink [H, W] read at fractional positions [H, W] (bilinear); paper (0) outside."""
    return keras.ops.image.map_coordinates(
        ink, [rows, cols], order=1, fill_mode="constant", fill_value=0.0
    )


def elastic(ink: tf.Tensor, cfg: DictConfig) -> tf.Tensor:
    """Warp a fitted input [H, W, 1] by a smooth random displacement field.

    The field is Gaussian noise on a grid of `elastic_cell`-pixel cells, interpolated to
    every pixel and scaled by a random amplitude of at most `elastic_px` (a typical
    displacement, not a bound), so strokes bend and letters change shape a little as one
    writer's hand does from one word to the next.
    """
    if cfg.elastic_px <= 0:
        return ink
    shape = tf.shape(ink)
    h, w = shape[0], shape[1]
    grid = tf.stack([h // cfg.elastic_cell + 2, w // cfg.elastic_cell + 2])
    coarse = tf.random.normal(tf.concat([[1], grid, [2]], axis=0))
    field = tf.image.resize(coarse, [h, w], method="bilinear")[0]
    field = field * _uniform(0.0, cfg.elastic_px)
    rows, cols = tf.meshgrid(
        tf.range(tf.cast(h, tf.float32)), tf.range(tf.cast(w, tf.float32)), indexing="ij"
    )
    warped = _read_at(ink[..., 0], rows + field[..., 0], cols + field[..., 1])
    return warped[..., None]
