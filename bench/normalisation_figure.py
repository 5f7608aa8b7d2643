"""Draw docs/normalisation.png: what the one preprocessing path does to an image.

    python bench/normalisation_figure.py [--n 8] [--out docs/normalisation.png]

Each row is one word (held-out fonts, pen renderer, so never trained on): the image as it
comes, the ink after contrast normalisation (`to_ink`), after slant correction (`deslant`,
with the shear it chose and the core band `core_band` found, its edges drawn grey), the default
model's 32x128 input (whole ink height fitted) and the input fitted by the core band instead
(`model.core_height=0.35`).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.common.config import compose  # noqa: E402
from pipeline.data.synthetic.sample_data import render_held_out  # noqa: E402
from pipeline.models import Preprocessing, fit_to_input, prepare_foreign, to_ink  # noqa: E402
from pipeline.models.preprocess import core_band, deslant, estimate_slant  # noqa: E402

CELL_W, CELL_H, LABEL_H = 230, 100, 14
CORE_HEIGHT = 0.35
COLUMNS = (
    "as written",
    "ink normalised",
    "deslanted, core band",
    "default input 32x128",
    f"core band fit ({CORE_HEIGHT})",
)


def _tile(image: np.ndarray) -> Image.Image:
    tile = Image.fromarray(np.uint8(np.clip(image, 0, 255)))
    scale = min((CELL_W - 8) / tile.width, (CELL_H - LABEL_H - 4) / tile.height, 3.0)
    size = (max(1, int(tile.width * scale)), max(1, int(tile.height * scale)))
    return tile.resize(size, Image.Resampling.NEAREST if scale > 1 else Image.Resampling.BILINEAR)


def _as_paper(ink: np.ndarray) -> np.ndarray:
    return 255.0 * (1.0 - ink[..., 0])


def _with_band(ink: tf.Tensor) -> np.ndarray:
    """The ink as paper with its core band's top and bottom rows drawn mid-grey."""
    paper = _as_paper(ink.numpy())
    top, bottom = (int(v) for v in core_band(ink).numpy())
    for row in (top, min(bottom, paper.shape[0] - 1)):
        paper[row] = np.minimum(paper[row], 128.0)
    return paper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "normalisation.png")
    args = parser.parse_args()
    cfg = compose(["data.sample.renderer=pen"])
    words = [(img, text) for img, text in render_held_out(cfg, 4 * args.n, seed=args.seed)]
    longer = [w for w in words if len(w[1]) >= 4][: args.n - args.n // 4]
    words = longer + [w for w in words if 2 <= len(w[1]) <= 3][: args.n // 4]
    default = Preprocessing.of_model(cfg.model)
    fits = (default, replace(default, core_height=CORE_HEIGHT))
    sheet = Image.new("RGB", (CELL_W * len(COLUMNS), CELL_H * len(words) + 2 * LABEL_H), "white")
    draw = ImageDraw.Draw(sheet)
    label_font = ImageFont.load_default()
    for col, title in enumerate(COLUMNS):
        draw.text((col * CELL_W + 4, 2), title, fill=(0, 0, 160), font=label_font)
    for row, (image, text) in enumerate(words):
        top = row * CELL_H + LABEL_H + 4
        grey = tf.constant(prepare_foreign(image[..., None]))
        ink = to_ink(grey)
        shear = float(estimate_slant(ink))
        upright = deslant(ink)
        panels = [image, _as_paper(ink.numpy()), _with_band(upright)]
        for preprocessing in fits:
            fitted = fit_to_input(grey, 32, 128, preprocessing=preprocessing)
            panels.append(_as_paper(fitted.numpy()))
        labels = [repr(text), "", f"shear {shear:+.1f}", "", ""]
        for col, (panel, label) in enumerate(zip(panels, labels, strict=True)):
            x = col * CELL_W
            draw.text((x + 4, top), label, fill=(200, 0, 0), font=label_font)
            sheet.paste(_tile(panel).convert("RGB"), (x + 4, top + LABEL_H))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
