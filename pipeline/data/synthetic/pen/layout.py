"""Lay a word's glyph centre lines out as one hand would: uneven, slanted, sometimes joined.

Every letter gets its own size, rotation, baseline offset, slant and gap (gaps can be
negative, so letters touch or overlap); the slant drifts from the first letter to the last;
a smooth wobble bends the strokes; a cursive writer joins neighbouring lower-case letters
with a short stroke from the exit of one to the entry of the next. Output is in x-height
units (y down, baseline at 0 at the word's start).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.common.config import PenConfig
from pipeline.data.synthetic.pen.glyphs import glyph, width_ratio


@dataclass(frozen=True)
class Hand:
    """One writer's habits for one word (every random layout choice but per-letter noise)."""

    x_height: float  # output pixels
    char_scale: float
    char_rotation: float  # degrees
    char_baseline: float
    spacing: float
    spacing_jitter: float
    width_scale: float
    width_normalise: float
    slant: float
    slant_drift: float
    slant_jitter: float
    rotation: float  # degrees
    wobble: float
    wobble_wavelength: float
    p_join: float  # 0 for a writer who never joins
    join_max_gap: float
    join_sag: float


@dataclass(frozen=True)
class Strokes:
    """Centre-line points of a word in x-height units, with the font's half widths."""

    points: np.ndarray  # float32 [n, 2] (x, y), y down
    half_width: np.ndarray  # float32 [n]
    word_box: tuple[float, float, float, float]  # left, top, right, bottom of the word's ink


def _uniform(rng: np.random.Generator, bounds: Sequence[float]) -> float:
    """A draw from a (low, high) knob."""
    return float(rng.uniform(bounds[0], bounds[1]))


def sample_hand(rng: np.random.Generator, cfg: PenConfig, height: int) -> Hand:
    """Draw one writer's habits from the config's ranges; `height` is the typical image height."""
    joined = rng.random() < cfg.p_joined_style
    return Hand(
        x_height=_uniform(rng, cfg.x_height) * height,
        char_scale=_uniform(rng, cfg.char_scale),
        char_rotation=_uniform(rng, cfg.char_rotation),
        char_baseline=_uniform(rng, cfg.char_baseline),
        spacing=_uniform(rng, cfg.spacing),
        spacing_jitter=_uniform(rng, cfg.spacing_jitter),
        width_scale=_uniform(rng, cfg.width_scale),
        width_normalise=cfg.width_normalise,
        slant=_uniform(rng, cfg.slant),
        slant_drift=_uniform(rng, cfg.slant_drift),
        slant_jitter=cfg.slant_jitter,
        rotation=_uniform(rng, cfg.rotation),
        wobble=_uniform(rng, cfg.wobble),
        wobble_wavelength=_uniform(rng, cfg.wobble_wavelength),
        p_join=_uniform(rng, cfg.p_join) if joined else 0.0,
        join_max_gap=cfg.join_max_gap,
        join_sag=_uniform(rng, cfg.join_sag),
    )


def _join(start: np.ndarray, end: np.ndarray, sag: float, density: float) -> np.ndarray:
    """A connecting stroke: a quadratic curve from `start` to `end` dipping by `sag`."""
    length = float(np.hypot(*(end - start)))
    n = max(2, int(length * density * 1.5))
    t = np.linspace(0.0, 1.0, n, dtype=np.float32)[:, None]
    control = (start + end) / 2 + np.array([0.0, sag], np.float32)
    return (1 - t) ** 2 * start + 2 * (1 - t) * t * control + t**2 * end


def _joinable(left: str, right: str) -> bool:
    """Cursive joins link lower-case letters only."""
    return left.isalpha() and right.isalpha() and left.islower() and right.islower()


def layout_word(
    text: str, font_path: str, hand: Hand, rng: np.random.Generator, bucket: int
) -> Strokes:
    """The word's centre lines laid out letter by letter, in x-height units."""
    glyphs = [glyph(font_path, char, bucket) for char in text]
    total = max(sum(g.advance for g in glyphs), 1e-3)
    parts: list[np.ndarray] = []
    widths: list[np.ndarray] = []
    ends: list[tuple[np.ndarray, np.ndarray]] = []  # (entry, exit) in word coordinates
    pen_x = 0.0
    for g in glyphs:
        scale = math.exp(rng.normal(0.0, hand.char_scale))
        angle = math.radians(rng.normal(0.0, hand.char_rotation))
        dy = rng.normal(0.0, hand.char_baseline)
        slant = hand.slant + hand.slant_drift * (pen_x / total) + rng.normal(0, hand.slant_jitter)
        anchors = np.array([g.entry, g.exit], np.float32)
        pts = np.concatenate([g.points, anchors]) * scale
        cx, cy = g.advance * scale / 2, -0.5 * scale
        cos, sin = math.cos(angle), math.sin(angle)
        x, y = pts[:, 0] - cx, pts[:, 1] - cy
        x, y = cos * x - sin * y + cx, sin * x + cos * y + cy
        x = x - slant * y + pen_x
        y = y + dy
        moved = np.stack([x, y], axis=1).astype(np.float32)
        parts.append(moved[:-2])
        widths.append(g.half_width * scale)
        ends.append((moved[-2], moved[-1]))
        gap = hand.spacing + rng.normal(0.0, hand.spacing_jitter)
        pen_x += g.advance * scale + gap
    word_points = np.concatenate(parts) if parts else np.zeros((0, 2), np.float32)
    joins, join_widths = _joins(text, ends, widths, hand, rng, bucket)
    points = np.concatenate([word_points, *joins])
    half = np.concatenate([*widths, *join_widths]).astype(np.float32)
    normalise = width_ratio(font_path) ** -hand.width_normalise
    stretch = hand.width_scale * min(max(normalise, 0.8), 1.35)
    points = _whole_word(points, stretch, hand, rng)
    n = len(word_points)
    if n == 0:
        box = (0.0, -1.0, max(pen_x, 0.3), 0.0)
    else:
        lo, hi = points[:n].min(axis=0), points[:n].max(axis=0)
        box = (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))
    return Strokes(points.astype(np.float32), half, box)


def _joins(
    text: str,
    ends: list[tuple[np.ndarray, np.ndarray]],
    widths: list[np.ndarray],
    hand: Hand,
    rng: np.random.Generator,
    bucket: int,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Connecting strokes between neighbouring letters a cursive writer would join."""
    joins: list[np.ndarray] = []
    join_widths: list[np.ndarray] = []
    if hand.p_join <= 0:
        return joins, join_widths
    for i in range(len(text) - 1):
        start, end = ends[i][1], ends[i + 1][0]
        gap = float(end[0] - start[0])
        if not _joinable(text[i], text[i + 1]) or not -0.3 < gap < hand.join_max_gap:
            continue
        if rng.random() >= hand.p_join:
            continue
        curve = _join(start, end, hand.join_sag * rng.uniform(0.5, 1.5), bucket)
        width = np.median(widths[i]) if widths[i].size else 0.05
        joins.append(curve)
        join_widths.append(np.full(len(curve), width, np.float32))
    return joins, join_widths


def _whole_word(
    points: np.ndarray, stretch: float, hand: Hand, rng: np.random.Generator
) -> np.ndarray:
    """Stretch, tilt and smoothly wobble the whole word."""
    x = points[:, 0] * stretch
    y = points[:, 1]
    theta = math.radians(hand.rotation)
    x, y = math.cos(theta) * x + math.sin(theta) * y, -math.sin(theta) * x + math.cos(theta) * y
    if hand.wobble > 0:
        k = 2 * math.pi / hand.wobble_wavelength
        for axis in range(2):
            phase = rng.uniform(0, 2 * math.pi)
            direction = rng.normal(0, 1, 2)
            direction /= np.linalg.norm(direction) + 1e-9
            shift = hand.wobble * np.sin(k * (direction[0] * x + direction[1] * y) + phase)
            if axis == 0:
                x = x + shift
            else:
                y = y + shift
    return np.stack([x, y], axis=1)
