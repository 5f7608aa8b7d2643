"""Read handwriting images from the command line with a trained or registered model.

    python -m pipeline.predict word.png more.jpg [--model URI] [--decoder beam] [--json]

The model loads once (default: the champion of the default data set's registered model);
every image goes through `pipeline.common.images` and the shared `Recognizer`. A missing, empty,
unreadable (a directory, FIFO, symlink loop...), undecodable, oversized (`images.max_megapixels`,
checked before decoding) or blank image gets one error line on stderr naming it; the others
are still read, and the exit status is 1 at the end if any image failed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from pipeline.common.errors import HTRError
from pipeline.decoding import text_decoders

if TYPE_CHECKING:
    from omegaconf import DictConfig


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line: images, model, decoder, mode, top-k, output format."""
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.predict", description="Recognise handwritten words in images."
    )
    parser.add_argument("images", nargs="+", type=Path, help="image files (PNG, JPEG, ...)")
    parser.add_argument(
        "--model",
        help="a .keras file or an MLflow model URI (default: models:/htr-<data>@champion)",
    )
    parser.add_argument("--decoder", choices=text_decoders(), default="beam")
    parser.add_argument("--mode", choices=("text", "digit"), default="text")
    parser.add_argument("--top-k", type=int, default=5, help="candidates to report (>= 1)")
    parser.add_argument("--json", action="store_true", help="one JSON object per image and line")
    parser.add_argument("--tracking-uri", help="MLflow store (default: the config's)")
    args = parser.parse_args(argv)
    if args.top_k < 1:
        parser.error(f"--top-k must be at least 1, got {args.top_k}")
    return args


def answer(path: Path, reading: Any, as_json: bool) -> str:
    """One output line for one image's reading."""
    if not as_json:
        return f"{path}\t{reading.text}\t{reading.probability:.4g}"
    data: dict[str, Any] = {
        "image": str(path),
        "text": reading.text,
        "probability": reading.probability,
        "candidates": [{"text": c.text, "probability": c.probability} for c in reading.candidates],
    }
    if reading.digit_probabilities is not None:
        data["digit_probabilities"] = [float(p) for p in reading.digit_probabilities]
    return json.dumps(data, ensure_ascii=False)


def _load(args: argparse.Namespace, cfg: DictConfig):
    """The Recognizer for --model (default: the configured champion), loaded once."""
    from pipeline.inference import Recognizer
    from pipeline.tracking import registered_model_name, tracking_uri_for

    uri = args.model or f"models:/{registered_model_name(cfg)}@{cfg.mlflow.champion_alias}"
    tracking_uri = args.tracking_uri or tracking_uri_for(cfg)
    try:
        return Recognizer.load(uri, cfg.decode, tracking_uri=tracking_uri)
    except HTRError as error:
        if uri in str(error):
            raise
        raise HTRError(f"{uri}: {error}") from error


def run(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Read every image; return 0 if all were read, 1 if any failed (model: 2)."""
    from pipeline.common.config import compose
    from pipeline.common.images import load_gray, pixel_limit

    try:
        cfg = compose()
        recognizer = _load(args, cfg)
    except HTRError as error:
        print(f"error: cannot load the model: {error}", file=err)
        return 2
    max_pixels = pixel_limit(cfg)
    failed = 0
    for path in args.images:
        try:
            image = load_gray(path, max_pixels)
            reading = recognizer.read(image, args.decoder, args.mode, args.top_k, foreign=True)
        except HTRError as error:
            failed += 1
            message = str(error)
            print(f"error: {message if str(path) in message else f'{path}: {message}'}", file=err)
            continue
        print(answer(path, reading, args.json), file=out, flush=True)
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line (before the slow TensorFlow import) and read the images."""
    args = parse_args(argv)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
