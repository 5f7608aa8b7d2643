"""Render a text line with the pen: one writer's hand and pen for every word, words laid
along a drifting baseline by `render_line.lay_words`, then one scan for the whole line.

Each word gets the line's hand nudged a little (size, slant, tilt with the line's slope), so
the words look alike but not stamped; punctuation stays part of the word it follows.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np

from pipeline.common.config import PenConfig
from pipeline.common.errors import HTRError
from pipeline.data.synthetic.fonts import existing_font
from pipeline.data.synthetic.pen.layout import Hand, sample_hand
from pipeline.data.synthetic.pen.scan import crop_margins, scan
from pipeline.data.synthetic.pen.stroke import sample_pen
from pipeline.data.synthetic.pen.word import word_ink
from pipeline.data.synthetic.render_line import LineLayout, check_line, lay_words, sample_layout


def _word_hand(hand: Hand, layout: LineLayout, rng: np.random.Generator) -> Hand:
    """The line's hand nudged for one word, tilted with the line's slope."""
    return replace(
        hand,
        x_height=hand.x_height * math.exp(rng.normal(0.0, layout.size_spread)),
        slant=hand.slant + rng.normal(0.0, layout.slant_spread),
        rotation=layout.slope + rng.normal(0.0, layout.tilt_spread),
    )


def _crop(ink: np.ndarray, margins: tuple[float, ...], x_height: float) -> np.ndarray:
    """The line's ink with the given margins (x-heights; negative cuts) around it."""
    rows = np.flatnonzero(ink.max(axis=1) > 0.2)
    cols = np.flatnonzero(ink.max(axis=0) > 0.2)
    if rows.size == 0:
        raise HTRError("rendering produced no ink")
    left, top, right, bottom = (round(m * x_height) for m in margins)
    padded = np.pad(ink, max(0, left, top, right, bottom))
    shift = max(0, left, top, right, bottom)
    y0, y1 = rows[0] + shift - top, rows[-1] + shift + bottom + 1
    x0, x1 = cols[0] + shift - left, cols[-1] + shift + right + 1
    return padded[y0 : max(y1, y0 + 2), x0 : max(x1, x0 + 2)]


def render_line(
    text: str, font_path: Path | str, rng: np.random.Generator, cfg: PenConfig, height: int
) -> np.ndarray:
    """A grayscale uint8 image of a line of words (single spaces), dark ink on light paper.

    `height` is the typical height of one word's image, as in `pen.render_word`.
    """
    words = check_line(text)
    path = existing_font(font_path, text)
    hand = sample_hand(rng, cfg, height)
    pen = sample_pen(rng, cfg)
    layout = sample_layout(rng)

    def ink_of(word: str, rng: np.random.Generator) -> tuple[np.ndarray, int]:
        return word_ink(word, path, _word_hand(hand, layout, rng), pen, rng, cfg)

    ink = lay_words(words, ink_of, hand.x_height, layout, rng)
    return scan(_crop(ink, crop_margins(rng, cfg), hand.x_height), rng, cfg)
