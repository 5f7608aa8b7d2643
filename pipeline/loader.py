"""tf.data input: (image uint8 [h, w, 1], text) per sample of a split, as built by stage 2.

`data.fast=true` reads the split's LMDB; `data.fast=false` reads the same samples, in the
same order, from the raw PNG files listed in `<split>.ids`. No resizing or shuffling here:
preprocessing and the trainer do that.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf
from omegaconf import DictConfig

from pipeline.build_lmdb import ids_path, raw_dir
from pipeline.charset import Charset
from pipeline.config import project_path
from pipeline.errors import HTRError
from pipeline.iam import image_relpath, index_file, read_entries
from pipeline.images import load_gray
from pipeline.lmdb_store import LmdbStore, open_store
from pipeline.splits import SPLITS

__all__ = [
    "LmdbStore",
    "lmdb_dir",
    "load_charset",
    "make_dataset",
    "open_store",
    "read_ids",
    "read_metadata",
]

CHUNK = 256
SIGNATURE = (
    tf.TensorSpec(shape=(None, None, 1), dtype=tf.uint8),
    tf.TensorSpec(shape=(), dtype=tf.string),
)


def lmdb_dir(cfg: DictConfig) -> Path:
    """The stage-2 output directory of `data.name`."""
    return project_path(cfg, cfg.paths.lmdb, cfg.data.name)


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise HTRError(f"unknown split {split!r}: expected one of {', '.join(SPLITS)}")


def split_store(cfg: DictConfig, split: str) -> LmdbStore:
    """The shared LMDB store of one split."""
    _check_split(split)
    return open_store(lmdb_dir(cfg) / split)


def read_metadata(cfg: DictConfig, split: str) -> dict[str, Any]:
    """The metadata record of a split's LMDB (count, charset, geometry, fingerprint, ...)."""
    return copy.deepcopy(split_store(cfg, split).metadata)


def load_charset(cfg: DictConfig) -> Charset:
    """The charset stage 2 derived from the training split."""
    return Charset.load(lmdb_dir(cfg) / "charset.json")


def read_ids(cfg: DictConfig, split: str) -> list[tuple[str, str]]:
    """(source, id) of each sample of a split, in store order, from `<split>.ids`."""
    _check_split(split)
    path = ids_path(lmdb_dir(cfg), split)
    if not path.is_file():
        raise HTRError(f"split ids file not found: {path}: run `python -m pipeline.build_lmdb`")
    pairs = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        source, sep, sample_id = line.partition("/")
        if not sep or not source or not sample_id:
            raise HTRError(f"{path}:{number}: expected <source>/<id>, got {line!r}")
        pairs.append((source, sample_id))
    return pairs


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


def _texts(cfg: DictConfig, source: str) -> dict[str, str]:
    """Id -> transcription of one raw data set."""
    index = raw_dir(cfg, source) / index_file(cfg.data.kind)
    return {e.id: e.text for e in read_entries(index, cfg.data.kind)}


def _png_dataset(cfg: DictConfig, split: str) -> tf.data.Dataset:
    """The split's raw PNG files (ids from `<split>.ids`, texts from the raw index)."""
    pairs = read_ids(cfg, split)
    texts = {source: _texts(cfg, source) for source in sorted({s for s, _ in pairs})}
    items = []
    for source, sample_id in pairs:
        if sample_id not in texts[source]:
            raise HTRError(
                f"{source}/{sample_id} from {ids_path(lmdb_dir(cfg), split)} is not in "
                f"{raw_dir(cfg, source) / index_file(cfg.data.kind)}: rebuild the LMDB"
            )
        path = raw_dir(cfg, source) / image_relpath(cfg.data.kind, sample_id)
        items.append((path, texts[source][sample_id]))

    def samples() -> Iterator[tuple[np.ndarray, str]]:
        for path, text in items:
            yield load_gray(path), text

    return tf.data.Dataset.from_generator(samples, output_signature=SIGNATURE)
