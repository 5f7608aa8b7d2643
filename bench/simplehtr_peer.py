"""Time SimpleHTR's own training step as a peer: its TF1 graph, its loader and augmentation.

Run with a Python that has SimpleHTR's dependencies (a separate venv with tensorflow-cpu,
tf_keras, opencv-python-headless, editdistance, lmdb, path), never from the project:

    PEER_PY bench/simplehtr_peer.py --src SimpleHTR/src --data data/raw/sample \
        [--batches 20] [--batch-size 100]

`--data` is an IAM-format folder (words.txt + words/<a>/<a-b>/<id>.png) as the download
stage writes it; it is shown to SimpleHTR as its `gt/words.txt` + `img/` layout through
symlinks in a temporary folder, where SimpleHTR's relative `../model/` also points, so
nothing of SimpleHTR's checkout or of the project is written. Prints one JSON line:
images/s over the timed batches (after one warm-up batch) and process CPU seconds per
wall second.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, required=True, help="SimpleHTR's src/ folder")
    parser.add_argument("--data", type=Path, required=True, help="an IAM-format words folder")
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=100)
    args = parser.parse_args()

    import numpy

    numpy.float = float  # NumPy 2 removed the alias SimpleHTR's preprocessor still uses

    work = Path(tempfile.mkdtemp(prefix="simplehtr-peer-"))
    (work / "model").mkdir()
    (work / "run").mkdir()
    (work / "data" / "gt").mkdir(parents=True)
    (work / "data" / "gt" / "words.txt").symlink_to(args.data.resolve() / "words.txt")
    (work / "data" / "img").symlink_to(args.data.resolve() / "words")
    os.chdir(work / "run")
    sys.path.insert(0, str(args.src.resolve()))

    from dataloader_iam import DataLoaderIAM
    from main import get_img_size
    from model import DecoderType, Model
    from path import Path as PeerPath
    from preprocessor import Preprocessor

    loader = DataLoaderIAM(PeerPath(str(work / "data")), args.batch_size, fast=False)
    model = Model(loader.char_list, DecoderType.BestPath)
    preprocessor = Preprocessor(get_img_size(), data_augmentation=True)
    loader.train_set()
    images, started, cpu_started = 0, 0.0, 0.0
    for number in range(args.batches + 1):
        if not loader.has_next():
            loader.train_set()
        batch = preprocessor.process_batch(loader.get_next())
        model.train_batch(batch)
        if number == 0:  # warm-up: graph set-up and first-call costs
            started, cpu_started = time.perf_counter(), time.process_time()
        else:
            images += batch.batch_size
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    print(json.dumps({"images_per_s": images / wall, "cpu_cores": cpu / wall, "images": images}))


if __name__ == "__main__":
    main()
