"""Hostile inputs for the image intake tests, made cheaply in a test's own folder.

`huge_png` writes a valid 1-bit PNG of any size without ever holding its pixels (rows are
streamed through zlib), so a 20000x20000 image costs a few tens of kilobytes and well under
a second; `hostile_files` makes what a user may pass instead of an image file.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

from PIL import Image

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def huge_png(width: int, height: int) -> bytes:
    """A valid white 1-bit greyscale PNG of width x height pixels (no pixel array is built)."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = b"\x00" + b"\xff" * ((width + 7) // 8)  # filter type 0, then white bits
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")


def encoded(image: Image.Image, kind: str, **options) -> bytes:
    """An image encoded in memory by Pillow."""
    buffer = io.BytesIO()
    image.save(buffer, format=kind, **options)
    return buffer.getvalue()


def hostile_files(folder: Path) -> dict[str, Path]:
    """Things that are not image files, by name: a FIFO, a symlink loop, a dangling link,
    a directory, a 300-character file name, a text file and an empty file."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        name: folder / f"{name}.png"
        for name in ("fifo", "loop", "dangling", "directory", "text", "empty")
    }
    os.mkfifo(paths["fifo"])
    os.symlink(folder / "loop-back.png", paths["loop"])
    os.symlink(paths["loop"], folder / "loop-back.png")
    os.symlink(folder / "gone.png", paths["dangling"])
    paths["directory"].mkdir()
    paths["text"].write_text("these are not the pixels you are looking for\n")
    paths["empty"].write_bytes(b"")
    paths["long"] = folder / ("w" * 296 + ".png")  # over NAME_MAX (255): never creatable
    return paths
