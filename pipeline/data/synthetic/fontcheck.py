"""Decide whether a font is usable handwriting: every needed glyph, real lower case.

A font whose lower-case letters are small capitals (or the capitals themselves) turns every
label with a lower-case letter into noise, so it is rejected; so is a font that lacks a
letter or digit (Pillow would draw a .notdef box in its place). Run on a font before it is
vendored; a test runs it on every vendored font.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFont

REQUIRED = string.ascii_letters + string.digits
PUNCTUATION = ",.\"'-;:!?()"
# Letters whose lower case differs in shape from the capital in any real handwriting.
SHAPE_LETTERS = "abdeghnqrt"
ASCENDERS = "bdhkl"
X_HEIGHT = "acemnorsuvwxz"
MIN_ASCENDER_RATIO = 1.2  # real lower case: ascenders stand well above the x-height
_SIZE = 96
_GRID = 24


@dataclass(frozen=True)
class FontVerdict:
    """The outcome of checking one font: accepted or the reason it was not."""

    ok: bool
    reason: str = ""
    missing_punctuation: str = ""


def _codepoints(path: Path) -> set[int]:
    """Characters the font maps to a glyph (the best cmap)."""
    with TTFont(str(path), lazy=True) as font:
        cmap = font.getBestCmap() or {}
    return set(cmap)


def _glyph_mask(font: ImageFont.FreeTypeFont, char: str) -> np.ndarray | None:
    """The glyph's ink cropped to its box and resampled to a fixed grid (shape only)."""
    left, top, right, bottom = font.getbbox(char, anchor="ls")
    if right - left < 2 or bottom - top < 2:
        return None
    image = Image.new("L", (right - left + 4, bottom - top + 4), 0)
    ImageDraw.Draw(image).text((2 - left, 2 - top), char, fill=255, font=font, anchor="ls")
    grid = image.resize((_GRID, _GRID), Image.Resampling.BOX)
    return np.asarray(grid, dtype=np.float32) / 255.0 > 0.25


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    """Overlap of two boolean masks (1 = identical)."""
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def ascender_ratio(path: Path) -> float:
    """Median height of lower-case ascender letters over that of x-height letters.

    About 1.4-1.8 in real lower case; about 1 when the lower case is small capitals or
    the capitals themselves (every letter the same height).
    """
    font = ImageFont.truetype(str(path), _SIZE)

    def height(char: str) -> int:
        _, top, _, bottom = font.getbbox(char, anchor="ls")
        return max(bottom - top, 1)

    tall = np.median([height(c) for c in ASCENDERS])
    short = np.median([height(c) for c in X_HEIGHT])
    return float(tall / short)


def lower_case_like_capitals(path: Path, threshold: float = 0.9) -> tuple[int, list[str]]:
    """How many shape letters have a lower case drawn like the capital, and which."""
    font = ImageFont.truetype(str(path), _SIZE)
    alike = []
    for char in SHAPE_LETTERS:
        low, cap = _glyph_mask(font, char), _glyph_mask(font, char.upper())
        if low is None or cap is None or _iou(low, cap) >= threshold:
            alike.append(char)
    return len(alike), alike


def check_font(path: Path) -> FontVerdict:
    """Accept a font only with every letter and digit and a lower case of its own."""
    try:
        points = _codepoints(path)
        ImageFont.truetype(str(path), _SIZE)
    except Exception as err:  # any unreadable font is just rejected
        return FontVerdict(False, f"unreadable: {err}")
    missing = [c for c in REQUIRED if ord(c) not in points]
    if missing:
        return FontVerdict(False, f"missing glyphs {''.join(missing)!r}")
    count, alike = lower_case_like_capitals(path)
    if count > len(SHAPE_LETTERS) // 2:
        return FontVerdict(False, f"lower case drawn as capitals ({''.join(alike)})")
    ratio = ascender_ratio(path)
    if ratio < MIN_ASCENDER_RATIO:
        return FontVerdict(False, f"small capitals (ascender ratio {ratio:.2f})")
    no_punct = "".join(c for c in PUNCTUATION if ord(c) not in points)
    return FontVerdict(True, "", no_punct)
