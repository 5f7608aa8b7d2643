"""Glyph centre lines: each character reduced to the path a pen would follow, cached.

A glyph is rendered large, thinned to its one-pixel skeleton, and kept as points in
x-height units (origin on the baseline at the pen position, y pointing down), together with
the font's own half stroke width at each point (for font-like "filled" rendering), the
advance width and the points where a cursive join leaves and enters the letter.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage
from skimage.morphology import skeletonize

_REFERENCE_SIZE = 200


@dataclass(frozen=True)
class Glyph:
    """A character's centre line in x-height units (y down, baseline at 0)."""

    points: np.ndarray  # float32 [n, 2] (x, y)
    half_width: np.ndarray  # float32 [n], the font's half stroke width at each point
    advance: float  # pen advance to the next character
    exit: tuple[float, float]  # where a join to the next letter leaves
    entry: tuple[float, float]  # where a join from the previous letter arrives


@lru_cache(maxsize=512)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    """A loaded font at a pixel size (loading is slow; fonts are reused)."""
    return ImageFont.truetype(path, size)


@lru_cache(maxsize=512)
def x_height_ratio(path: str) -> float:
    """The font's x-height per pixel of font size, so every font is drawn at one x-height.

    The median height of short letters, not the 'x' alone: script fonts give 'x' (and 'z')
    a flourish below the baseline.
    """
    font = _font(path, _REFERENCE_SIZE)
    heights = []
    for char in "acemnorsuvw":
        _, top, _, bottom = font.getbbox(char, anchor="ls")
        heights.append(bottom - top)
    return max(float(np.median(heights)), 1.0) / _REFERENCE_SIZE


@lru_cache(maxsize=512)
def width_ratio(path: str) -> float:
    """Mean advance of x-height letters per x-height: how narrow or wide the font writes."""
    font = _font(path, _REFERENCE_SIZE)
    letters = "acemnorsuvwxz"
    return font.getlength(letters) / len(letters) / (x_height_ratio(path) * _REFERENCE_SIZE)


def bucket_for(x_height_px: float, buckets: tuple[int, ...]) -> int:
    """The smallest skeleton x-height at least `x_height_px` (the largest if none is)."""
    for bucket in buckets:
        if bucket >= x_height_px:
            return bucket
    return buckets[-1]


def _join_points(points: np.ndarray) -> tuple[tuple[float, float], tuple[float, float]]:
    """Exit (right-most ink in the lower half of the x-band) and entry (left-most in the band)."""
    x, y = points[:, 0], points[:, 1]
    low = (y > -0.55) & (y < 0.1)
    band = (y > -1.1) & (y < 0.1)
    low = low if low.any() else np.ones_like(low)
    band = band if band.any() else np.ones_like(band)
    i_exit = np.flatnonzero(low)[np.argmax(x[low])]
    i_entry = np.flatnonzero(band)[np.argmin(x[band])]
    return (float(x[i_exit]), float(y[i_exit])), (float(x[i_entry]), float(y[i_entry]))


@lru_cache(maxsize=65536)
def glyph(path: str, char: str, bucket: int) -> Glyph:
    """The cached centre line of `char` drawn with its x-height at `bucket` pixels."""
    size = max(8, round(bucket / x_height_ratio(path)))
    font = _font(path, size)
    advance = font.getlength(char) / bucket
    left, top, right, bottom = font.getbbox(char, anchor="ls")
    if right <= left or bottom <= top:
        empty = np.zeros((0, 2), np.float32)
        return Glyph(empty, np.zeros(0, np.float32), advance, (advance, 0.0), (0.0, 0.0))
    pad = 3
    image = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 0)
    ImageDraw.Draw(image).text((pad - left, pad - top), char, fill=255, font=font, anchor="ls")
    mask = np.asarray(image) > 127
    if not mask.any():  # hairline glyph: keep whatever coverage there is
        mask = np.asarray(image) > 0
    skeleton = skeletonize(mask)
    rows, cols = np.nonzero(skeleton)
    half = ndimage.distance_transform_edt(mask)[rows, cols] - 0.5
    points = np.stack([cols - (pad - left), rows - (pad - top)], axis=1).astype(np.float32)
    points /= bucket
    exit_point, entry_point = _join_points(points)
    return Glyph(
        points=points,
        half_width=np.maximum(half, 0.5).astype(np.float32) / bucket,
        advance=advance,
        exit=exit_point,
        entry=entry_point,
    )
