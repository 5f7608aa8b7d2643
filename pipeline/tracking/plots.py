"""Figures logged with a training run: learning curves and a grid of input samples."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


def plot_training_curves(history: Mapping[str, Sequence[float]], path: Path) -> Path:
    """Plot per-epoch history, one panel per metric with its train and val_ curves."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bases = list(dict.fromkeys(k.removeprefix("val_") for k in history))
    fig, axes = plt.subplots(1, len(bases), figsize=(4 * len(bases), 3.2), squeeze=False)
    for ax, base in zip(axes[0], bases, strict=True):
        for key in (base, f"val_{base}"):
            if key in history:
                values = list(history[key])
                ax.plot(range(len(values)), values, marker=".", label=key)
        ax.set_title(base)
        ax.set_xlabel("epoch")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_sample_grid(
    samples: Sequence[tuple[np.ndarray, str, str]], path: Path, columns: int = 4
) -> Path:
    """Draw (image, truth, prediction) triples; titles green when right, red when wrong."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = max(1, math.ceil(len(samples) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(3 * columns, 1.3 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (image, truth, prediction) in zip(axes.flat, samples, strict=False):
        ax.imshow(np.squeeze(np.asarray(image)), cmap="gray")
        colour = "green" if truth == prediction else "red"
        ax.set_title(f"{prediction!r}\ntruth {truth!r}", fontsize=8, color=colour)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
