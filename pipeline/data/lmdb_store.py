"""One LMDB environment per split: samples (image + text + id) and a metadata record.

Record `%09d` (0-based sample index) holds a fixed header (height, width, id length,
text length), the id and text in UTF-8, then the image: an 8-bit grayscale PNG
(encoding "png") or the raw row-major pixels (encoding "raw"). Key `__meta__` holds JSON:
count, encoding, geometry, charset, fingerprint, name, kind, split.
Stores are immutable once built, so readers open them without locks.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lmdb
import numpy as np

from pipeline.common.errors import HTRError
from pipeline.common.images import decode_gray, encode_png

ENCODINGS = ("png", "raw")
META_KEY = b"__meta__"
HEADER = struct.Struct("<IIII")
INITIAL_MAP_SIZE = 64 << 20
COMMIT_EVERY = 1024


def sample_key(index: int) -> bytes:
    """The LMDB key of the sample at a 0-based index."""
    return b"%09d" % index


@dataclass(frozen=True)
class Record:
    """One stored sample before image decoding."""

    id: str
    text: str
    height: int
    width: int
    payload: bytes


@dataclass(frozen=True)
class Sample:
    """One decoded sample: uint8 image [h, w, 1], transcription and IAM id."""

    id: str
    text: str
    image: np.ndarray


def pack(sample_id: str, text: str, image: np.ndarray, encoding: str) -> bytes:
    """Serialise a sample into one record value."""
    height, width = image.shape[:2]
    payload = encode_png(image) if encoding == "png" else np.ascontiguousarray(image).tobytes()
    ident, label = sample_id.encode("utf-8"), text.encode("utf-8")
    return HEADER.pack(height, width, len(ident), len(label)) + ident + label + payload


def unpack(value: bytes | memoryview, where: str = "") -> Record:
    """Split one record value into its fields (the image stays encoded)."""
    value = bytes(value)
    if len(value) < HEADER.size:
        raise HTRError(f"corrupt LMDB record {where}: {len(value)} bytes")
    height, width, n_id, n_text = HEADER.unpack_from(value)
    start = HEADER.size
    ident = value[start : start + n_id].decode("utf-8")
    text = value[start + n_id : start + n_id + n_text].decode("utf-8")
    return Record(ident, text, height, width, value[start + n_id + n_text :])


def decode_record(record: Record, encoding: str, where: str = "") -> np.ndarray:
    """The uint8 [h, w, 1] image of a record."""
    if encoding == "raw":
        if len(record.payload) != record.height * record.width:
            raise HTRError(f"corrupt LMDB record {where}: pixel count does not match shape")
        return np.frombuffer(record.payload, np.uint8).reshape(record.height, record.width, 1)
    return decode_gray(record.payload, where)


def _geometry(heights: list[int], widths: list[int]) -> dict[str, Any]:
    """Summary of image sizes, for choosing the model input shape."""
    if not heights:
        return {}
    h, w = np.asarray(heights, float), np.asarray(widths, float)
    aspect = w / h

    def summary(values: np.ndarray) -> dict[str, float]:
        pcts = np.percentile(values, [50, 95, 99])
        return {
            "min": round(float(values.min()), 3),
            "max": round(float(values.max()), 3),
            "mean": round(float(values.mean()), 3),
            "p50": round(float(pcts[0]), 3),
            "p95": round(float(pcts[1]), 3),
            "p99": round(float(pcts[2]), 3),
        }

    return {"height": summary(h), "width": summary(w), "aspect": summary(aspect)}


class LmdbWriter:
    """Append samples to a new LMDB environment in batches, growing the map when full."""

    def __init__(self, path: Path, encoding: str = "png") -> None:
        if encoding not in ENCODINGS:
            raise HTRError(f"LMDB encoding must be one of {ENCODINGS}, got {encoding!r}")
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.encoding = encoding
        self.env = lmdb.open(
            str(self.path), map_size=INITIAL_MAP_SIZE, lock=False, sync=False, metasync=False
        )
        self.count = 0
        self._pending: list[tuple[bytes, bytes]] = []
        self._heights: list[int] = []
        self._widths: list[int] = []

    def put(self, sample_id: str, text: str, image: np.ndarray) -> None:
        """Queue one sample; it is committed with its batch."""
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 1:
            raise HTRError(f"{sample_id}: expected a uint8 [h, w, 1] image, got {image.shape}")
        self._pending.append((sample_key(self.count), pack(sample_id, text, image, self.encoding)))
        self._heights.append(image.shape[0])
        self._widths.append(image.shape[1])
        self.count += 1
        if len(self._pending) >= COMMIT_EVERY:
            self._flush()

    def _write(self, items: list[tuple[bytes, bytes]]) -> None:
        """Commit items in one transaction, doubling the map size until they fit."""
        while True:
            try:
                with self.env.begin(write=True) as txn:
                    for key, value in items:
                        txn.put(key, value)
                return
            except lmdb.MapFullError:
                needed = sum(len(k) + len(v) for k, v in items)
                size = self.env.info()["map_size"]
                self.env.set_mapsize(max(2 * size, size + 2 * needed))

    def _flush(self) -> None:
        if self._pending:
            self._write(self._pending)
            self._pending = []

    def finish(self, metadata: dict[str, Any]) -> dict[str, Any]:
        """Commit the rest and the metadata record, sync and close; returns the metadata."""
        self._flush()
        meta = {
            **metadata,
            "count": self.count,
            "encoding": self.encoding,
            "geometry": _geometry(self._heights, self._widths),
        }
        self._write([(META_KEY, json.dumps(meta, ensure_ascii=False).encode("utf-8"))])
        self.env.sync(True)
        self.env.close()
        return meta

    def close(self) -> None:
        """Close without finishing (the caller discards the directory)."""
        self.env.close()


class LmdbStore:
    """Read access to one split's LMDB environment; use `open_store` to share it."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        data_file = self.path / "data.mdb"
        if not data_file.is_file():
            raise HTRError(f"no LMDB store at {self.path}: run `python -m pipeline.build_lmdb`")
        self.identity = _identity(data_file)
        self.env = lmdb.open(
            str(self.path), readonly=True, lock=False, readahead=False, max_readers=2048
        )
        with self.env.begin() as txn:
            raw = txn.get(META_KEY)
        if raw is None:
            self.env.close()
            raise HTRError(f"LMDB store {self.path} has no {META_KEY.decode()} record (incomplete)")
        self.metadata: dict[str, Any] = json.loads(raw)
        self.encoding: str = self.metadata["encoding"]

    def __len__(self) -> int:
        return int(self.metadata["count"])

    def record(self, index: int) -> Record:
        """The stored record at a 0-based index."""
        with self.env.begin() as txn:
            return self._get(txn, index)

    def _get(self, txn: lmdb.Transaction, index: int) -> Record:
        value = txn.get(sample_key(index))
        if value is None:
            raise HTRError(f"LMDB store {self.path} has no sample {index} (count {len(self)})")
        return unpack(value, f"{self.path}[{index}]")

    def records(self, start: int = 0, stop: int | None = None):
        """Yield records in index order from one read transaction."""
        stop = len(self) if stop is None else min(stop, len(self))
        with self.env.begin() as txn:
            for index in range(start, stop):
                yield self._get(txn, index)

    def read(self, index: int) -> Sample:
        """The decoded sample at a 0-based index."""
        rec = self.record(index)
        return Sample(rec.id, rec.text, decode_record(rec, self.encoding, f"{self.path}[{index}]"))

    def __iter__(self):
        for index, rec in enumerate(self.records()):
            image = decode_record(rec, self.encoding, f"{self.path}[{index}]")
            yield Sample(rec.id, rec.text, image)

    def close(self) -> None:
        """Close the environment (only for stores not shared through `open_store`)."""
        self.env.close()


def _identity(data_file: Path) -> tuple[int, int]:
    stat = os.stat(data_file)
    return stat.st_dev, stat.st_ino


_OPEN_STORES: dict[Path, LmdbStore] = {}


def open_store(path: Path) -> LmdbStore:
    """The process-wide LmdbStore for a directory (LMDB forbids opening one env twice).

    A store rebuilt in place (a new data file at the same path) is opened afresh; the old
    one stays usable by datasets already holding it and closes when they let go of it.
    """
    key = Path(path).resolve()
    store = _OPEN_STORES.get(key)
    if store is not None:
        try:
            current = _identity(key / "data.mdb")
        except FileNotFoundError:
            current = None
        if current == store.identity:
            return store
        del _OPEN_STORES[key]
    store = LmdbStore(key)
    _OPEN_STORES[key] = store
    return store
