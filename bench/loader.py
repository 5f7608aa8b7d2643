"""Loader throughput: LMDB with PNG bytes vs LMDB with raw pixels vs the PNG directory.

Renders a few thousand word images (vendored handwriting fonts, scan-like paper noise)
in IAM format into a temporary project, builds both LMDB encodings with stage 2, then
iterates `make_dataset` over the training split of each path in one process. Prints
images/s, bytes per image and build time; never asserts timings.

    python bench/loader.py [--n 3000] [--epochs 5] [--keep DIR]

Measured on the 2-core dev box (shared, load ~5), two runs, 2400 training images:
    path         images/s    x PNG dir  CPU us/img  build s  bytes/img
    LMDB png    3174-3537    2.3-2.8      217-229     5.0      9351  (PNG level 1)
    LMDB raw    6525-7765    4.8-6.2       88-101     2.0     11902
    PNG dir     1262-1364    1.0          504-528      -       6953  (PNG level 6)
Hence stage 2 stores raw pixels: on a CPU-only trainer every microsecond of decoding is
taken from the model, and the price is ~1.3x the disk of a PNG-bytes store.
"""

from __future__ import annotations

import argparse
import logging
import random
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image, ImageDraw, ImageFont
from tqdm import tqdm

from pipeline.common.config import compose
from pipeline.data import build_lmdb
from pipeline.data.iam.index import Entry, format_entry, image_relpath
from pipeline.training import make_dataset

FONTS_DIR = Path(__file__).resolve().parents[1] / "pipeline" / "data" / "synthetic" / "fonts"
FONTS = sorted(FONTS_DIR.glob("*/*.ttf"))


def render(text: str, rng: random.Random, np_rng: np.random.Generator) -> Image.Image:
    """A word in a random handwriting font, dark ink on noisy light paper (~IAM scale)."""
    font = ImageFont.truetype(str(rng.choice(FONTS)), size=rng.randint(40, 64))
    left, top, right, bottom = font.getbbox(text)
    pad = rng.randint(4, 12)
    size = (right - left + 2 * pad, bottom - top + 2 * pad)
    image = Image.new("L", size, 255)
    ImageDraw.Draw(image).text((pad - left, pad - top), text, fill=rng.randint(0, 60), font=font)
    paper = np_rng.normal(rng.randint(215, 245), 6, size=(size[1], size[0]))
    pixels = np.minimum(np.asarray(image, float), paper)
    return Image.fromarray(pixels.clip(0, 255).astype(np.uint8))


def write_raw(root: Path, name: str, n: int, seed: int = 0) -> None:
    """An IAM-format words data set of `n` rendered words under `root/data/raw/name`."""
    from wordfreq import top_n_list

    rng, np_rng = random.Random(seed), np.random.default_rng(seed)
    vocabulary = [w for w in top_n_list("en", 5000) if w.isprintable() and " " not in w]
    raw = root / "data" / "raw" / name
    lines = []
    for i in tqdm(range(n), desc="rendering", unit="img"):
        sample_id = f"b{i // 10000:02d}-{(i // 100) % 100:03d}-{(i // 10) % 10:02d}-{i % 10:02d}"
        text = rng.choice(vocabulary)
        text = text.capitalize() if rng.random() < 0.2 else text
        path = raw / image_relpath("words", sample_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        render(text, rng, np_rng).save(path)
        entry = Entry(sample_id, text, True, 200, (0, 0, 1, 1))
        lines.append(format_entry(entry, "words"))
    (raw / "words.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def epoch_rate(dataset) -> tuple[float, float]:
    """Images/s (wall clock) and CPU microseconds per image (all threads) of one pass.

    Samples are consumed in-graph and batched, as the training input pipeline does, so
    eager per-element iteration (~100 us each) does not mask the loader's own cost.
    """
    sizes = dataset.map(lambda image, text: tf.size(image) + tf.strings.length(text))
    wall, cpu = time.perf_counter(), time.process_time()
    count = sum(int(tf.size(batch)) for batch in sizes.batch(256))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return count / wall, 1e6 * cpu / count


def store_bytes(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("data.mdb"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000, help="number of rendered words")
    parser.add_argument("--epochs", type=int, default=5, help="timed passes per path")
    parser.add_argument("--keep", type=Path, help="reuse/keep the project here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-loader-"))
    try:
        raw = root / "data" / "raw" / "bench"
        if not (raw / "words.txt").is_file():
            write_raw(root, "bench", args.n)
        png_bytes = sum(p.stat().st_size for p in raw.rglob("*.png"))
        base = ["data=iam_words", "data.name=bench", "data.kind=words"]
        datasets, build_s, per_image = {}, {}, {}
        for encoding in ("png", "raw"):
            cfg = compose([*base, f"paths.lmdb=data/lmdb_{encoding}"], root=root)
            start = time.perf_counter()
            build_lmdb(cfg, encoding=encoding)
            build_s[f"LMDB {encoding}"] = time.perf_counter() - start
            size = store_bytes(root / "data" / f"lmdb_{encoding}" / "bench")
            per_image[f"LMDB {encoding}"] = size / args.n
            datasets[f"LMDB {encoding}"] = make_dataset(cfg, "train")
        cfg = compose([*base, "paths.lmdb=data/lmdb_png", "data.fast=false"], root=root)
        datasets["PNG directory"] = make_dataset(cfg, "train")
        build_s["PNG directory"], per_image["PNG directory"] = 0.0, png_bytes / args.n
        count = sum(1 for _ in datasets["PNG directory"].map(lambda image, text: text))
        for dataset in datasets.values():  # warm-up: page cache, tf.data graphs
            epoch_rate(dataset)
        rates: dict[str, list[tuple[float, float]]] = {label: [] for label in datasets}
        for _ in range(args.epochs):  # interleaved, so load drift hits every path alike
            for label, dataset in datasets.items():
                rates[label].append(epoch_rate(dataset))
        results = {
            label: (*np.median(np.array(r), axis=0), build_s[label], per_image[label])
            for label, r in rates.items()
        }

        reference = results["PNG directory"][0]
        print(f"\n{args.n} rendered words, {count} in train, median of {args.epochs} epochs")
        print(
            f"{'path':<16}{'images/s':>10}{'x PNG dir':>11}{'CPU us/img':>12}"
            f"{'build s':>9}{'bytes/img':>11}"
        )
        for label, (rate, cpu_us, seconds, size) in results.items():
            print(
                f"{label:<16}{rate:>10.0f}{rate / reference:>11.2f}{cpu_us:>12.0f}"
                f"{seconds:>9.1f}{size:>11.0f}"
            )
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
