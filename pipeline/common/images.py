"""Image files to arrays: the one place that opens, checks and decodes a handwriting image.

Every consumer (LMDB build, PNG-directory loader, predict, the app) gets the same pixels:
8-bit grayscale, shape [height, width, 1], upright as the EXIF orientation says, dark ink on
light paper, transparent areas composited onto white (a canvas drawing has a transparent
background). Files are opened without ever blocking (a FIFO or device is refused), and the
format and the pixel count are checked from the header before any pixel is decoded, so a
hostile file costs neither a hang nor memory.
"""

from __future__ import annotations

import io
import os
import stat
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np
from omegaconf import DictConfig
from PIL import Image, ImageOps, UnidentifiedImageError

from pipeline.common.errors import HTRError

MISSING = "missing"
EMPTY = "empty"
UNREADABLE = "unreadable"
UNSUPPORTED = "unsupported"
UNDECODABLE = "undecodable"
OVERSIZED = "oversized"

# Pillow's names of the formats the pipeline reads; MPO is how Pillow opens many phone JPEGs.
FORMATS = ("PNG", "JPEG", "MPO", "TIFF", "BMP", "WEBP")
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError)


class ImageError(HTRError):
    """An image that cannot be used; `reason` is one of the reason constants above."""

    def __init__(self, reason: str, where: str, detail: str = "") -> None:
        self.reason = reason
        self.where = where
        super().__init__(f"{reason} image {where}" + (f": {detail}" if detail else ""))


def pixel_limit(cfg: DictConfig) -> int:
    """The largest image (`images.max_megapixels`) that predict, the app and data building read."""
    return int(cfg.images.max_megapixels * 1_000_000)


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


def decode_gray(
    data: bytes,
    where: str = "<bytes>",
    max_pixels: int | None = None,
    formats: Sequence[str] = FORMATS,
) -> np.ndarray:
    """Decode encoded image bytes into a uint8 [h, w, 1] array (limits as in `load_gray`)."""
    if not data:
        raise ImageError(EMPTY, where, "zero bytes")
    return _decode(io.BytesIO(data), where, max_pixels, formats)


def load_gray(
    path: Path, max_pixels: int | None = None, formats: Sequence[str] = FORMATS
) -> np.ndarray:
    """Read an image file into a uint8 [h, w, 1] array, decoding only what the header allows.

    `max_pixels` None is Pillow's own decompression-bomb limit, enforced as a refusal: for
    images the pipeline wrote itself; user files get the configured `pixel_limit`.
    """
    with open_image_file(path) as file:
        if os.fstat(file.fileno()).st_size == 0:
            raise ImageError(EMPTY, str(path), "zero bytes")
        return _decode(file, str(path), max_pixels, formats)


def read_bytes(path: Path) -> bytes:
    """The bytes of an image file; ImageError saying why not (missing, not a file, ...)."""
    with open_image_file(path) as file:
        try:
            return file.read()
        except OSError as err:
            raise ImageError(UNREADABLE, str(path), err.strerror or str(err)) from err


def open_image_file(path: Path) -> BinaryIO:
    """Open a regular file for reading, never blocking: a FIFO, directory or device is refused."""
    where = str(path)
    try:
        _require_regular(os.stat(path).st_mode, where)  # nothing else is even opened
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError) as err:
        broken = os.path.islink(path)
        raise ImageError(MISSING, where, "a broken symbolic link" if broken else "") from err
    except OSError as err:  # a symlink loop, an over-long name, no permission
        raise ImageError(UNREADABLE, where, err.strerror or str(err)) from err
    try:
        _require_regular(os.fstat(fd).st_mode, where)  # still, if it was swapped since stat
    except ImageError:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def _require_regular(mode: int, where: str) -> None:
    if not stat.S_ISREG(mode):
        raise ImageError(UNREADABLE, where, f"it is {_file_kind(mode)}, not an image file")


def _file_kind(mode: int) -> str:
    """What a non-regular file is, for the error message."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _decode(
    file: BinaryIO, where: str, max_pixels: int | None, formats: Sequence[str]
) -> np.ndarray:
    """Open the header, check format and size, then decode, upright, to grey."""
    limit = Image.MAX_IMAGE_PIXELS if max_pixels is None else max_pixels
    try:
        # Pillow warns above its own limit; the refusal below says it in one line instead.
        # (catch_warnings is process-wide: a thread race can at worst keep this warning off.)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(file)
    except Image.DecompressionBombError as err:  # so large that Pillow will not even open it
        floor = 2 * (Image.MAX_IMAGE_PIXELS or 0)
        size = f"over {floor / 1e6:.0f} megapixels"
        raise ImageError(OVERSIZED, where, _over(size, min(limit or floor, floor))) from err
    except UnidentifiedImageError as err:
        raise ImageError(UNDECODABLE, where, f"not a {_names(formats)} image") from err
    except _DECODE_ERRORS as err:
        raise ImageError(UNDECODABLE, where, str(err) or type(err).__name__) from err
    with image:
        if image.format not in formats:
            raise ImageError(
                UNSUPPORTED, where, f"it is a {image.format} image, not {_names(formats)}"
            )
        width, height = image.size
        if limit is not None and width * height > limit:
            size = f"{width}x{height} pixels ({width * height / 1e6:.1f} megapixels)"
            raise ImageError(OVERSIZED, where, _over(size, limit))
        try:
            image.load()
            ImageOps.exif_transpose(image, in_place=True)
            return to_gray(image)
        except (*_DECODE_ERRORS, Image.DecompressionBombError) as err:
            raise ImageError(UNDECODABLE, where, str(err) or type(err).__name__) from err


def _over(size: str, limit: int | None) -> str:
    return f"{size}; the limit is {(limit or 0) / 1e6:g} megapixels"


def _names(formats: Sequence[str]) -> str:
    """'PNG, JPEG or TIFF' (MPO is Pillow's name for a kind of JPEG)."""
    names = [name for name in formats if name != "MPO"]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


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
