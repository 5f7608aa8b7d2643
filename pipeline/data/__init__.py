"""Data: raw IAM-format sets (IAM or synthetic), per-split LMDB stores, and reading them.

Framework-free (no TensorFlow) so the download stage and its worker processes stay light.
"""

from pipeline.data import iam, synthetic
from pipeline.data.build import build_lmdb
from pipeline.data.layout import FEEDBACK, ids_path, lmdb_dir, raw_dir
from pipeline.data.lmdb_store import LmdbStore, open_store
from pipeline.data.loader import load_charset, raw_samples, read_ids, read_metadata, split_store
from pipeline.data.sources import SAMPLE_SOURCE, SOURCES, fill_raw
from pipeline.data.splits import SPLITS
from pipeline.data.synthetic import DIGIT_PREFIX

__all__ = [
    "DIGIT_PREFIX",
    "FEEDBACK",
    "SAMPLE_SOURCE",
    "SOURCES",
    "SPLITS",
    "LmdbStore",
    "build_lmdb",
    "fill_raw",
    "iam",
    "ids_path",
    "lmdb_dir",
    "load_charset",
    "open_store",
    "raw_dir",
    "raw_samples",
    "read_ids",
    "read_metadata",
    "split_store",
    "synthetic",
]
