"""Draw docs/normalisation.png: what the one preprocessing path does to an image.

    python bench/normalisation_figure.py [--n 8] [--out docs/normalisation.png]

Each row is one word (held-out fonts, pen renderer, so never trained on): the image as it
comes, the ink after contrast normalisation (`to_ink`), after slant correction (`deslant`,
with the shear it chose) and the model's 32x128 input as the recognizer sees it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.common.config import compose  # noqa: E402
from pipeline.data.synthetic.sample_data import render_held_out  # noqa: E402
from pipeline.models import Preprocessing, fit_to_input, prepare_foreign, to_ink  # noqa: E402
from pipeline.models.preprocess import deslant, estimate_slant  # noqa: E402

CELL_W, CELL_H, LABEL_H = 270, 100, 14
COLUMNS = ("as written", "ink normalised", "deslanted", "model input 32x128")


def _tile(image: np.ndarray) -> Image.Image:
    tile = Image.fromarray(np.uint8(np.clip(image, 0, 255)))
    scale = min((CELL_W - 8) / tile.width, (CELL_H - LABEL_H - 4) / tile.height, 3.0)
    size = (max(1, int(tile.width * scale)), max(1, int(tile.height * scale)))
    return tile.resize(size, Image.Resampling.NEAREST if scale > 1 else Image.Resampling.BILINEAR)


def _as_paper(ink: np.ndarray) -> np.ndarray:
    return 255.0 * (1.0 - ink[..., 0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "normalisation.png")
    args = parser.parse_args()
    cfg = compose(["data.sample.renderer=pen"])
    words = [(img, text) for img, text in render_held_out(cfg, 4 * args.n, seed=args.seed)]
    words = [w for w in words if len(w[1]) >= 4][: args.n]
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
        fitted = fit_to_input(grey, 32, 128, preprocessing=Preprocessing(deslant=True))
        panels = [image, _as_paper(ink.numpy()), _as_paper(upright.numpy())]
        panels.append(_as_paper(fitted.numpy()))
        labels = [repr(text), "", f"shear {shear:+.1f}", ""]
        for col, (panel, label) in enumerate(zip(panels, labels, strict=True)):
            x = col * CELL_W
            draw.text((x + 4, top), label, fill=(200, 0, 0), font=label_font)
            sheet.paste(_tile(panel).convert("RGB"), (x + 4, top + LABEL_H))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
