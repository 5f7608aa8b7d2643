"""Training images/s of several model configs side by side on the same batches, plus the
input pipeline's own rate and batch-1 / batch-64 inference latency (predict vs compiled).

    python bench/train_throughput.py [--models simplehtr crnn] [--steps 20] [--data sample]

Needs the LMDB of the chosen data set (`dvc repro build_lmdb` or `python -m
pipeline.build_lmdb`). Prints numbers and ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import time

import keras
import numpy as np
import tensorflow as tf
from hydra.utils import get_method

from pipeline.common.config import compose
from pipeline.data import load_charset
from pipeline.inference.predictor import compiled_predictor
from pipeline.models.builders import logits_model
from pipeline.models.ctc import ctc_loss
from pipeline.training.batches import model_batches


def _fixed_batches(cfg, charset, steps: int) -> list[tuple[tf.Tensor, tf.Tensor]]:
    data = model_batches(cfg, "train", charset, train=False).take(steps)
    return [(x, y) for x, y in data]


def _input_rate(cfg, charset, steps: int, augment: bool) -> float:
    data = model_batches(cfg, "train", charset, train=True).take(steps)
    if not augment:
        data = model_batches(cfg, "train", charset, train=False).take(steps)
    next(iter(data))
    start, n = time.perf_counter(), 0
    for x, _ in data:
        n += int(x.shape[0])
    return n / (time.perf_counter() - start)


def _overrides(spec: str, data: str) -> list[str]:
    """`crnn` or `crnn:model.rnn=gru;model.rnn_units=128` → Hydra overrides."""
    name, _, extra = spec.partition(":")
    return [f"model={name}", f"data={data}", *[o for o in extra.split(";") if o]]


def _train_rate(spec: str, data: str, charset, batches) -> tuple[float, keras.Model]:
    cfg = compose(_overrides(spec, data))
    model = get_method(cfg.model._target_)(cfg.model, charset.num_classes)
    trainable = logits_model(model)
    trainable.compile(optimizer=keras.optimizers.Adam(1e-3), loss=ctc_loss)
    trainable.train_on_batch(*batches[0])
    start = time.perf_counter()
    n = 0
    for x, y in batches[1:]:
        trainable.train_on_batch(x, y)
        n += int(x.shape[0])
    return n / (time.perf_counter() - start), model


def _latency_ms(fn, x: np.ndarray, repeats: int) -> float:
    fn(x)
    start = time.perf_counter()
    for _ in range(repeats):
        fn(x)
    return (time.perf_counter() - start) / repeats * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", nargs="+", default=["simplehtr", "crnn"])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--skip-input", action="store_true", help="skip the input-pipeline rate")
    parser.add_argument("--data", default="sample")
    args = parser.parse_args()

    base = compose([f"data={args.data}"])
    charset = load_charset(base)
    rates = {}
    print(f"input pipeline, batch {base.train.batch_size}:")
    for augment in () if args.skip_input else (False, True):
        rate = _input_rate(base, charset, args.steps, augment)
        print(f"  {'augmented' if augment else 'clean':9s} {rate:8.1f} img/s")
    for name in args.models:
        cfg = compose(_overrides(name, args.data))
        batches = _fixed_batches(cfg, charset, args.steps + 1)
        rate, model = _train_rate(name, args.data, charset, batches)
        rates[name] = rate
        x1 = batches[0][0][:1].numpy()
        x64 = np.concatenate([x.numpy() for x, _ in batches])[:64]
        compiled = compiled_predictor(model)

        def keras_predict(x, model=model):
            return model.predict(x, verbose=0)

        print(
            f"{name:12s} train {rate:7.1f} img/s | params {model.count_params():,} | "
            f"batch-1 predict {_latency_ms(keras_predict, x1, 10):6.1f} ms"
            f" compiled {_latency_ms(compiled, x1, 20):6.1f} ms | "
            f"batch-{len(x64)} predict {_latency_ms(keras_predict, x64, 3):6.1f}"
            f" ms compiled {_latency_ms(compiled, x64, 3):6.1f} ms"
        )
    first = args.models[0]
    for name in args.models[1:]:
        print(f"training speed {name} / {first}: {rates[name] / rates[first]:.2f}x")


if __name__ == "__main__":
    main()
