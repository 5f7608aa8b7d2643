"""Read what build_lmdb wrote: a split's LMDB store, its metadata, charset and sample ids.

Framework-free on purpose (no TensorFlow): the download stage and the app import `data/`.
`training.dataset` turns these into tf.data pipelines.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from pipeline.common.artifacts import CHARSET_FILE
from pipeline.common.charset import Charset
from pipeline.common.errors import HTRError
from pipeline.data.iam.index import image_relpath, index_file, read_entries
from pipeline.data.layout import ids_path, lmdb_dir, raw_dir
from pipeline.data.lmdb_store import LmdbStore, open_store
from pipeline.data.splits import SPLITS


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
    return Charset.load(lmdb_dir(cfg) / CHARSET_FILE)


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


def _texts(cfg: DictConfig, source: str) -> dict[str, str]:
    """Id -> transcription of one raw data set."""
    index = raw_dir(cfg, source) / index_file(cfg.data.kind)
    return {e.id: e.text for e in read_entries(index, cfg.data.kind)}


def raw_samples(cfg: DictConfig, split: str) -> list[tuple[Path, str]]:
    """(PNG path, text) of each sample of a split, in store order, from the raw data sets."""
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
    return items
