"""The one preprocessing path from an image to the recognizer's input.

Training, evaluation, the predict CLI and the canvas app all call these functions, so a
drawn word reaches the model exactly as the training words did: `pipeline.common.images` decodes
any file to uint8 grey, `prepare_foreign` (drawn or uploaded images only) makes it dark
ink on light paper cropped to the ink, and `fit_to_input` normalises the ink
(`to_ink`), undoes the slant (`deslant`, when the model was trained with it) and resizes
without distortion, padded: area averaging when shrinking, bilinear when enlarging a small
image (`smooth_upscale`; area "enlarges" by repeating pixels into blocks). With
`core_height`, the scale comes from the word's core (x-height) band instead of its whole ink
height (`core_band`), so "one" and "Hello" are written at one letter size.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

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
# Slant search: candidate shears (horizontal shift per pixel of height, +-45 degrees) tried
# on a copy of the ink at this height; the best one is applied to the full-size ink.
SLANT_SHEARS = tuple(float(s) for s in np.linspace(-1.0, 1.0, 21))
SLANT_SEARCH_HEIGHT = 24
# Columns whose strongest ink is below this are paper when cropping after the shear.
_COLUMN_INK = 0.05
# Core (x-height) band: the rows around the densest one whose ink is at least this share of
# it; ascenders, descenders and fragments of neighbouring lines have less ink per row.
CORE_ROW_SHARE = 0.5


@dataclass(frozen=True)
class Preprocessing:
    """The normalisation a model was trained with, saved beside it (`preprocess.json`) so
    that every reader of the model feeds it the same way. Defaults describe the models made
    before normalisation existed (no file)."""

    deslant: bool = False
    # crop every image to its ink (as `prepare_foreign` does to drawn and uploaded images and
    # as a word segmenter crops IAM's words), so training sees what inference sees
    crop_to_ink: bool = False
    # enlarge an image smaller than the input (a 20x20 digit scan, a cropped comma)
    # bilinearly instead of in blocks of repeated pixels
    smooth_upscale: bool = False
    # the core band's share of the input height (0: fit the whole ink height instead)
    core_height: float = 0.0
    # stretch the ink levels (paper 0, darkest ink 1; `to_ink`); false: plain 1 - grey / 255
    normalise_ink: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.core_height < 1.0:
            raise HTRError(f"model.core_height must be in [0, 1), got {self.core_height}")

    @classmethod
    def of_model(cls, model_cfg: Any) -> Preprocessing:
        """The normalisation `model.*` asks for."""
        return cls(
            deslant=bool(model_cfg.deslant),
            crop_to_ink=bool(model_cfg.crop_to_ink),
            smooth_upscale=bool(model_cfg.smooth_upscale),
            core_height=float(model_cfg.core_height),
            normalise_ink=bool(model_cfg.normalise_ink),
        )

    def save(self, path: Path) -> None:
        """Write as JSON."""
        Path(path).write_text(json.dumps(asdict(self)) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Preprocessing:
        """Read a file written by `save`; a missing file means no normalisation."""
        path = Path(path)
        if not path.is_file():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(**data)
        except (json.JSONDecodeError, TypeError, UnicodeDecodeError, HTRError) as err:
            raise HTRError(f"preprocessing file {path} is not valid: {err}") from None


def to_ink(image: tf.Tensor, stretch: bool = True) -> tf.Tensor:
    """A uint8 [h, w, 1] dark-on-light image as float32 ink in [0, 1]: paper 0, darkest ink 1
    (without `stretch`, only inverted: 1 - grey / 255, for the with/without measurement).

    Paper is the 30th percentile of the ink level (most pixels of a word image are paper,
    and a tightly cropped dash or dot still has paper around it), so grey or textured paper,
    faint pencil and scanner levels all map to the same range and the paper matches the
    zero padding around the fitted word.
    """
    ink = 1.0 - tf.cast(image, tf.float32) / 255.0
    if not stretch:
        return ink
    flat = tf.sort(tf.reshape(ink, [-1]))
    paper = flat[tf.size(flat) * 3 // 10]
    high = flat[-1]
    return tf.clip_by_value(tf.math.divide_no_nan(ink - paper, high - paper), 0.0, 1.0)


def core_band(ink: tf.Tensor) -> tf.Tensor:
    """(top, bottom) rows of the core band of ink [h, w, 1]: the run of rows around the row
    with the most ink whose ink is at least CORE_ROW_SHARE of that row's (the classic
    horizontal projection estimate of the x-height). A shear moves ink only along rows, so
    this is the same before and after `deslant`. Blank ink: the whole height."""
    profile = tf.reduce_sum(ink, axis=[1, 2])
    dense = profile >= CORE_ROW_SHARE * tf.reduce_max(profile)
    peak = tf.argmax(profile, output_type=tf.int32)
    rows = tf.range(tf.shape(profile)[0])
    # rows between the peak and the nearest sparse row on each side
    sparse_above = tf.logical_and(rows < peak, tf.logical_not(dense))
    sparse_below = tf.logical_and(rows > peak, tf.logical_not(dense))
    top = tf.reduce_max(tf.where(sparse_above, rows, -1)) + 1
    bottom = tf.reduce_min(tf.where(sparse_below, rows, tf.shape(profile)[0]))
    return tf.stack([top, bottom])


def fit_ink(
    ink: tf.Tensor,
    height: int,
    width: int,
    variable: bool = False,
    preprocessing: Preprocessing | None = None,
) -> tf.Tensor:
    """Resize ink [h, w, 1] into [height, width, 1] keeping the aspect ratio, padded 0.

    Fixed width: centred in [height, width]. `variable`: `width` is only the cap; the ink
    sits at the left of [height, w'] with w' its own width rounded up to WIDTH_BUCKET.
    Shrinking averages areas; enlarging does too unless `smooth_upscale` (bilinear). With
    `core_height`, the core band is scaled to that share of `height` (never larger than the
    whole ink fits) and centred on the middle row as far as the ink stays inside.
    """
    preprocessing = preprocessing or NO_NORMALISATION
    shape = tf.cast(tf.shape(ink)[:2], tf.float32)
    scale = tf.minimum(height / shape[0], width / shape[1])
    by_core = preprocessing.core_height > 0.0
    if by_core:
        band = tf.cast(core_band(ink), tf.float32)
        core = tf.maximum(band[1] - band[0], 1.0)
        scale = tf.minimum(scale, preprocessing.core_height * height / core)
    new_h = tf.clip_by_value(tf.cast(tf.round(shape[0] * scale), tf.int32), 1, height)
    new_w = tf.clip_by_value(tf.cast(tf.round(shape[1] * scale), tf.int32), 1, width)
    top = (height - new_h) // 2
    if by_core:
        centred = tf.cast(tf.round(height / 2.0 - (band[0] + band[1]) / 2.0 * scale), tf.int32)
        top = tf.clip_by_value(centred, 0, height - new_h)
    size = tf.stack([new_h, new_w])
    if preprocessing.smooth_upscale:
        resized = tf.cond(
            scale > 1.0,
            lambda: tf.image.resize(ink, size, method="bilinear"),
            lambda: tf.image.resize(ink, size, method="area", antialias=True),
        )
    else:
        resized = tf.image.resize(ink, size, method="area", antialias=True)
    if variable:
        out_w = -(-new_w // WIDTH_BUCKET) * WIDTH_BUCKET
        padded = tf.image.pad_to_bounding_box(resized, top, 0, height, out_w)
        return tf.ensure_shape(padded, [height, None, 1])
    left = (width - new_w) // 2
    padded = tf.image.pad_to_bounding_box(resized, top, left, height, width)
    return tf.ensure_shape(padded, [height, width, 1])


class BlankImageError(HTRError):
    """A drawn or uploaded image without ink: every reader says so instead of guessing."""


# what a model made before preprocess.json existed was fed: ink only, no deslanting
NO_NORMALISATION = Preprocessing()


def _shear(ink: tf.Tensor, shears: tf.Tensor, pad: tf.Tensor) -> tf.Tensor:
    """`ink` [h, w, 1] sheared by each of `shears` about its middle row: [n, h, w + 2 pad, 1].

    An output pixel (x, y) reads the input at (x + s (y - middle), y): a negative s puts
    right-leaning strokes upright.
    """
    padded = tf.pad(ink, [[0, 0], [pad, pad], [0, 0]])
    middle = (tf.cast(tf.shape(ink)[0], tf.float32) - 1.0) / 2.0
    ones, zeros = tf.ones_like(shears), tf.zeros_like(shears)
    transforms = tf.stack([ones, shears, -shears * middle, zeros, ones, zeros, zeros, zeros], 1)
    n = tf.shape(shears)[0]
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=tf.tile(padded[None], [n, 1, 1, 1]),
        transforms=transforms,
        output_shape=tf.shape(padded)[:2],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )


def estimate_slant(ink: tf.Tensor) -> tf.Tensor:
    """The shear (of SLANT_SHEARS) that makes the strokes of ink [h, w, 1] most upright.

    Upright strokes stack their ink in few columns, so the column profile is peakiest: the
    score is the sum of squared column sums (the projection criterion of classic deslanting).
    Searched on a copy SLANT_SEARCH_HEIGHT pixels high, which costs little.
    """
    shape = tf.cast(tf.shape(ink)[:2], tf.float32)
    scale = SLANT_SEARCH_HEIGHT / shape[0]
    width = tf.maximum(tf.cast(tf.round(shape[1] * scale), tf.int32), 1)
    small = tf.image.resize(ink, [SLANT_SEARCH_HEIGHT, width], method="area", antialias=True)
    shears = tf.constant(SLANT_SHEARS, tf.float32)
    pad = SLANT_SEARCH_HEIGHT // 2 + 1
    columns = tf.reduce_sum(_shear(small, shears, tf.constant(pad)), axis=[1, 3])
    return tf.gather(shears, tf.argmax(tf.reduce_sum(tf.square(columns), axis=1)))


def deslant(ink: tf.Tensor) -> tf.Tensor:
    """Ink [h, w, 1] with its dominant slant undone, cropped to its inked columns."""
    shear = estimate_slant(ink)
    height = tf.shape(ink)[0]
    pad = tf.cast(tf.math.ceil(tf.abs(shear) * tf.cast(height, tf.float32) / 2.0), tf.int32) + 1
    upright = _shear(ink, shear[None], pad)[0]
    inked = tf.where(tf.reduce_max(upright, axis=[0, 2]) > _COLUMN_INK)[:, 0]
    if tf.size(inked) == 0:
        return ink
    left, right = tf.reduce_min(inked), tf.reduce_max(inked) + 1
    return upright[:, left:right]


def ink_box(mask: tf.Tensor) -> tf.Tensor:
    """(top, bottom, left, right) of the True pixels of mask [h, w] plus a CROP_MARGIN of their
    height on every side, within the image; the whole image when nothing is True. The one crop
    of training (`crop_ink`) and of drawn and uploaded images (`prepare_foreign`)."""
    rows = tf.where(tf.reduce_any(mask, axis=1))[:, 0]
    cols = tf.where(tf.reduce_any(mask, axis=0))[:, 0]
    shape = tf.shape(mask, out_type=tf.int64)
    inked = tf.size(rows) > 0  # without ink the bounds are the whole image
    top = tf.where(inked, tf.reduce_min(rows), 0)
    bottom = tf.where(inked, tf.reduce_max(rows) + 1, shape[0])
    left = tf.where(inked, tf.reduce_min(cols), 0)
    right = tf.where(inked, tf.reduce_max(cols) + 1, shape[1])
    margin = tf.cast(tf.round(CROP_MARGIN * tf.cast(bottom - top, tf.float32)), tf.int64)
    margin = tf.where(inked, margin, 0)
    top, left = tf.maximum(top - margin, 0), tf.maximum(left - margin, 0)
    bottom, right = tf.minimum(bottom + margin, shape[0]), tf.minimum(right + margin, shape[1])
    return tf.stack([top, bottom, left, right])


def crop_ink(ink: tf.Tensor) -> tf.Tensor:
    """Ink [h, w, 1] cropped to the pixels above INK_THRESHOLD (`ink_box`): the crop
    `prepare_foreign` gives a drawn or uploaded image. A lone comma then fills its image as
    it does in a segmented scan; blank ink is returned as is."""
    top, bottom, left, right = tf.unstack(ink_box(ink[..., 0] > INK_THRESHOLD))
    return ink[top:bottom, left:right]


def normalise(image: tf.Tensor, preprocessing: Preprocessing) -> tf.Tensor:
    """A uint8 [h, w, 1] dark-on-light image as normalised ink, before any fitting."""
    ink = to_ink(image, preprocessing.normalise_ink)
    if preprocessing.crop_to_ink:
        ink = crop_ink(ink)
    return deslant(ink) if preprocessing.deslant else ink


def fit_to_input(
    image: tf.Tensor,
    height: int,
    width: int,
    variable: bool = False,
    preprocessing: Preprocessing = NO_NORMALISATION,
) -> tf.Tensor:
    """A uint8 [h, w, 1] dark-on-light image as the model's float32 [height, w, 1] input."""
    ink = normalise(image, preprocessing)
    return fit_ink(ink, height, width, variable, preprocessing)


def pad_batch(inputs: list[np.ndarray]) -> np.ndarray:
    """Stack float32 [H, w_i, 1] inputs into [n, H, max w_i, 1], padding paper on the right."""
    width = max(x.shape[1] for x in inputs)
    return np.stack([np.pad(x, ((0, 0), (0, width - x.shape[1]), (0, 0))) for x in inputs])


def prepare_foreign(image: np.ndarray) -> np.ndarray:
    """A drawn or uploaded image as training-like uint8 [h, w, 1]: dark ink, light paper, cropped.

    Takes the uint8 grey array of `pipeline.common.images` (transparency already on white paper);
    light ink on dark paper is inverted. Raises BlankImageError (an HTRError) when there is no
    ink at all (a blank canvas), instead of guessing.
    """
    grey = np.asarray(image, dtype=np.float64).reshape(np.shape(image)[:2])
    if np.median(_border(grey)) < 128.0:
        grey = 255.0 - grey
    paper = float(np.median(_border(grey)))
    darkness = (paper - grey) / max(paper, 1.0)
    mask = darkness > INK_THRESHOLD
    if not mask.any():
        raise BlankImageError("the image is blank: no ink found (draw or upload some handwriting)")
    top, bottom, left, right = ink_box(tf.constant(mask)).numpy()
    cropped = np.clip(grey[top:bottom, left:right], 0, 255).astype(np.uint8)
    return cropped[..., None]


def _border(grey: np.ndarray) -> np.ndarray:
    return np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
