"""Images into the app: size-checked uploads and canvas drawings as uint8 grey arrays.

Both go through `pipeline.common.images.decode_gray`, the one decoder, so the app reads exactly
the pixels the pipeline would. Limits are checked on the encoded size and on the header's
dimensions before any pixel is decoded, so a huge or hostile file costs nothing.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
from omegaconf import DictConfig
from PIL import Image, UnidentifiedImageError

from pipeline.common.errors import HTRError
from pipeline.common.images import decode_gray
from pipeline.models import prepare_foreign

UPLOAD_TYPES = ("png", "jpg", "jpeg")
_FORMATS = {"PNG", "JPEG"}


class BlankCanvas(HTRError):
    """Nothing is drawn on the canvas yet."""

    def __init__(self) -> None:
        super().__init__("Draw something: the canvas is empty.")


@dataclass(frozen=True)
class Limits:
    """The largest upload accepted: encoded bytes and decoded pixels."""

    max_bytes: int
    max_pixels: int

    @classmethod
    def from_config(cls, app: DictConfig) -> Limits:
        """Limits from the `app` config group (megabytes and megapixels)."""
        return cls(int(app.max_upload_mb * 1_000_000), int(app.max_megapixels * 1_000_000))

    @property
    def upload_mb(self) -> int:
        """A whole-megabyte cap for the browser's uploader (the exact check is here)."""
        return max(1, math.ceil(self.max_bytes / 1_000_000))


def read_upload(data: bytes, name: str, limits: Limits) -> np.ndarray:
    """An uploaded PNG or JPEG as uint8 [h, w, 1]; HTRError saying what is wrong otherwise."""
    if not data:
        raise HTRError(f"{name} is empty (0 bytes): upload a PNG or JPEG image.")
    if len(data) > limits.max_bytes:
        raise HTRError(
            f"{name} is {len(data) / 1e6:.2f} MB; the limit is {limits.max_bytes / 1e6:g} MB."
        )
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind, (width, height) = image.format, image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise HTRError(f"{name} is not an image Pillow can read: upload a PNG or JPEG.") from err
    if kind not in _FORMATS:
        raise HTRError(f"{name} is a {kind} image: upload a PNG or JPEG.")
    if width * height > limits.max_pixels:
        raise HTRError(
            f"{name} is {width}x{height} ({width * height / 1e6:.1f} megapixels); "
            f"the limit is {limits.max_pixels / 1e6:g} megapixels."
        )
    return decode_gray(data, name)


def read_canvas(png: bytes | None) -> np.ndarray:
    """The canvas drawing (PNG bytes, transparent paper) as uint8 [h, w, 1]; BlankCanvas if none."""
    if not png:
        raise BlankCanvas()
    grey = decode_gray(png, "the canvas")
    try:
        prepare_foreign(grey)
    except HTRError as err:
        raise BlankCanvas() from err
    return grey
