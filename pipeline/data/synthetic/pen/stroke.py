"""Draw centre lines with a pen: a disc at every point, its radius following the pressure.

A pen stroke's width is the pen's width times a smooth random pressure field, so strokes
swell and thin along their length the way a ballpoint or fountain pen does. In "filled"
mode the radius is instead the font's own half stroke width, thinned, which gives back the
font's shapes (a fraction of words look font-like on purpose). Discs are rasterised through
a distance transform at a supersampled resolution and averaged down, so edges are
anti-aliased and nothing is drawn point by point in Python.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from pipeline.common.config import PenConfig


@dataclass(frozen=True)
class Pen:
    """One pen for one word."""

    filled: bool  # draw the font's own stroke widths (thinned) instead of a pen line
    width: float  # pen stroke width, x-heights
    thinning: float  # filled mode: factor on the font's half width
    pressure: float  # std of log width along the strokes
    pressure_cell: float  # correlation length of the pressure, x-heights
    min_px: float  # narrowest stroke, output pixels
    max_filled: float  # filled mode: widest half stroke, x-heights


def sample_pen(rng: np.random.Generator, cfg: PenConfig) -> Pen:
    """Draw a pen from the config's ranges; a share `p_broad` of them is broad.

    Without broad pens (p_broad 0) no extra random number is drawn, so data sets made before
    the knob existed (the pretrained base's) are rendered exactly as they were.
    """
    filled = bool(rng.random() < cfg.p_filled)
    broad = cfg.p_broad > 0.0 and bool(rng.random() < cfg.p_broad)
    return Pen(
        filled=filled,
        width=float(rng.uniform(*(cfg.broad_width if broad else cfg.pen_width))),
        thinning=float(rng.uniform(*cfg.filled_thinning)),
        pressure=float(rng.uniform(*cfg.pressure)),
        pressure_cell=float(rng.uniform(*cfg.pressure_cell)),
        min_px=cfg.pen_min_px,
        max_filled=cfg.filled_max_half_width,
    )


def smooth_field(points: np.ndarray, cell: float, rng: np.random.Generator) -> np.ndarray:
    """Unit-variance random values at `points` that vary smoothly over `cell` units."""
    if len(points) == 0:
        return np.zeros(0, np.float32)
    lo = points.min(axis=0)
    grid_xy = (points - lo) / cell
    size = np.floor(grid_xy.max(axis=0)).astype(int) + 2
    grid = rng.standard_normal((size[1], size[0])).astype(np.float32)
    gx, gy = grid_xy[:, 0], grid_xy[:, 1]
    x0, y0 = np.floor(gx).astype(int), np.floor(gy).astype(int)
    fx, fy = gx - x0, gy - y0
    top = grid[y0, x0] * (1 - fx) + grid[y0, x0 + 1] * fx
    bottom = grid[y0 + 1, x0] * (1 - fx) + grid[y0 + 1, x0 + 1] * fx
    value = top * (1 - fy) + bottom * fy
    # Bilinear blending shrinks the variance between grid nodes; undo that on average.
    return (value / 0.75).astype(np.float32)


def radii(
    points: np.ndarray,
    half_width: np.ndarray,
    pen: Pen,
    x_height_px: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Disc radius in output pixels at each centre-line point (points in x-heights)."""
    field = np.clip(smooth_field(points, pen.pressure_cell, rng), -2.0, 2.0)
    pressure = np.exp(pen.pressure * field)
    if pen.filled:  # the font's own contrast, thinned and capped so brush fonts stay thin
        base = np.minimum(half_width * pen.thinning, pen.max_filled) * x_height_px
    else:
        base = np.full(len(points), pen.width / 2 * x_height_px, np.float32)
    return np.maximum(base * pressure, pen.min_px / 2).astype(np.float32)


def draw(
    points_px: np.ndarray, radius_px: np.ndarray, shape: tuple[int, int], supersample: int
) -> np.ndarray:
    """Ink coverage (float32 0..1, `shape`) of discs at `points_px` with `radius_px`."""
    height, width = shape
    ss = max(1, supersample)
    big_h, big_w = height * ss, width * ss
    # Pixel centres sit at half-integers: point (x, y) falls in grid cell floor(x * ss).
    cols = np.floor(points_px[:, 0] * ss).astype(np.int64)
    rows = np.floor(points_px[:, 1] * ss).astype(np.int64)
    inside = (cols >= 0) & (cols < big_w) & (rows >= 0) & (rows < big_h)
    if not inside.any():
        return np.zeros(shape, np.float32)
    flat = rows[inside] * big_w + cols[inside]
    radius_map = np.zeros(big_h * big_w, np.float32)
    np.maximum.at(radius_map, flat, radius_px[inside] * ss)
    free = np.ones(big_h * big_w, bool)
    free[flat] = False
    distance, (near_r, near_c) = ndimage.distance_transform_edt(
        free.reshape(big_h, big_w), return_indices=True
    )
    nearest = radius_map.reshape(big_h, big_w)[near_r, near_c]
    coverage = np.clip(nearest - distance + 0.5, 0.0, 1.0).astype(np.float32)
    if ss > 1:
        coverage = coverage.reshape(height, ss, width, ss).mean(axis=(1, 3))
    return coverage
