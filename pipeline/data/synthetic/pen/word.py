"""Render a word as a scanned handwritten crop: layout, pen, neighbours' strokes, scan.

`render_word` draws a given text in a given font. Every random choice comes from the
caller's generator, in a fixed order, so the same seed gives byte-identical images (for
the same numpy, scipy, Pillow/FreeType and libjpeg).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, OmegaConf
from PIL import Image

from pipeline.common.config import PenConfig
from pipeline.common.errors import HTRError
from pipeline.data.synthetic.fonts import existing_font
from pipeline.data.synthetic.pen.glyphs import bucket_for, glyph
from pipeline.data.synthetic.pen.layout import Hand, layout_word, sample_hand
from pipeline.data.synthetic.pen.scan import crop_margins, scan
from pipeline.data.synthetic.pen.stroke import Pen, draw, radii, sample_pen

_DESCENDERS = "gjpqy"
_ASCENDERS = "bdfhklt"
Box = tuple[float, float, float, float]


def knobs(sample: DictConfig) -> PenConfig:
    """The pen renderer's knobs (`data.sample.pen`) as a plain dataclass (fast, picklable),
    checked: HTRError naming a key whose value cannot describe a rendering."""
    cfg = PenConfig(**OmegaConf.to_container(sample.pen, resolve=True))
    _check(cfg)
    return cfg


def _check(cfg: PenConfig) -> None:
    """Reject knob values that cannot describe a rendering, naming the key."""
    for key, value in vars(cfg).items():
        name = f"data.sample.pen.{key}"
        values = value if isinstance(value, list) else [value]
        if key.startswith("p_") and not all(0.0 <= v <= 1.0 for v in values):
            raise HTRError(f"{name} must be a probability in [0, 1], got {value}")
        is_range = isinstance(value, list) and key != "skeleton_buckets"
        if is_range and (len(value) != 2 or value[0] > value[1]):
            raise HTRError(f"{name} must be a range [low, high] with low <= high, got {value}")
    if not cfg.skeleton_buckets or sorted(cfg.skeleton_buckets) != list(cfg.skeleton_buckets):
        raise HTRError("data.sample.pen.skeleton_buckets must be increasing x-heights (pixels)")
    if cfg.supersample < 1 or min(cfg.skeleton_buckets) < 4 or cfg.x_height[0] <= 0:
        raise HTRError("data.sample.pen: supersample >= 1, skeleton_buckets >= 4, x_height > 0")


def render_word(
    text: str, font_path: Path | str, rng: np.random.Generator, cfg: PenConfig, height: int
) -> np.ndarray:
    """A grayscale uint8 image of `text` written in the font's style, dark ink on light paper.

    `height` is the typical image height (a word with ascenders and descenders).
    """
    if not text or any(c.isspace() for c in text):
        raise HTRError(f"cannot render {text!r}: a word must be non-empty without spaces")
    path = existing_font(font_path, text)
    hand = sample_hand(rng, cfg, height)
    pen = sample_pen(rng, cfg)
    x_height = hand.x_height
    bucket = bucket_for(x_height * cfg.supersample, tuple(cfg.skeleton_buckets))
    strokes = layout_word(text, path, hand, rng, bucket)
    radius = radii(strokes.points, strokes.half_width, pen, x_height, rng)
    ink_pad = float(np.median(radius)) / x_height if len(radius) else 0.0
    left, top, right, bottom = _keep_band(strokes.word_box)
    m_left, m_top, m_right, m_bottom = crop_margins(rng, cfg)
    box = (
        left - ink_pad - m_left,
        top - ink_pad - m_top,
        right + ink_pad + m_right,
        bottom + ink_pad + m_bottom,
    )
    points, radius = _with_fragments(strokes.points, radius, path, bucket, box, rng, cfg)
    width = max(2, math.ceil((box[2] - box[0]) * x_height))
    rows = max(2, math.ceil((box[3] - box[1]) * x_height))
    origin = np.array([box[0], box[1]], np.float32)
    coverage = draw((points - origin) * x_height, radius, (rows, width), cfg.supersample)
    if cfg.exact_height:
        coverage = _to_height(coverage, height)
    return scan(coverage, rng, cfg)


def _keep_band(box: Box) -> Box:
    """The word's box grown to at least the x-height band and half an x-height wide, so a
    lone `.` sits low, `'` high and `-` in the middle, as in the font renderer's crops."""
    left, top, right, bottom = box
    widen = max(0.0, 0.5 - (right - left)) / 2
    return left - widen, min(top, -1.0), right + widen, max(bottom, 0.0)


def word_ink(
    text: str, font_path: str, hand: Hand, pen: Pen, rng: np.random.Generator, cfg: PenConfig
) -> tuple[np.ndarray, int]:
    """A word's ink coverage (float32 0..1, cropped to its strokes) and its baseline row.

    The paper-free part of `render_word` for one writer's hand and pen, so a line can lay
    several words on one sheet.
    """
    bucket = bucket_for(hand.x_height * cfg.supersample, tuple(cfg.skeleton_buckets))
    strokes = layout_word(text, font_path, hand, rng, bucket)
    radius = radii(strokes.points, strokes.half_width, pen, hand.x_height, rng)
    if len(strokes.points) == 0:
        raise HTRError(f"rendering {text!r} produced no ink")
    pad = float(radius.max()) / hand.x_height + 0.05
    left, top = strokes.points.min(axis=0) - pad
    right, bottom = strokes.points.max(axis=0) + pad
    width = max(2, math.ceil((right - left) * hand.x_height))
    rows = max(2, math.ceil((bottom - top) * hand.x_height))
    origin = np.array([left, top], np.float32)
    coverage = draw(
        (strokes.points - origin) * hand.x_height, radius, (rows, width), cfg.supersample
    )
    return coverage, round(-top * hand.x_height)


def _to_height(coverage: np.ndarray, height: int) -> np.ndarray:
    """Resize ink coverage to `height` rows, keeping the aspect ratio (before the scan)."""
    h, w = coverage.shape
    width = max(1, round(w * height / h))
    resized = Image.fromarray(coverage).resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.float32)


def _fragment(
    font_path: str, bucket: int, box: Box, top: bool, depth: float, rng: np.random.Generator
) -> np.ndarray:
    """A neighbouring line's letter placed so only its tail reaches `depth` into the crop."""
    char = str(rng.choice(list(_DESCENDERS if top else _ASCENDERS)))
    points = glyph(font_path, char, bucket).points
    if len(points) == 0:
        return points
    left, crop_top, right, crop_bottom = box
    x = rng.uniform(left - 0.3, right - 0.2)
    # A descender's lowest point (or an ascender's highest) ends `depth` inside the crop.
    dy = crop_top + depth - points[:, 1].max() if top else crop_bottom - depth - points[:, 1].min()
    return points + np.array([x, dy], np.float32)


def _with_fragments(
    points: np.ndarray,
    radius: np.ndarray,
    path: str,
    bucket: int,
    box: Box,
    rng: np.random.Generator,
    cfg: PenConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """Add strokes of the lines above and below that poke into the crop."""
    extra = []
    for top, p in ((True, cfg.p_fragment_top), (False, cfg.p_fragment_bottom)):
        if rng.random() < p:
            depth = rng.uniform(*cfg.fragment_depth)
            extra.append(_fragment(path, bucket, box, top, depth, rng))
    if not extra:
        return points, radius
    more = np.concatenate(extra)
    width = float(np.median(radius)) if len(radius) else 1.0
    return np.concatenate([points, more]), np.concatenate(
        [radius, np.full(len(more), width, np.float32)]
    )
