"""Render one word as a handwriting-like image: varied writer, pen and paper.

A word is laid out character by character (baseline, size, rotation and spacing jitter,
touching letters allowed) or, for some samples, in one piece so cursive fonts keep their
joins; then slanted, stretched, elastically warped, thickened or thinned like a different
pen, and composed onto paper with texture, a gradient, noise and blur. The output is a
grayscale uint8 array, dark ink on light paper, cropped to the ink with a small margin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

from pipeline.common.errors import HTRError
from pipeline.data.synthetic.fonts import existing_font

_REFERENCE_SIZE = 100


@dataclass(frozen=True)
class Style:
    """One writer, pen and sheet of paper: every random choice of a rendering."""

    x_height: float  # pixels
    per_char: bool  # lay out glyph by glyph (False keeps a cursive font's joins)
    tracking: float  # extra space between letters, in x-heights (negative: touching)
    char_jitter: float  # std of per-letter baseline shift, in x-heights
    char_rotation: float  # std of per-letter rotation, degrees
    char_scale: float  # std of per-letter relative size
    slant: float  # horizontal shear per pixel above the baseline
    rotation: float  # whole-word baseline tilt, degrees
    stretch: float  # horizontal scale
    elastic: float  # elastic displacement amplitude, in x-heights
    weight: float  # stroke weight, -1 (hairline) .. 1 (marker)
    pencil: float  # 0: solid ink, 1: grainy pencil
    ink: float  # ink grey level (0 black)
    paper: float  # paper grey level
    texture: float  # amplitude of smooth paper texture, grey levels
    gradient: float  # brightness change across the image, grey levels
    noise: float  # std of pixel noise, grey levels
    blur: float  # gaussian blur sigma, pixels
    underline: bool
    ruled: bool  # a faint printed ruling line on the paper
    margin: float  # crop margin, in x-heights


def sample_style(rng: np.random.Generator, height: int) -> Style:
    """Draw a writer/pen/paper combination; `height` is the typical word image height."""
    clean = rng.random() < 0.35  # white paper, dark crisp ink: scans and browser canvases
    paper = rng.uniform(235, 255) if clean else rng.uniform(165, 250)
    ink = rng.uniform(0, 50) if clean or rng.random() < 0.5 else rng.uniform(0, 120)
    ink = min(ink, paper - 80)
    return Style(
        x_height=height * rng.uniform(0.24, 0.4),
        per_char=rng.random() < 0.7,
        tracking=rng.normal(0.04, 0.09),
        char_jitter=rng.uniform(0.0, 0.12),
        char_rotation=rng.uniform(0.0, 7.0),
        char_scale=rng.uniform(0.0, 0.08),
        slant=float(np.clip(rng.normal(0.05, 0.22), -0.45, 0.6)),
        rotation=float(np.clip(rng.normal(0, 2.0), -5, 5)),
        stretch=math.exp(rng.normal(0, 0.15)),
        elastic=rng.uniform(0.0, 0.07),
        weight=float(np.clip(rng.normal(0.1, 0.55), -1, 1)),
        pencil=0.0 if clean or rng.random() < 0.75 else rng.uniform(0.2, 0.8),
        ink=ink,
        paper=paper,
        texture=0.0 if clean else rng.uniform(0, 15),
        gradient=0.0 if clean else rng.uniform(-25, 25),
        noise=rng.uniform(0, 3) if clean else rng.uniform(0, 12),
        blur=rng.uniform(0.0, 0.6) if clean else rng.uniform(0.0, 1.2),
        underline=rng.random() < 0.02,
        ruled=not clean and rng.random() < 0.06,
        margin=rng.uniform(0.0, 0.35),
    )


@lru_cache(maxsize=1024)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype(path, size)
    except OSError as err:
        raise HTRError(f"cannot load font file {path}: {err}") from err


@lru_cache(maxsize=128)
def _x_height_ratio(path: str) -> float:
    """The font's x-height per pixel of font size, to normalise sizes across fonts."""
    _, top, _, bottom = _font(path, _REFERENCE_SIZE).getbbox("x", anchor="ls")
    return max(bottom - top, 1) / _REFERENCE_SIZE


def _glyph(font: ImageFont.FreeTypeFont, char: str, angle: float) -> tuple[np.ndarray, int, int]:
    """A glyph's coverage mask rotated about its baseline origin, and that origin's position."""
    left, top, right, bottom = font.getbbox(char, anchor="ls")
    pad = int(0.3 * max(right - left, bottom - top)) + 2
    image = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 0)
    origin = (pad - left, pad - top)
    ImageDraw.Draw(image).text(origin, char, fill=255, font=font, anchor="ls")
    if angle:
        image = image.rotate(angle, resample=Image.Resampling.BICUBIC, center=origin)
    return np.asarray(image), origin[0], origin[1]


def _paste_max(canvas: np.ndarray, patch: np.ndarray, x: int, y: int) -> None:
    """Overlay `patch` at (x, y) by maximum coverage, clipped to the canvas."""
    h, w = patch.shape
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + w, canvas.shape[1]), min(y + h, canvas.shape[0])
    if x1 > x0 and y1 > y0:
        region = canvas[y0:y1, x0:x1]
        np.maximum(region, patch[y0 - y : y1 - y, x0 - x : x1 - x], out=region)


def _layout(text: str, path: str, style: Style, rng: np.random.Generator) -> tuple:
    """Ink coverage (uint8) of the word on a padded canvas, and the baseline row."""
    size = max(6, round(style.x_height / _x_height_ratio(path)))
    font = _font(path, size)
    ascent, descent = font.getmetrics()
    pad = int(2 * style.x_height) + 4
    width = int(font.getlength(text) * 1.3 + abs(style.tracking) * style.x_height * len(text))
    canvas = np.zeros((ascent + descent + 2 * pad, width + 2 * pad), np.uint8)
    baseline = pad + ascent
    if not style.per_char:
        patch, ox, oy = _glyph(font, text, 0.0)
        _paste_max(canvas, patch, pad - ox, baseline - oy)
        return canvas, baseline
    pen = float(pad)
    for i, char in enumerate(text):
        scale = math.exp(rng.normal(0, style.char_scale))
        glyph_font = _font(path, max(6, round(size * scale)))
        angle = rng.normal(0, style.char_rotation)
        patch, ox, oy = _glyph(glyph_font, char, angle)
        dy = rng.normal(0, style.char_jitter) * style.x_height
        _paste_max(canvas, patch, round(pen) - ox, round(baseline + dy) - oy)
        advance = font.getlength(text[: i + 1]) - font.getlength(text[:i])
        gap = (style.tracking + rng.normal(0, 0.03)) * style.x_height
        pen += advance * scale + gap
    return canvas, baseline


def _affine(ink: np.ndarray, baseline: int, style: Style) -> tuple[np.ndarray, int]:
    """Slant, tilt and stretch the word about the middle of its baseline (and its new row)."""
    h, w = ink.shape
    theta = math.radians(style.rotation)
    shear = np.array([[1.0, -style.slant], [0.0, 1.0]])
    rotate = np.array([[math.cos(theta), math.sin(theta)], [-math.sin(theta), math.cos(theta)]])
    forward = rotate @ shear @ np.diag([style.stretch, 1.0])
    out_w = int(w * style.stretch + abs(style.slant) * h + abs(math.sin(theta)) * w) + 2
    extra = int(abs(math.sin(theta)) * w * style.stretch / 2) + 1  # rows the tilt needs
    centre_in = np.array([w / 2, baseline])
    centre_out = np.array([out_w / 2, baseline + extra])
    inverse = np.linalg.inv(forward)
    offset = centre_in - inverse @ centre_out
    data = (*inverse[0], offset[0], *inverse[1], offset[1])
    image = Image.fromarray(ink).transform(
        (out_w, h + 2 * extra), Image.Transform.AFFINE, data, resample=Image.Resampling.BILINEAR
    )
    return np.asarray(image, dtype=np.float32) / 255.0, baseline + extra


def smooth_noise(rng: np.random.Generator, shape: tuple[int, int], cell: float) -> np.ndarray:
    """Zero-mean, unit-scale noise that varies smoothly over `cell` pixels."""
    h, w = shape
    coarse = rng.standard_normal((max(2, int(h / cell) + 2), max(2, int(w / cell) + 2)))
    image = Image.fromarray(coarse.astype(np.float32))
    return np.asarray(image.resize((w, h), Image.Resampling.BILINEAR))


def _elastic(ink: np.ndarray, style: Style, rng: np.random.Generator) -> np.ndarray:
    """Warp the ink with a smooth random displacement field (a hand is never a machine)."""
    if style.elastic <= 0.005:
        return ink
    amplitude = style.elastic * style.x_height
    cell = style.x_height * rng.uniform(0.8, 1.6)
    dx = smooth_noise(rng, ink.shape, cell) * amplitude
    dy = smooth_noise(rng, ink.shape, cell) * amplitude
    rows, cols = np.mgrid[0 : ink.shape[0], 0 : ink.shape[1]].astype(np.float32)
    return ndimage.map_coordinates(ink, [rows + dy, cols + dx], order=1, mode="constant")


def _pen(ink: np.ndarray, style: Style) -> np.ndarray:
    """Redraw the strokes with a round pen of the style's width, whatever the font's own.

    The stroke width is estimated as twice the ink area over its boundary length; the
    ink outline is then moved along its signed distance map, which thickens or thins by
    fractional pixels and keeps the edges anti-aliased.
    """
    mask = ink > 0.3
    area = int(mask.sum())
    if area == 0:
        return ink
    boundary = int((mask & ~ndimage.binary_erosion(mask)).sum())
    width = 2.0 * area / max(boundary, 1)
    target = max(1.6, style.x_height * 0.13 * 1.8**style.weight)
    shift = (target - width) / 2.0
    shift = max(shift, 0.7 - width / 2.0)  # thinning never breaks a stroke
    # Coverage follows the signed distance to the outline; only one side of it can change.
    if shift >= 0:
        signed = np.where(mask, np.inf, 0.5 - ndimage.distance_transform_edt(~mask))
    else:
        signed = np.where(mask, ndimage.distance_transform_edt(mask) - 0.5, -np.inf)
    return np.clip(signed + shift + 0.5, 0.0, 1.0).astype(np.float32)


def _trim(ink: np.ndarray, baseline: int, pad: int) -> tuple[np.ndarray, int]:
    """Cut away empty canvas (keeping `pad` pixels and the x-height band), so later steps
    work on fewer pixels; returns the trimmed map and the baseline's new row."""
    rows = np.flatnonzero(ink.max(axis=1) > 0)
    cols = np.flatnonzero(ink.max(axis=0) > 0)
    if rows.size == 0:
        return ink, baseline
    top = max(min(rows[0], baseline - 2 * pad) - pad, 0)
    bottom = min(max(rows[-1], baseline) + pad + 1, ink.shape[0])
    left, right = max(cols[0] - pad, 0), min(cols[-1] + pad + 1, ink.shape[1])
    return ink[top:bottom, left:right], baseline - top


def crop_to_ink(ink: np.ndarray, style: Style, baseline: int | None = None) -> np.ndarray:
    """Crop an ink coverage map to its ink plus the style's margin.

    With a `baseline`, the crop keeps at least the x-height band above it, so `.` sits low,
    `'` high and `-` in the middle, as they do in a word image.
    """
    rows = np.flatnonzero(ink.max(axis=1) > 0.2)
    cols = np.flatnonzero(ink.max(axis=0) > 0.2)
    if rows.size == 0:
        raise HTRError("rendering produced no ink (empty text or a font without these glyphs)")
    top, bottom, left, right = rows[0], rows[-1], cols[0], cols[-1]
    if baseline is not None:
        top, bottom = min(top, baseline - int(style.x_height)), max(bottom, baseline)
        widen = max(0, int(style.x_height / 2) - (right - left)) // 2
        left, right = left - widen, right + widen
    margin = round(style.margin * style.x_height)
    top, bottom = max(top - margin, 0), min(bottom + margin + 1, ink.shape[0])
    left, right = max(left - margin, 0), min(right + margin + 1, ink.shape[1])
    return ink[top:bottom, left:right]


def _lines(ink: np.ndarray, style: Style, rng: np.random.Generator) -> tuple:
    """An optional underline (ink) and ruling (printed, on the paper)."""
    h, w = ink.shape
    ruling = np.zeros_like(ink)
    thick = max(1, round(style.x_height * 0.08))
    if style.underline:
        y = int(h * rng.uniform(0.8, 0.95))
        x0, x1 = int(w * rng.uniform(0, 0.2)), int(w * rng.uniform(0.8, 1.0))
        ink[max(y - thick, 0) : y, x0:x1] = 1.0
    if style.ruled:
        y = int(h * rng.uniform(0.75, 0.98))
        ruling[y : y + 1, :] = rng.uniform(0.15, 0.4)
    return ink, ruling


def ink_on_paper(ink: np.ndarray, style: Style, rng: np.random.Generator) -> np.ndarray:
    """Lay an ink coverage map (0..1) on the style's paper: a grayscale uint8 image."""
    ink, ruling = _lines(ink.astype(np.float32), style, rng)
    return _compose(ink, ruling, style, rng)


def _compose(
    ink: np.ndarray, ruling: np.ndarray, style: Style, rng: np.random.Generator
) -> np.ndarray:
    """Lay ink on paper; add paper texture, gradient, grain, blur and noise."""
    h, w = ink.shape
    paper = np.full((h, w), style.paper, np.float32)
    if style.texture:
        paper += smooth_noise(rng, (h, w), max(3.0, style.x_height * 0.3)) * style.texture
    if style.gradient:
        angle = rng.uniform(0, 2 * math.pi)
        ys, xs = np.mgrid[0:h, 0:w]
        ramp = (xs * math.cos(angle) + ys * math.sin(angle)) / max(h, w)
        paper += style.gradient * (ramp - ramp.mean())
    paper *= 1.0 - ruling * 0.5
    alpha = ink
    if style.pencil:
        grain = ndimage.gaussian_filter(rng.random((h, w)).astype(np.float32), 0.7)
        alpha = ink * np.clip(1.0 - style.pencil * (1.4 - 2.4 * grain), 0.15, 1.0)
    image = paper * (1.0 - alpha) + style.ink * alpha
    if style.blur > 0.2:
        image = ndimage.gaussian_filter(image, style.blur)
    if style.noise:
        image += rng.standard_normal((h, w)).astype(np.float32) * style.noise
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def render_word(
    text: str,
    font_path: Path | str,
    rng: np.random.Generator,
    height: int = 64,
    style: Style | None = None,
) -> np.ndarray:
    """A grayscale uint8 image of `text` in the font, dark ink on light paper."""
    if not text or any(char.isspace() for char in text):
        raise HTRError(f"cannot render {text!r}: a word must be non-empty without spaces")
    path = existing_font(font_path)
    style = style or sample_style(rng, height)
    ink, baseline = word_ink(text, path, style, rng)
    return ink_on_paper(crop_to_ink(ink, style, baseline), style, rng)


def word_ink(
    text: str, font_path: str, style: Style, rng: np.random.Generator
) -> tuple[np.ndarray, int]:
    """A word's pen-drawn ink coverage (float32 0..1, loosely trimmed) and its baseline row.

    The paper-free half of `render_word`, so a line can lay several words on one sheet.
    """
    canvas, baseline = _layout(text, font_path, style, rng)
    ink, baseline = _affine(canvas, baseline, style)
    ink, baseline = _trim(ink, baseline, pad=int(style.x_height) + 4)
    ink = _elastic(ink, style, rng)
    return _pen(ink, style), baseline


def grey_threshold(image: np.ndarray) -> int:
    """A binarisation level between ink and paper (IAM's words.txt `grey level` field)."""
    low, high = np.percentile(image, [2, 90])
    return int((low + high) / 2)
