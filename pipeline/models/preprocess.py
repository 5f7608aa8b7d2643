"""The one preprocessing path from an image to the recognizer's input.

Training, evaluation, the predict CLI and the canvas app all call these functions, so a
drawn word reaches the model exactly as the training words did: `pipeline.common.images` decodes
any file to uint8 grey, `prepare_foreign` (drawn or uploaded images only) makes it dark
ink on light paper cropped to the ink, and `fit_to_input` resizes without distortion,
pads and normalises to ink = 1.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from pipeline.common.errors import HTRError

INK_THRESHOLD = 0.2
CROP_MARGIN = 0.08
# Variable-width models: inputs are padded on the right to a multiple of this many pixels,
# so a batch of lines has only a few distinct widths (few tf.function traces) and a short
# line is never padded to the widest one.
WIDTH_BUCKET = 64
# Variable-width models at inference: the widest input before a line is shrunk (aspect).
MAX_INFERENCE_ASPECT = 48


def to_ink(image: tf.Tensor) -> tf.Tensor:
    """A uint8 [h, w, 1] dark-on-light image as float32 ink in [0, 1]: paper 0, darkest ink 1.

    Paper is the 30th percentile of the ink level (most pixels of a word image are paper,
    and a tightly cropped dash or dot still has paper around it), so grey or textured paper,
    faint pencil and scanner levels all map to the same range and the paper matches the
    zero padding around the fitted word.
    """
    ink = 1.0 - tf.cast(image, tf.float32) / 255.0
    flat = tf.sort(tf.reshape(ink, [-1]))
    paper = flat[tf.size(flat) * 3 // 10]
    high = flat[-1]
    return tf.clip_by_value(tf.math.divide_no_nan(ink - paper, high - paper), 0.0, 1.0)


def fit_ink(ink: tf.Tensor, height: int, width: int, variable: bool = False) -> tf.Tensor:
    """Resize ink [h, w, 1] into [height, width, 1] keeping the aspect ratio, padded 0.

    Fixed width: centred in [height, width]. `variable`: `width` is only the cap; the ink
    sits at the left of [height, w'] with w' its own width rounded up to WIDTH_BUCKET.
    """
    shape = tf.cast(tf.shape(ink)[:2], tf.float32)
    scale = tf.minimum(height / shape[0], width / shape[1])
    new_h = tf.clip_by_value(tf.cast(tf.round(shape[0] * scale), tf.int32), 1, height)
    new_w = tf.clip_by_value(tf.cast(tf.round(shape[1] * scale), tf.int32), 1, width)
    resized = tf.image.resize(ink, [new_h, new_w], method="area", antialias=True)
    top = (height - new_h) // 2
    if variable:
        out_w = -(-new_w // WIDTH_BUCKET) * WIDTH_BUCKET
        padded = tf.image.pad_to_bounding_box(resized, top, 0, height, out_w)
        return tf.ensure_shape(padded, [height, None, 1])
    left = (width - new_w) // 2
    padded = tf.image.pad_to_bounding_box(resized, top, left, height, width)
    return tf.ensure_shape(padded, [height, width, 1])


def fit_to_input(image: tf.Tensor, height: int, width: int, variable: bool = False) -> tf.Tensor:
    """A uint8 [h, w, 1] dark-on-light image as the model's float32 [height, w, 1] input."""
    return fit_ink(to_ink(image), height, width, variable)


def pad_batch(inputs: list[np.ndarray]) -> np.ndarray:
    """Stack float32 [H, w_i, 1] inputs into [n, H, max w_i, 1], padding paper on the right."""
    width = max(x.shape[1] for x in inputs)
    return np.stack([np.pad(x, ((0, 0), (0, width - x.shape[1]), (0, 0))) for x in inputs])


def prepare_foreign(image: np.ndarray) -> np.ndarray:
    """A drawn or uploaded image as training-like uint8 [h, w, 1]: dark ink, light paper, cropped.

    Takes the uint8 grey array of `pipeline.common.images` (transparency already on white paper);
    light ink on dark paper is inverted. Raises HTRError when there is no ink at all (a
    blank canvas), instead of guessing.
    """
    grey = np.asarray(image, dtype=np.float64).reshape(np.shape(image)[:2])
    if np.median(_border(grey)) < 128.0:
        grey = 255.0 - grey
    paper = float(np.median(_border(grey)))
    darkness = (paper - grey) / max(paper, 1.0)
    mask = darkness > INK_THRESHOLD
    if not mask.any():
        raise HTRError("the image is blank: no ink found (draw or upload some handwriting)")
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    margin = round(CROP_MARGIN * max(bottom - top, 1))
    top, left = max(top - margin, 0), max(left - margin, 0)
    bottom, right = min(bottom + margin, grey.shape[0]), min(right + margin, grey.shape[1])
    cropped = np.clip(grey[top:bottom, left:right], 0, 255).astype(np.uint8)
    return cropped[..., None]


def _border(grey: np.ndarray) -> np.ndarray:
    return np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
