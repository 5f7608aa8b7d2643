"""Image files to arrays: the one place that decodes and validates a handwriting image.

Every consumer (LMDB build, PNG-directory loader, predict, the app) gets the same pixels:
8-bit grayscale, shape [height, width, 1], dark ink on light paper, transparent areas
composited onto white (a canvas drawing has a transparent background).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from pipeline.common.errors import HTRError

MISSING = "missing"
EMPTY = "empty"
UNDECODABLE = "undecodable"


class ImageError(HTRError):
    """An image that cannot be used; `reason` is one of MISSING, EMPTY, UNDECODABLE."""

    def __init__(self, reason: str, where: str, detail: str = "") -> None:
        self.reason = reason
        self.where = where
        super().__init__(f"{reason} image {where}" + (f": {detail}" if detail else ""))


def to_gray(image: Image.Image) -> np.ndarray:
    """A Pillow image as a uint8 [h, w, 1] array, alpha composited onto white paper."""
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(paper, rgba)
    if image.mode in ("I;16", "I;16B", "I;16L"):
        # 16-bit grey: keep the 8 most significant bits, as PNG viewers do.
        wide = np.asarray(image, dtype=np.uint32)
        return (wide >> 8).clip(0, 255).astype(np.uint8)[..., None]
    return np.asarray(image.convert("L"), dtype=np.uint8)[..., None].copy()


def decode_gray(data: bytes, where: str = "<bytes>") -> np.ndarray:
    """Decode encoded image bytes (PNG, JPEG, ...) into a uint8 [h, w, 1] array."""
    if not data:
        raise ImageError(EMPTY, where, "zero bytes")
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            return to_gray(image)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise ImageError(UNDECODABLE, where, str(err) or type(err).__name__) from err


def read_bytes(path: Path) -> bytes:
    """The bytes of an image file; ImageError(MISSING) if it is not there."""
    try:
        return Path(path).read_bytes()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as err:
        raise ImageError(MISSING, str(path)) from err


def load_gray(path: Path) -> np.ndarray:
    """Read and decode an image file into a uint8 [h, w, 1] array."""
    return decode_gray(read_bytes(path), str(path))


def encode_png(image: np.ndarray, compress_level: int = 1) -> bytes:
    """Losslessly encode a uint8 [h, w] or [h, w, 1] array as an 8-bit grayscale PNG."""
    array = np.asarray(image)
    if array.dtype != np.uint8 or array.ndim not in (2, 3) or array.shape[2:] not in ((), (1,)):
        raise HTRError(f"expected a uint8 [h, w, 1] image, got {array.dtype} {array.shape}")
    buffer = io.BytesIO()
    Image.fromarray(array.reshape(array.shape[:2])).save(
        buffer, format="PNG", compress_level=compress_level
    )
    return buffer.getvalue()
