"""tf.distribute strategy from `train.strategy`: one device, several GPUs/CPUs, or several hosts."""

from __future__ import annotations

import tensorflow as tf

from pipeline.common.errors import HTRError


def make_strategy(name: str) -> tf.distribute.Strategy:
    """`default` (one device), `mirrored` (all local GPUs, else all logical CPUs) or
    `multi_worker` (hosts described by the TF_CONFIG environment variable)."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
        return tf.distribute.MirroredStrategy(devices=devices)
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise HTRError(f"train.strategy must be default, mirrored or multi_worker, got {name!r}")
