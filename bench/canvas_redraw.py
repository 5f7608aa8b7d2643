"""How models read writing as the app's canvas delivers it: uniform strokes, black on white.

    python bench/canvas_redraw.py --sources SOURCES [--model NAME=URI ...] [--strokes 6 10 16]
        [--synthetic 300] [--pen-widths 0.1 0.2 0.25 0.35 0.5]

Three checks, each read through the app's path (`Recognizer.read_batch`, word beam search):
- the real words of `bench/real_words.py` (SOURCES as there) as scanned, binarised, and
  redrawn as canvas strokes: the ink's centre lines (Otsu threshold, skeleton) drawn with a
  round brush of `--strokes` pixels on the app's canvas (`conf/app`: 600x200), the word scaled
  to fill it as a person drawing it would;
- the control: held-out synthetic pen words (`bench/generalisation.py`) through the same
  redrawing, so the redrawing's own cost (skeleton spurs, jagged centre lines) is seen apart
  from the real writing's;
- stroke width: held-out pen words rendered clean (white paper, black ink, no scan effects)
  with a pen `--pen-widths` of the x-height wide, as a thick brush on small writing is.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from generalisation import visible  # bench/generalisation.py, beside this script
from PIL import Image, ImageDraw
from real_words import crop, read_list  # bench/real_words.py, beside this script
from skimage.filters import threshold_otsu
from skimage.morphology import skeletonize

from pipeline.common.config import compose
from pipeline.common.metrics import text_metrics
from pipeline.data.synthetic import render_held_out
from pipeline.inference.recognizer import Recognizer

CANVAS = (600, 200)
MARGIN = 20
MAX_ZOOM = 4.0
# each skeleton pixel is joined to these neighbours (the other four join it)
_NEIGHBOURS = ((0, 1), (1, 0), (1, 1), (1, -1))
# clean paper and ink for the stroke-width check: every scan effect of the pen renderer off
_PEN = "data.sample.pen."
CLEAN_PEN = [
    f"{_PEN}{key}={value}"
    for key, value in {
        "pressure": "[0.0,0.0]",
        "ink": "[0.0,0.0]",
        "ink_variation": "[0.0,0.0]",
        "texture": "[0.0,0.0]",
        "noise": "[0.0,0.0]",
        "blur": "[0.0,0.0]",
        "p_resample": 0.0,
        "p_jpeg": 0.0,
        "p_ruling": 0.0,
        "p_fragment_top": 0.0,
        "p_fragment_bottom": 0.0,
        "paper": "[255.0,255.0]",
        "contrast": "[1.0,1.0]",
        "p_broad": 0.0,  # every word at the pen width asked for
    }.items()
]


def binarise(grey: np.ndarray) -> np.ndarray:
    """uint8 [h, w, 1] of a grey [h, w(, 1)] image: black where Otsu's threshold finds ink,
    white elsewhere."""
    plane = grey.reshape(grey.shape[:2]).astype(np.float64)
    return np.where(plane < threshold_otsu(plane), 0, 255).astype(np.uint8)[..., None]


def redraw(
    grey: np.ndarray, stroke: float, canvas: tuple[int, int] = CANVAS, supersample: int = 2
) -> np.ndarray | None:
    """The ink's centre lines drawn with a round brush `stroke` pixels wide on a white canvas
    (width, height), scaled to fill it within MARGIN; None when there is no ink."""
    plane = grey.reshape(grey.shape[:2]).astype(np.float64)
    if plane.max() == plane.min():
        return None
    ys, xs = np.nonzero(skeletonize(plane < threshold_otsu(plane)))
    if len(xs) == 0:
        return None
    width, height = canvas
    span_x, span_y = max(int(np.ptp(xs)), 1), max(int(np.ptp(ys)), 1)
    zoom = min((width - 2 * MARGIN) / span_x, (height - 2 * MARGIN) / span_y, MAX_ZOOM)
    left = (width - span_x * zoom) / 2 - xs.min() * zoom
    top = (height - span_y * zoom) / 2 - ys.min() * zoom

    def at(y: int, x: int) -> tuple[float, float]:
        return ((x * zoom + left) * supersample, (y * zoom + top) * supersample)

    image = Image.new("L", (width * supersample, height * supersample), 255)
    draw = ImageDraw.Draw(image)
    radius = stroke * supersample / 2
    points = set(zip(ys.tolist(), xs.tolist(), strict=True))
    for y, x in points:
        for dy, dx in _NEIGHBOURS:
            if (y + dy, x + dx) in points:
                draw.line([at(y, x), at(y + dy, x + dx)], fill=0, width=round(2 * radius))
        cx, cy = at(y, x)
        draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=0)
    return np.asarray(image.resize(canvas, Image.Resampling.LANCZOS))[..., None]


def _cer(recognizer: Recognizer, images: list[np.ndarray], truths: list[str]) -> str:
    texts = [r.text for r in recognizer.read_batch(images, decoder="wordbeam")]
    metrics = text_metrics(truths, texts)
    return f"CER {metrics['cer']:.3f}  word accuracy {metrics['word_accuracy']:.3f}"


def _inked(images: list[np.ndarray | None], originals: list[np.ndarray]) -> list[np.ndarray]:
    """Redrawn images, the original where redrawing found no ink (so every word is read)."""
    return [r if r is not None else o for r, o in zip(images, originals, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sources", type=Path, required=True, help="folder of the clones")
    parser.add_argument("--model", action="append", help="NAME=URI, repeatable")
    parser.add_argument("--strokes", type=float, nargs="+", default=[6.0, 10.0, 16.0])
    parser.add_argument("--synthetic", type=int, default=300, help="held-out pen words")
    parser.add_argument("--pen-widths", type=float, nargs="+", default=[0.1, 0.2, 0.25, 0.35, 0.5])
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    words = read_list()
    scans = [crop(args.sources, word) for word in words]
    truths = [word.text for word in words]
    synthetic = visible(
        render_held_out(
            compose(["data.sample.renderer=pen", f"{_PEN}p_broad=0.0"]),
            args.synthetic,
            seed=args.seed,
        ),
        "synthetic pen words",
    )
    checks: dict[str, tuple[list[np.ndarray], list[str]]] = {
        "real scanned": (scans, truths),
        "real binarised": ([binarise(s) for s in scans], truths),
    }
    for stroke in args.strokes:
        redrawn = _inked([redraw(s, stroke) for s in scans], scans)
        checks[f"real redrawn, {stroke:g}-px brush"] = (redrawn, truths)
    pen_images, pen_truths = [s[0] for s in synthetic], [s[1] for s in synthetic]
    checks["synthetic pen words"] = (pen_images, pen_truths)
    stroke = args.strokes[len(args.strokes) // 2]
    redrawn = _inked([redraw(s, stroke) for s in pen_images], pen_images)
    checks[f"synthetic redrawn, {stroke:g}-px brush"] = (redrawn, pen_truths)
    for share in args.pen_widths:
        overrides = ["data.sample.renderer=pen", *CLEAN_PEN, f"{_PEN}pen_width=[{share},{share}]"]
        clean = visible(
            render_held_out(compose(overrides), args.synthetic, seed=args.seed),
            f"clean pen {share:g}",
        )
        checks[f"clean pen {share:g} x-height wide"] = (
            [s[0] for s in clean],
            [s[1] for s in clean],
        )
    cfg = compose([])
    for spec in args.model or ["trained=models/recognizer.keras"]:
        name, uri = spec.split("=", 1) if "=" in spec else (spec, spec)
        recognizer = Recognizer.load(uri, cfg.decode)
        for label, (images, texts) in checks.items():
            print(f"{name:10s} {label:34s} ({len(images)}) {_cer(recognizer, images, texts)}")


if __name__ == "__main__":
    main()
