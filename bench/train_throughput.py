"""Training speed side by side in one run: our model configs through the real training path
(tf.data from LMDB with augmentation, `fit`) and, optionally, SimpleHTR's own code as a peer.

    python bench/train_throughput.py [--models simplehtr:train.batch_size=64 crnn]
        [--steps 30] [--data sample]
        [--simplehtr-src SimpleHTR/src --simplehtr-python /path/to/peer/venv/bin/python]

Needs the LMDB (and, for the peer, the raw folder) of the chosen data set (`dvc repro
build_lmdb`). Runs the peer before and after our models (the machine's speed drifts), so its
rate is the mean of the two. Prints images/s, process CPU cores (CPU seconds / wall
seconds), each config's ratio to SimpleHTR (or to the first config), and batch-1 / batch-64
inference latency. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from pathlib import Path

import keras
import numpy as np
from hydra.utils import get_method

from pipeline.common.config import compose, project_path
from pipeline.data import load_charset
from pipeline.inference import compiled_predictor
from pipeline.models import ctc_loss, logits_model
from pipeline.training import model_batches

PEER = Path(__file__).resolve().parent / "simplehtr_peer.py"


def _overrides(spec: str, data: str) -> list[str]:
    """`crnn` or `simplehtr:train.batch_size=64;model.rnn_units=128` → Hydra overrides."""
    name, _, extra = spec.partition(":")
    return [f"model={name}", f"data={data}", *[o for o in extra.split(";") if o]]


def _train_rate(cfg, charset, steps: int) -> tuple[float, float, keras.Model]:
    """Images/s and CPU cores of `fit` on augmented LMDB batches, after a warm-up."""
    model = get_method(cfg.model._target_)(cfg.model, charset.num_classes)
    trainable = logits_model(model)
    trainable.compile(optimizer=keras.optimizers.Adam(cfg.train.lr), loss=ctc_loss)
    data = model_batches(cfg, "train", charset, train=True).repeat()
    trainable.fit(data, steps_per_epoch=3, epochs=1, verbose=0)
    started, cpu_started = time.perf_counter(), time.process_time()
    trainable.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    return steps * cfg.train.batch_size / wall, cpu / wall, model


def _peer_rate(python: str, src: Path, raw: Path, batches: int) -> tuple[float, float]:
    out = subprocess.run(
        [python, str(PEER), "--src", str(src), "--data", str(raw), "--batches", str(batches)],
        capture_output=True,
        text=True,
        check=True,
        env={"TF_CPP_MIN_LOG_LEVEL": "2", "TF_USE_LEGACY_KERAS": "1", "PATH": "/usr/bin:/bin"},
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result["images_per_s"], result["cpu_cores"]


def _report_peer(args: argparse.Namespace, raw: Path) -> tuple[float, float]:
    rate, cores = _peer_rate(args.simplehtr_python, args.simplehtr_src, raw, args.peer_batches)
    print(f"SimpleHTR (own code, batch 100)  {rate:7.1f} img/s  cpu {cores:.2f} cores")
    return rate, cores


def _latency_ms(fn, x: np.ndarray, repeats: int) -> float:
    fn(x)
    start = time.perf_counter()
    for _ in range(repeats):
        fn(x)
    return (time.perf_counter() - start) / repeats * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["simplehtr:train.batch_size=64", "crnn"])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--data", default="sample")
    parser.add_argument("--simplehtr-src", type=Path, help="SimpleHTR's src/ (a fetched copy)")
    parser.add_argument("--simplehtr-python", help="a Python with SimpleHTR's dependencies")
    parser.add_argument("--peer-batches", type=int, default=15, help="SimpleHTR batches of 100")
    args = parser.parse_args()

    base = compose([f"data={args.data}"])
    charset = load_charset(base)
    peer = bool(args.simplehtr_src and args.simplehtr_python)
    raw = project_path(base, base.paths.raw, base.data.name)
    peer_rates = []
    if peer:
        peer_rates.append(_report_peer(args, raw))
    rates = {}
    for spec in args.models:
        cfg = compose(_overrides(spec, args.data))
        rate, cores, model = _train_rate(cfg, charset, args.steps)
        rates[spec] = rate
        x1 = np.zeros((1, cfg.model.height, cfg.model.width, 1), np.float32)
        x64 = np.zeros((64, cfg.model.height, cfg.model.width, 1), np.float32)
        compiled = compiled_predictor(model)
        one, many = _latency_ms(compiled, x1, 20), _latency_ms(compiled, x64, 3)
        print(
            f"{spec:32s} {rate:7.1f} img/s  cpu {cores:.2f} cores  batch {cfg.train.batch_size}"
            f" | params {model.count_params():,} | inference batch-1 {one:5.1f} ms,"
            f" batch-64 {many:6.1f} ms"
        )
    if peer:
        peer_rates.append(_report_peer(args, raw))
    reference = float(np.mean([r for r, _ in peer_rates])) if peer else rates[args.models[0]]
    name = "SimpleHTR (mean of both runs)" if peer else args.models[0]
    for spec, rate in rates.items():
        print(f"training speed {spec} / {name}: {rate / reference:.2f}x")


if __name__ == "__main__":
    main()
