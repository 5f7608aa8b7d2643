"""Render a text line as handwriting: one writer's words laid along a drifting baseline.

Each word is drawn by `render.word_ink` with the line's style (one writer, pen and sheet)
varied a little per word (size, slant, stretch, tilt), so the words of a line look alike
but not stamped. Words sit on a baseline that follows a slight overall slope plus a slow
wave and a small per-word jitter, with varied gaps between them; punctuation is part of
the word it follows ("Gaitskell,"), as in natural writing. The ink is then laid on one
sheet of paper, so texture, gradient and noise run across the whole line. `lay_words` is
the layout alone, which the pen renderer (`pen.line`) uses with its own words.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from pipeline.common.errors import HTRError
from pipeline.data.synthetic import render
from pipeline.data.synthetic.fonts import existing_font


@dataclass(frozen=True)
class LineLayout:
    """How a writer lays words along a line: spacing, slope and baseline drift."""

    gap: float  # mean space between words, in x-heights (ink to ink)
    gap_spread: float  # log-normal spread of each gap
    slope: float  # overall baseline angle, degrees (positive: rising to the right)
    wave: float  # amplitude of the slow baseline wave, in x-heights
    wavelength: float  # its wavelength, in x-heights
    phase: float
    jitter: float  # std of each word's baseline offset, in x-heights
    size_spread: float  # std of each word's relative x-height
    slant_spread: float  # std of each word's slant change
    tilt_spread: float  # std of each word's own rotation, degrees


def sample_layout(rng: np.random.Generator) -> LineLayout:
    """Draw one writer's way of laying out a line."""
    return LineLayout(
        gap=rng.uniform(0.55, 1.4),
        gap_spread=rng.uniform(0.05, 0.3),
        slope=float(np.clip(rng.normal(0.0, 0.6), -1.5, 1.5)),
        wave=rng.uniform(0.0, 0.15),
        wavelength=rng.uniform(6.0, 20.0),
        phase=rng.uniform(0.0, 2 * math.pi),
        jitter=rng.uniform(0.0, 0.06),
        size_spread=rng.uniform(0.0, 0.06),
        slant_spread=rng.uniform(0.0, 0.05),
        tilt_spread=rng.uniform(0.0, 1.0),
    )


def _word_style(style: render.Style, layout: LineLayout, rng: np.random.Generator) -> render.Style:
    """The line's style nudged for one word, tilted with the line's slope."""
    return replace(
        style,
        x_height=style.x_height * math.exp(rng.normal(0.0, layout.size_spread)),
        slant=style.slant + rng.normal(0.0, layout.slant_spread),
        stretch=style.stretch * math.exp(rng.normal(0.0, 0.03)),
        rotation=layout.slope + rng.normal(0.0, layout.tilt_spread),
        underline=False,
    )


def _columns(ink: np.ndarray) -> np.ndarray:
    """The word's ink with empty columns on both sides cut away (rows kept)."""
    cols = np.flatnonzero(ink.max(axis=0) > 0.05)
    if cols.size == 0:
        raise HTRError("rendering produced no ink (a font without these glyphs?)")
    return ink[:, cols[0] : cols[-1] + 1]


def line_ink(
    words: list[str],
    font_path: str,
    style: render.Style,
    layout: LineLayout,
    rng: np.random.Generator,
) -> np.ndarray:
    """Ink coverage (float32 0..1) of the words laid along one drifting baseline."""

    def word_ink(word: str, rng: np.random.Generator) -> tuple[np.ndarray, int]:
        return render.word_ink(word, font_path, _word_style(style, layout, rng), rng)

    return lay_words(words, word_ink, style.x_height, layout, rng)


WordInk = Callable[[str, np.random.Generator], tuple[np.ndarray, int]]


def lay_words(
    words: list[str],
    word_ink: WordInk,
    x_height: float,
    layout: LineLayout,
    rng: np.random.Generator,
) -> np.ndarray:
    """Ink coverage of words laid along one drifting baseline, whatever draws each word.

    `word_ink(word, rng)` gives a word's ink coverage and its baseline row; `x_height`
    (pixels) is the unit of the layout's gaps and drift.
    """
    pieces, lefts, rows = [], [], []
    x = 0.0
    for word in words:
        ink, baseline = word_ink(word, rng)
        ink = _columns(ink)
        centre = x + ink.shape[1] / 2
        drift = layout.wave * math.sin(2 * math.pi * centre / (layout.wavelength * x_height))
        drift += rng.normal(0.0, layout.jitter)
        y = -math.tan(math.radians(layout.slope)) * centre + drift * x_height
        pieces.append(ink)
        lefts.append(round(x))
        rows.append(round(y) - baseline)  # top row of the piece relative to the line's baseline
        gap = layout.gap * math.exp(rng.normal(0.0, layout.gap_spread)) * x_height
        x += ink.shape[1] + max(gap, 0.25 * x_height)
    top = min(rows)
    height = max(r + p.shape[0] for r, p in zip(rows, pieces, strict=True)) - top
    width = max(left + p.shape[1] for left, p in zip(lefts, pieces, strict=True))
    canvas = np.zeros((height, width), np.float32)
    for piece, left, row in zip(pieces, lefts, rows, strict=True):
        region = canvas[row - top : row - top + piece.shape[0], left : left + piece.shape[1]]
        np.maximum(region, piece, out=region)
    return canvas


def check_line(text: str) -> list[str]:
    """The words of a line; HTRError unless they are separated by single spaces."""
    words = text.split(" ")
    if not text or any(not w or any(c.isspace() for c in w) for w in words):
        raise HTRError(f"cannot render line {text!r}: words must be separated by single spaces")
    return words


def render_line(
    text: str,
    font_path: Path | str,
    rng: np.random.Generator,
    height: int = 64,
    style: render.Style | None = None,
) -> np.ndarray:
    """A grayscale uint8 image of a line of words (single spaces), dark ink on light paper.

    `height` is the typical height of one word's image, as in `render.render_word`.
    """
    words = check_line(text)
    path = existing_font(font_path)
    style = style or render.sample_style(rng, height)
    ink = line_ink(words, path, style, sample_layout(rng), rng)
    return render.ink_on_paper(render.crop_to_ink(ink, style), replace(style, underline=False), rng)
