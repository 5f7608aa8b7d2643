"""A tiny pen-stroke alphabet, so a browser test can write real words with the mouse.

Each glyph is a list of strokes (pen down, move through the points, pen up) in a box one
unit high: y = 0 is the ascender line, 0.45 the x-height, 1 the baseline.
"""

from __future__ import annotations

import math

Point = tuple[float, float]
Stroke = list[Point]


def _arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float) -> Stroke:
    """Points along an ellipse from `start` to `end` degrees (0 = right, 90 = down)."""
    steps = max(4, int(abs(end - start) / 20))
    return [
        (
            cx + rx * math.cos(math.radians(start + (end - start) * i / steps)),
            cy + ry * math.sin(math.radians(start + (end - start) * i / steps)),
        )
        for i in range(steps + 1)
    ]


GLYPHS: dict[str, tuple[float, list[Stroke]]] = {
    "a": (0.55, [_arc(0.25, 0.72, 0.22, 0.27, -30, 330), [(0.47, 0.45), (0.47, 1.0)]]),
    "c": (0.5, [_arc(0.25, 0.72, 0.23, 0.27, 320, 40)]),
    "d": (0.55, [_arc(0.25, 0.72, 0.22, 0.27, -30, 330), [(0.47, 0.0), (0.47, 1.0)]]),
    "e": (
        0.5,
        [
            [
                (0.03, 0.72),
                (0.47, 0.72),
                *_arc(0.25, 0.72, 0.22, 0.27, 0, -180),
                *_arc(0.25, 0.72, 0.22, 0.27, 180, 45),
            ]
        ],
    ),
    "h": (
        0.55,
        [
            [(0.05, 0.0), (0.05, 1.0)],
            [(0.05, 0.62), *_arc(0.27, 0.65, 0.22, 0.2, 180, 360), (0.49, 1.0)],
        ],
    ),
    "l": (0.2, [[(0.08, 0.0), (0.08, 1.0)]]),
    "n": (
        0.55,
        [
            [(0.05, 0.45), (0.05, 1.0)],
            [(0.05, 0.62), *_arc(0.27, 0.65, 0.22, 0.2, 180, 360), (0.49, 1.0)],
        ],
    ),
    "o": (0.5, [_arc(0.25, 0.72, 0.23, 0.27, -90, 270)]),
    "t": (0.4, [[(0.17, 0.1), (0.17, 0.95), (0.3, 1.0)], [(0.0, 0.45), (0.36, 0.45)]]),
    "7": (0.55, [[(0.02, 0.05), (0.5, 0.05), (0.18, 1.0)]]),
    "0": (0.55, [_arc(0.27, 0.5, 0.24, 0.48, -90, 270)]),
    "1": (0.3, [[(0.02, 0.2), (0.18, 0.0), (0.18, 1.0)]]),
    "2": (0.55, [[*_arc(0.26, 0.27, 0.23, 0.25, 190, 380), (0.03, 1.0), (0.53, 1.0)]]),
    "3": (
        0.55,
        [[*_arc(0.25, 0.26, 0.22, 0.24, 200, 450), *_arc(0.25, 0.74, 0.25, 0.26, -90, 160)]],
    ),
    "4": (0.55, [[(0.4, 1.0), (0.4, 0.0), (0.02, 0.65), (0.55, 0.65)]]),
    "5": (0.55, [[(0.5, 0.0), (0.1, 0.0), (0.07, 0.45), *_arc(0.27, 0.7, 0.25, 0.28, -120, 150)]]),
    "6": (0.55, [[(0.45, 0.0), (0.08, 0.6), *_arc(0.28, 0.72, 0.21, 0.27, 180, 540)]]),
    "8": (0.55, [_arc(0.27, 0.25, 0.2, 0.24, 90, 450), _arc(0.27, 0.74, 0.25, 0.26, -90, 270)]),
    "9": (0.55, [[*_arc(0.27, 0.28, 0.22, 0.27, 0, 360), (0.47, 1.0)]]),
}


LETTER_SPACING = 0.15


def word_strokes(
    text: str, left: float, top: float, height: float, spacing: float = LETTER_SPACING
) -> list[Stroke]:
    """The strokes of `text` written from (left, top) at the given height, in pixels."""
    strokes: list[Stroke] = []
    x = left
    for char in text:
        width, glyph = GLYPHS[char]
        strokes += [[(x + px * height, top + py * height) for px, py in s] for s in glyph]
        x += (width + spacing) * height
    return strokes


def line_strokes(
    words: list[str], left: float, top: float, height: float, gap: float = 0.6
) -> list[Stroke]:
    """The strokes of words written side by side, `gap` x height apart, in pixels."""
    strokes: list[Stroke] = []
    x = left
    for word in words:
        strokes += word_strokes(word, x, top, height)
        x += (sum(GLYPHS[c][0] + LETTER_SPACING for c in word) + gap) * height
    return strokes
