"""Training images/s of line-model geometries side by side on the same lines.

    python bench/line_geometry.py [--steps 15] [--data sample_lines]

Each geometry gets its own batches of the same training lines (augmentation off, so
only the model's cost is timed): fixed-width inputs pad every line to the widest, a
variable-width model pads each batch only to its own widest line and batches lines of
similar width together. Needs the data set's LMDB. Prints numbers and ratios; asserts
nothing.
"""

from __future__ import annotations

import argparse
import time

import keras
import numpy as np
from hydra.utils import get_method

from pipeline.common.config import compose
from pipeline.data import load_charset
from pipeline.models.builders import logits_model
from pipeline.models.ctc import ctc_loss
from pipeline.training.batches import model_batches

GEOMETRIES = {
    "fixed 64x1024 lstm (first crnn_line)": [
        "model.height=64",
        "model.width=1024",
        "model.variable_width=false",
        "model.conv_filters=[16,32,64,128,128]",
        "model.pool_sizes=[[4,2],[2,2],[2,1],[2,1],[2,1]]",
        "model.rnn=lstm",
    ],
    "fixed 32x768 gru": ["model.variable_width=false"],
    "variable 32x<=768 gru (crnn_line)": [],
}


def _rate(overrides: list[str], data: str, steps: int) -> tuple[float, float]:
    cfg = compose(["model=crnn_line", f"data={data}", "augment=none", *overrides])
    charset = load_charset(cfg)
    batches = list(model_batches(cfg, "train", charset, train=True).take(steps + 1))
    model = get_method(cfg.model._target_)(cfg.model, charset.num_classes)
    trainable = logits_model(model)
    trainable.compile(optimizer=keras.optimizers.Adam(1e-3), loss=ctc_loss)
    for x, y in batches:  # trace every batch shape once before timing
        trainable.train_on_batch(x, y)
    start, n = time.perf_counter(), 0
    for x, y in batches[1:]:
        trainable.train_on_batch(x, y)
        n += int(x.shape[0])
    mean_width = float(np.mean([x.shape[2] for x, _ in batches]))
    return n / (time.perf_counter() - start), mean_width


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--data", default="sample_lines")
    args = parser.parse_args()
    rates = {}
    for name, overrides in GEOMETRIES.items():
        rates[name], width = _rate(overrides, args.data, args.steps)
        print(f"{name:40s} {rates[name]:6.1f} img/s, mean batch width {width:6.0f} px")
    first = next(iter(rates))
    for name in list(rates)[1:]:
        print(f"{name} / {first}: {rates[name] / rates[first]:.2f}x")


if __name__ == "__main__":
    main()
