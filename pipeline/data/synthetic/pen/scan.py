"""Turn ink coverage into a scanned word crop: grey ink, paper, blur, resampling, JPEG.

Real word crops are photographs of ink on paper after a scanner and a compressor: ink is
grey and uneven, strokes are soft, paper has texture and sometimes a printed ruling, the
image was resampled and JPEG-compressed. Each of those is drawn per word from the config.
The crop margins themselves are chosen here too (a word segmenter leaves them uneven).
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from scipy import ndimage

from pipeline.common.config import PenConfig
from pipeline.data.synthetic.render import smooth_noise


def crop_margins(rng: np.random.Generator, cfg: PenConfig) -> tuple[float, ...]:
    """Left, top, right, bottom margins around the ink in x-heights (negative: cut)."""
    left, right = rng.uniform(*cfg.margin_sides, 2)
    top, bottom = rng.uniform(*cfg.margin, 2)
    return float(left), float(top), float(right), float(bottom)


def _paper(rng: np.random.Generator, cfg: PenConfig, shape: tuple[int, int]) -> np.ndarray:
    """Paper grey level with smooth texture and, sometimes, a faint printed ruling line."""
    h = shape[0]
    paper = np.full(shape, rng.uniform(*cfg.paper), np.float32)
    texture = rng.uniform(*cfg.texture)
    if texture > 0.5:
        paper += smooth_noise(rng, shape, rng.uniform(3.0, 12.0)) * texture
    if rng.random() < cfg.p_ruling:
        row = int(h * rng.uniform(0.6, 1.0)) - 1
        level = rng.uniform(*cfg.ruling_level)
        paper[max(row, 0) : max(row, 0) + 1, :] *= 1.0 - level
    return paper


def _ink_alpha(rng: np.random.Generator, cfg: PenConfig, coverage: np.ndarray) -> np.ndarray:
    """Coverage faded smoothly in places, as a pen runs dry or presses less."""
    variation = rng.uniform(*cfg.ink_variation)
    if variation < 0.02:
        return coverage
    field = smooth_noise(rng, coverage.shape, rng.uniform(4.0, 16.0))
    fade = np.clip(1.0 - variation * np.abs(field), 0.25, 1.0)
    return coverage * fade


def _resample(rng: np.random.Generator, cfg: PenConfig, image: np.ndarray) -> np.ndarray:
    """Down- then up-sample, like a low-resolution scan enlarged again."""
    if rng.random() >= cfg.p_resample:
        return image
    h, w = image.shape
    factor = rng.uniform(*cfg.resample)
    small = (max(1, round(w * factor)), max(1, round(h * factor)))
    pil = Image.fromarray(image).resize(small, Image.Resampling.BOX)
    up = Image.Resampling.BILINEAR if rng.random() < 0.5 else Image.Resampling.BICUBIC
    return np.asarray(pil.resize((w, h), up), dtype=np.float32)


def _jpeg(rng: np.random.Generator, cfg: PenConfig, image: np.ndarray) -> np.ndarray:
    """Save and reload as JPEG at a random quality (block and ringing artefacts)."""
    if rng.random() >= cfg.p_jpeg:
        return image
    buffer = io.BytesIO()
    quality = int(rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1))
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    return np.asarray(Image.open(buffer).convert("L"))


def scan(coverage: np.ndarray, rng: np.random.Generator, cfg: PenConfig) -> np.ndarray:
    """A grayscale uint8 image, dark ink on light paper, of an ink coverage map (0..1)."""
    coverage = coverage.astype(np.float32)
    paper = _paper(rng, cfg, coverage.shape)
    ink_level = rng.uniform(*cfg.ink)
    alpha = _ink_alpha(rng, cfg, coverage)
    image = paper * (1.0 - alpha) + ink_level * alpha
    blur = rng.uniform(*cfg.blur)
    if blur > 0.15:
        image = ndimage.gaussian_filter(image, blur, truncate=3.0)
    image = _resample(rng, cfg, image)
    contrast = rng.uniform(*cfg.contrast)
    level = float(np.median(paper))
    image = level + (image - level) * contrast
    image += rng.standard_normal(image.shape).astype(np.float32) * rng.uniform(*cfg.noise)
    out = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    return _jpeg(rng, cfg, out)
