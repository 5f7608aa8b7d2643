"""tf.data input: (image uint8 [h, w, 1], text) per sample of a split, as built by stage 2.

`data.fast=true` reads the split's LMDB; `data.fast=false` reads the same samples, in the
same order, from the raw PNG files listed in `<split>.ids`. No resizing or shuffling here:
preprocessing and the batches do that.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import tensorflow as tf
from omegaconf import DictConfig

from pipeline.common.images import load_gray
from pipeline.data import LmdbStore, raw_samples, split_store

CHUNK = 256
SIGNATURE = (
    tf.TensorSpec(shape=(None, None, 1), dtype=tf.uint8),
    tf.TensorSpec(shape=(), dtype=tf.string),
)


def make_dataset(cfg: DictConfig, split: str) -> tf.data.Dataset:
    """Samples of a split as (uint8 image [h, w, 1], tf.string text), in store order."""
    if cfg.data.fast:
        return _lmdb_dataset(split_store(cfg, split))
    return _png_dataset(cfg, split)


def _lmdb_dataset(store: LmdbStore) -> tf.data.Dataset:
    """Records read in chunks (one Python->TF hand-over per chunk), decoded in parallel."""

    def chunks() -> Iterator[tuple[list[bytes], list[str], np.ndarray]]:
        for start in range(0, len(store), CHUNK):
            recs = list(store.records(start, start + CHUNK))
            shapes = np.array([(r.height, r.width) for r in recs], np.int32).reshape(-1, 2)
            yield [r.payload for r in recs], [r.text for r in recs], shapes

    dataset = tf.data.Dataset.from_generator(
        chunks,
        output_signature=(
            tf.TensorSpec((None,), tf.string),
            tf.TensorSpec((None,), tf.string),
            tf.TensorSpec((None, 2), tf.int32),
        ),
    ).unbatch()
    if store.encoding == "raw":

        def decode(payload: tf.Tensor, text: tf.Tensor, shape: tf.Tensor):
            pixels = tf.reshape(tf.io.decode_raw(payload, tf.uint8), tf.concat([shape, [1]], 0))
            return tf.ensure_shape(pixels, (None, None, 1)), text

    else:
        # Stored PNGs are 8-bit grayscale written by images.encode_png, so TF's decoder
        # yields exactly the pixels images.py produced (test_loader checks this).
        def decode(payload: tf.Tensor, text: tf.Tensor, shape: tf.Tensor):
            return tf.ensure_shape(tf.io.decode_png(payload, channels=1), (None, None, 1)), text

    return dataset.map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def _png_dataset(cfg: DictConfig, split: str) -> tf.data.Dataset:
    """The split's raw PNG files (ids from `<split>.ids`, texts from the raw index)."""
    items = raw_samples(cfg, split)

    def samples() -> Iterator[tuple[np.ndarray, str]]:
        for path, text in items:
            yield load_gray(path), text

    return tf.data.Dataset.from_generator(samples, output_signature=SIGNATURE)
