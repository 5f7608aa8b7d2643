"""Images into the app: size-checked uploads and canvas drawings as uint8 grey arrays.

Both go through `pipeline.common.images`, the one intake path, so the app reads exactly the
pixels the pipeline would and refuses what it refuses: the encoded size is checked here, the
format and the pixel count (`images.max_megapixels`) from the header before any pixel is
decoded, so a huge or hostile file costs nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from omegaconf import DictConfig

from pipeline.common.errors import HTRError
from pipeline.common.images import decode_gray, pixel_limit
from pipeline.models import prepare_foreign

UPLOAD_TYPES = ("png", "jpg", "jpeg")
# Pillow's names for what the uploader offers (MPO: many phone cameras' JPEGs).
UPLOAD_FORMATS = ("PNG", "JPEG", "MPO")


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
    def from_config(cls, cfg: DictConfig) -> Limits:
        """Limits from the config: `app.max_upload_mb` and the pipeline's `pixel_limit`."""
        return cls(int(cfg.app.max_upload_mb * 1_000_000), pixel_limit(cfg))

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
    return decode_gray(data, name, limits.max_pixels, UPLOAD_FORMATS)


def read_canvas(png: bytes | None, limits: Limits) -> np.ndarray:
    """The canvas drawing (PNG bytes, transparent paper) as uint8 [h, w, 1]; BlankCanvas if none.

    The bytes come from the browser, so they get the same pixel limit as an upload.
    """
    if not png:
        raise BlankCanvas()
    grey = decode_gray(png, "the canvas", limits.max_pixels, ("PNG",))
    try:
        prepare_foreign(grey)
    except HTRError as err:
        raise BlankCanvas() from err
    return grey
