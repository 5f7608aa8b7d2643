"""One LMDB environment per split: samples (image + text + id) and a metadata record.

Record `%09d` (0-based sample index) holds a fixed header (CRC32, height, width, id
length, text length), the id and text in UTF-8, then the image: an 8-bit grayscale PNG
(encoding "png") or the raw row-major pixels (encoding "raw"). The CRC32 covers the key
and everything after it, so a flipped bit in a label or a pixel, or a record under the
wrong key, stops the reader instead of silently changing what it trains or scores on.
Key `__meta__` holds JSON (format, count, encoding, geometry, charset, fingerprint, name,
kind, split) and `__meta_crc32__` its CRC32. Stores are immutable once built, so readers
open them without locks. Any damage the reader meets, a checksum or an LMDB error, is one
HTRError naming the store (and the sample), which a rebuild repairs.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lmdb
import numpy as np

from pipeline.common.errors import HTRError
from pipeline.common.images import decode_gray, encode_png

ENCODINGS = ("png", "raw")
FORMAT = 2  # 2: CRC32 per record and for the metadata; 1 (no "format" key): none
META_KEY = b"__meta__"
META_CRC_KEY = b"__meta_crc32__"
CRC = struct.Struct("<I")
HEADER = struct.Struct("<IIIII")  # crc32, height, width, id bytes, text bytes
REBUILD = "rebuild it with `python -m pipeline.build_lmdb` (or `dvc repro build_lmdb`)"
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


def _crc(key: bytes, body: bytes | memoryview) -> int:
    return zlib.crc32(body, zlib.crc32(key))


def pack(key: bytes, sample_id: str, text: str, image: np.ndarray, encoding: str) -> bytes:
    """Serialise a sample into the record value stored under `key`, checksum first."""
    height, width = image.shape[:2]
    payload = encode_png(image) if encoding == "png" else np.ascontiguousarray(image).tobytes()
    ident, label = sample_id.encode("utf-8"), text.encode("utf-8")
    body = HEADER.pack(0, height, width, len(ident), len(label))[CRC.size :]
    body += ident + label + payload
    return CRC.pack(_crc(key, body)) + body


def unpack(key: bytes, value: bytes, where: str = "") -> Record:
    """Check one record value against its checksum and split it (the image stays encoded)."""
    if len(value) < HEADER.size:
        raise HTRError(f"corrupt LMDB record {where}: {len(value)} bytes; {REBUILD}")
    crc, height, width, n_id, n_text = HEADER.unpack_from(value)
    if crc != _crc(key, memoryview(value)[CRC.size :]):
        raise HTRError(f"corrupt LMDB record {where}: checksum mismatch; {REBUILD}")
    start = HEADER.size
    if start + n_id + n_text > len(value):
        raise HTRError(f"corrupt LMDB record {where}: lengths exceed the record; {REBUILD}")
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
        key = sample_key(self.count)
        self._pending.append((key, pack(key, sample_id, text, image, self.encoding)))
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
            "format": FORMAT,
            "count": self.count,
            "encoding": self.encoding,
            "geometry": _geometry(self._heights, self._widths),
        }
        raw = json.dumps(meta, ensure_ascii=False).encode("utf-8")
        self._write([(META_KEY, raw), (META_CRC_KEY, CRC.pack(zlib.crc32(raw)))])
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
        with self._damage():
            self.env = lmdb.open(
                str(self.path), readonly=True, lock=False, readahead=False, max_readers=2048
            )
        try:
            self.metadata: dict[str, Any] = self._read_metadata()
        except BaseException:
            self.env.close()
            raise
        self.encoding: str = self.metadata["encoding"]

    def _read_metadata(self) -> dict[str, Any]:
        """The metadata record, checked against its checksum and this code's format."""
        with self._damage(), self.env.begin() as txn:
            raw, crc = txn.get(META_KEY), txn.get(META_CRC_KEY)
        if raw is None:
            raise HTRError(f"LMDB store {self.path} has no {META_KEY.decode()} record (incomplete)")
        if crc is None:
            raise HTRError(
                f"LMDB store {self.path} was written in an older format without checksums; "
                + REBUILD
            )
        if len(crc) != CRC.size or CRC.unpack(crc)[0] != zlib.crc32(raw):
            raise HTRError(f"corrupt LMDB metadata in {self.path}: checksum mismatch; {REBUILD}")
        metadata = json.loads(raw)
        if metadata.get("format") != FORMAT:
            raise HTRError(
                f"LMDB store {self.path} has format {metadata.get('format')!r}, this code reads "
                f"format {FORMAT}; {REBUILD}"
            )
        return metadata

    @contextmanager
    def _damage(self) -> Iterator[None]:
        """Turn LMDB's own errors (a damaged page, a file that is not LMDB) into one line."""
        try:
            yield
        except lmdb.Error as err:
            raise HTRError(
                f"LMDB store {self.path} is damaged ({type(err).__name__}: {err}); {REBUILD}"
            ) from err

    def __len__(self) -> int:
        return int(self.metadata["count"])

    def record(self, index: int) -> Record:
        """The stored record at a 0-based index, checked against its checksum."""
        with self._damage(), self.env.begin() as txn:
            return self._get(txn, index)

    def _get(self, txn: lmdb.Transaction, index: int) -> Record:
        key = sample_key(index)
        value = txn.get(key)
        if value is None:
            raise HTRError(f"LMDB store {self.path} has no sample {index} (count {len(self)})")
        return unpack(key, value, f"{self.path} sample {index} (key {key.decode()})")

    def records(self, start: int = 0, stop: int | None = None) -> Iterator[Record]:
        """Yield checked records in index order from one read transaction."""
        stop = len(self) if stop is None else min(stop, len(self))
        with self._damage(), self.env.begin() as txn:
            for index in range(start, stop):
                yield self._get(txn, index)

    def read(self, index: int) -> Sample:
        """The decoded sample at a 0-based index."""
        rec = self.record(index)
        return Sample(rec.id, rec.text, decode_record(rec, self.encoding, f"{self.path}[{index}]"))

    def __iter__(self) -> Iterator[Sample]:
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
