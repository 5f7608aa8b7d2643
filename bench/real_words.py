"""How models read real handwriting: words cut from sample images in public repositories.

    # once, with internet: each repository of docs/real_words.tsv, at its commit
    git clone https://github.com/githubharald/SimpleHTR SOURCES/githubharald/SimpleHTR
    ...
    python bench/real_words.py --sources SOURCES [--model NAME=URI ...]
        [--set decode.wordbeam_mode=words ...] [--errors] [--json out.json]

docs/real_words.tsv lists 168 words: the source image (repository, commit, path), the word's
box in it (x0 y0 x1 y1, pixels) and its transcription, grouped by where the writing comes from:
`iam` (lines of the IAM database shipped as samples), `cvl` (a page of the CVL database),
`bentham` (a historical line) and `scheidl` (the sample pages of those repositories' author).
The images are not copied into this project (their licences differ); this script crops them
from a local clone. No data set of the project contains them, so it is a check of real writing,
never training data. Each crop goes through the app's path (`Recognizer.read_batch`, foreign
images: crop to ink, normalise, fit); CER and word accuracy are printed per decoder and group.
"""

from __future__ import annotations

import argparse
import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from pipeline.common.config import compose
from pipeline.common.metrics import text_metrics
from pipeline.inference.recognizer import Recognizer
from pipeline.tracking import tracking_uri_for

LIST = Path(__file__).resolve().parent.parent / "docs" / "real_words.tsv"


@dataclass(frozen=True)
class RealWord:
    repo: str
    commit: str
    path: str
    box: tuple[int, int, int, int]  # x0, y0, x1, y1
    group: str
    text: str


def read_list(path: Path = LIST) -> list[RealWord]:
    """The words of the list file, in its order."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [
        RealWord(
            r["repo"],
            r["commit"],
            r["path"],
            (int(r["x0"]), int(r["y0"]), int(r["x1"]), int(r["y1"])),
            r["group"],
            r["text"],
        )
        for r in rows
    ]


def crop(sources: Path, word: RealWord) -> np.ndarray:
    """The word's uint8 grey [h, w, 1] crop from its source image under `sources`."""
    image_path = sources / word.repo / word.path
    if not image_path.is_file():
        raise SystemExit(
            f"{image_path} not found: clone it first, e.g. git clone "
            f"https://github.com/{word.repo} {sources / word.repo} && "
            f"git -C {sources / word.repo} checkout {word.commit}"
        )
    grey = np.asarray(Image.open(image_path).convert("L"))
    x0, y0, x1, y1 = word.box
    return grey[y0:y1, x0:x1, None]


def score(
    recognizer: Recognizer, images: list[np.ndarray], words: list[RealWord], decoder: str
) -> tuple[dict[str, dict], list[str]]:
    """Metrics over all words and per group for one decoder, and the texts read."""
    texts = [r.text for r in recognizer.read_batch(images, decoder=decoder)]
    groups = sorted({w.group for w in words})
    result = {"all": text_metrics([w.text for w in words], texts)}
    for group in groups:
        pairs = [(w.text, t) for w, t in zip(words, texts, strict=True) if w.group == group]
        result[group] = text_metrics([p[0] for p in pairs], [p[1] for p in pairs])
    rounded = {k: {m: round(float(v), 4) for m, v in r.items()} for k, r in result.items()}
    return rounded, texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sources", type=Path, required=True, help="folder of the clones")
    parser.add_argument("--model", action="append", help="NAME=URI, repeatable")
    parser.add_argument("--set", action="append", default=[], help="a config override")
    parser.add_argument("--errors", action="store_true", help="print each misread word")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    words = read_list()
    images = [crop(args.sources, word) for word in words]
    cfg = compose(args.set)
    specs = args.model or ["trained=models/recognizer.keras"]
    results: dict[str, dict] = {}
    print(f"{len(words)} real words; decode {dict(cfg.decode)}")
    for spec in specs:
        name, uri = spec.split("=", 1) if "=" in spec else (spec, spec)
        recognizer = Recognizer.load(uri, cfg.decode, tracking_uri_for(cfg))
        results[name] = {}
        for decoder in cfg.decode.decoders:
            metrics, texts = score(recognizer, images, words, decoder)
            results[name][decoder] = metrics
            per_group = "  ".join(f"{g} {m['cer']:.3f}" for g, m in metrics.items() if g != "all")
            print(
                f"{name:12s} {decoder:9s} CER {metrics['all']['cer']:.3f}  word accuracy "
                f"{metrics['all']['word_accuracy']:.3f}  | CER per group: {per_group}"
            )
            if args.errors:
                pairs = zip(words, texts, strict=True)
                print("   " + "  ".join(f"{w.text}>{t}" for w, t in pairs if w.text != t))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
