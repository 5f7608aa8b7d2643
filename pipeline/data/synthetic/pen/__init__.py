"""Pen-stroke handwriting (`data.sample.renderer=pen`): a font's glyphs reduced to centre
lines, laid out as one hand would (jitter, slant drift, joins), drawn by a pen with pressure
and scanned (paper, ruling, neighbours' strokes, blur, resampling, JPEG).

`glyphs` (centre lines) -> `layout` (the hand) -> `stroke` (the pen) -> `scan`; `word`
puts them together for a word crop, `line` for a text line. Knobs: `data.sample.pen`
(`PenConfig` in the config schema).
"""

from pipeline.data.synthetic.pen.line import render_line
from pipeline.data.synthetic.pen.word import knobs, render_word

__all__ = ["knobs", "render_line", "render_word"]
