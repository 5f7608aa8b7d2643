"""images.py: every PNG flavour becomes the same uint8 [h, w, 1] gray array; bad files say why."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from pipeline.common.errors import HTRError
from pipeline.common.images import (
    EMPTY,
    MISSING,
    UNDECODABLE,
    ImageError,
    decode_gray,
    encode_png,
    load_gray,
)


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_gray_png_decodes_to_its_pixels_with_a_channel_axis():
    pixels = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    out = decode_gray(png(Image.fromarray(pixels)))
    assert out.dtype == np.uint8 and out.shape == (3, 4, 1)
    np.testing.assert_array_equal(out[..., 0], pixels)


def test_rgb_becomes_luminance():
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[0, 0] = (255, 255, 255)
    rgb[0, 1] = (255, 0, 0)
    out = decode_gray(png(Image.fromarray(rgb)))[..., 0]
    assert out[0, 0] == 255 and out[1, 1] == 0
    assert 70 < out[0, 1] < 80  # ITU-R 601 luma of pure red: 0.299 * 255


def test_transparent_pixels_become_white_paper():
    la = np.zeros((2, 3, 2), np.uint8)  # black everywhere...
    la[..., 1] = 255
    la[0, :, 1] = 0  # ...but the top row is fully transparent
    out = decode_gray(png(Image.fromarray(la, mode="LA")))[..., 0]
    assert (out[0] == 255).all() and (out[1] == 0).all()


def test_rgba_canvas_with_transparent_background_reads_as_ink_on_paper():
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[1:3, 1:3] = (0, 0, 0, 255)  # a black stroke on a transparent canvas
    out = decode_gray(png(Image.fromarray(rgba, mode="RGBA")))[..., 0]
    assert out[0, 0] == 255 and out[1, 1] == 0


def test_sixteen_bit_gray_keeps_its_high_byte():
    wide = np.array([[0, 0x1234, 0xFF00, 0xFFFF]], np.uint16)
    out = decode_gray(png(Image.fromarray(wide)))[..., 0]
    np.testing.assert_array_equal(out, [[0, 0x12, 0xFF, 0xFF]])


def test_palette_image_uses_its_palette_colours():
    image = Image.new("P", (2, 1))
    image.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
    image.putpixel((1, 0), 1)
    np.testing.assert_array_equal(decode_gray(png(image))[..., 0], [[0, 255]])


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", EMPTY),
        (b"not an image at all", UNDECODABLE),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, UNDECODABLE),
    ],
)
def test_bad_bytes_raise_image_error_with_reason_and_name(data, reason):
    with pytest.raises(ImageError) as info:
        decode_gray(data, "words/x.png")
    assert info.value.reason == reason
    assert "words/x.png" in str(info.value)
    assert isinstance(info.value, HTRError)


def test_truncated_png_is_undecodable():
    noisy = np.random.default_rng(0).integers(0, 256, (40, 40), dtype=np.uint8)
    data = png(Image.fromarray(noisy))
    with pytest.raises(ImageError) as info:
        decode_gray(data[: len(data) // 2], "half.png")
    assert info.value.reason == UNDECODABLE


def test_load_gray_reports_missing_file_by_path(tmp_path):
    with pytest.raises(ImageError) as info:
        load_gray(tmp_path / "nope.png")
    assert info.value.reason == MISSING and "nope.png" in str(info.value)


def test_encode_png_round_trips_exactly():
    pixels = np.random.default_rng(1).integers(0, 256, (7, 13, 1), dtype=np.uint8)
    np.testing.assert_array_equal(decode_gray(encode_png(pixels)), pixels)


def test_encode_png_rejects_non_uint8_or_colour_arrays():
    with pytest.raises(HTRError, match="uint8"):
        encode_png(np.zeros((2, 2), np.float32))
    with pytest.raises(HTRError, match="uint8"):
        encode_png(np.zeros((2, 2, 3), np.uint8))
