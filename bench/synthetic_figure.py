"""Draw docs/synthetic_samples.png: words of the synthetic data set, to judge realism by eye.

    python bench/synthetic_figure.py [--seed 0] [--out docs/synthetic_samples.png]

Six rows of words from the pen renderer (`data.sample.renderer=pen`), then two rows from
the font renderer (`font`) with the same texts and fonts as the first two pen rows, each
labelled with its transcription and font. Texts and fonts come from the data set's own plan
(training fonts only), rendered at `data.sample.render_height`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.common.config import compose  # noqa: E402
from pipeline.data.synthetic import fonts, sample_data  # noqa: E402

COLS, PEN_ROWS, FONT_ROWS = 6, 6, 2
CELL_W, CELL_H, LABEL_H, HEADER_H = 250, 96, 14, 20


def _paste(sheet: Image.Image, image: np.ndarray, label: str, col: int, top: int) -> None:
    """One word image under its label in a cell (shrunk if larger than the cell)."""
    x = col * CELL_W
    draw = ImageDraw.Draw(sheet)
    draw.text((x + 4, top + 1), label, fill=(200, 0, 0), font=ImageFont.load_default())
    tile = Image.fromarray(image)
    scale = min(1.0, (CELL_W - 8) / tile.width, CELL_H / tile.height)
    if scale < 1.0:
        tile = tile.resize((max(1, int(tile.width * scale)), max(1, int(tile.height * scale))))
    sheet.paste(tile.convert("RGB"), (x + 4, top + LABEL_H))


def _header(sheet: Image.Image, text: str, top: int) -> None:
    ImageDraw.Draw(sheet).text((4, top + 4), text, fill=(0, 0, 160), font=ImageFont.load_default())


def main(seed: int, out: Path) -> None:
    """Render the grid and save it."""
    cfg = compose(["data.sample.renderer=pen"])
    sample = cfg.data.sample
    names = fonts.training_fonts(list(sample.fonts), list(sample.held_out_fonts))
    plan = sample_data.plan_words(sample, seed, COLS * PEN_ROWS, names)
    draw_pen, _ = sample_data.drawers(sample)
    draw_font, _ = sample_data.drawers(compose().data.sample)
    row_h = CELL_H + LABEL_H
    height = 2 * HEADER_H + (PEN_ROWS + FONT_ROWS) * row_h
    sheet = Image.new("RGB", (COLS * CELL_W, height), (255, 255, 255))
    _header(sheet, f"renderer=pen (seed {seed}): text  [font]", 0)
    for index, (text, font) in enumerate(plan):
        image = draw_pen(text, font, seed, index, sample.render_height)
        row, col = divmod(index, COLS)
        _paste(sheet, image, f"{text}  [{font}]", col, HEADER_H + row * row_h)
    top = HEADER_H + PEN_ROWS * row_h
    _header(sheet, "renderer=font: the first two rows' texts and fonts", top)
    for index, (text, font) in enumerate(plan[: COLS * FONT_ROWS]):
        image = draw_font(text, font, seed, index, sample.render_height)
        row, col = divmod(index, COLS)
        _paste(sheet, image, f"{text}  [{font}]", col, top + HEADER_H + row * row_h)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out, optimize=True)
    print(f"wrote {out}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "synthetic_samples.png")
    args = parser.parse_args()
    main(args.seed, args.out)
