"""images.py: every PNG flavour becomes the same uint8 [h, w, 1] gray array; bad files say why.

Hostile inputs are real: FIFOs, symlink loops, directories and 300-character names on disk,
huge-dimension PNGs that are valid files of a few kilobytes, a JPEG with an EXIF orientation.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipeline.common.errors import HTRError
from pipeline.common.images import (
    EMPTY,
    MISSING,
    OVERSIZED,
    UNDECODABLE,
    UNREADABLE,
    UNSUPPORTED,
    ImageError,
    decode_gray,
    encode_png,
    load_gray,
    read_bytes,
)
from tests.hostile_images import encoded, hostile_files, huge_png

ROOT = Path(__file__).resolve().parents[3]


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


def _outcome(read, path: Path) -> ImageError | str:
    """What reading `path` raised, or 'blocked' if it did not return within 10 s."""
    result: list = []

    def attempt() -> None:
        try:
            read(path)
            result.append("read")
        except ImageError as err:
            result.append(err)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(10)
    return result[0] if result else "blocked"


@pytest.mark.parametrize("read", [load_gray, read_bytes], ids=["load_gray", "read_bytes"])
def test_what_is_not_an_image_file_is_named_with_its_reason_and_never_blocks(read, tmp_path):
    files = hostile_files(tmp_path)
    expected = {
        "fifo": (UNREADABLE, "it is a FIFO (named pipe), not an image file"),
        "loop": (UNREADABLE, "Too many levels of symbolic links"),
        "dangling": (MISSING, "a broken symbolic link"),
        "directory": (UNREADABLE, "it is a directory, not an image file"),
        "long": (UNREADABLE, "File name too long"),
    }
    for name, (reason, detail) in expected.items():
        outcome = _outcome(read, files[name])
        assert isinstance(outcome, ImageError), (name, outcome)
        assert outcome.reason == reason, name
        assert str(outcome) == f"{reason} image {files[name]}: {detail}"


def test_a_file_that_is_not_an_image_says_which_formats_are_read(tmp_path):
    files = hostile_files(tmp_path)
    with pytest.raises(ImageError) as info:
        load_gray(files["text"])
    assert info.value.reason == UNDECODABLE
    assert str(info.value) == (
        f"undecodable image {files['text']}: not a PNG, JPEG, TIFF, BMP or WEBP image"
    )
    assert "BytesIO" not in str(info.value)
    with pytest.raises(ImageError) as info:
        load_gray(files["empty"])
    assert info.value.reason == EMPTY


def test_a_format_outside_the_accepted_ones_is_named():
    gif = encoded(Image.new("L", (30, 10), 255), "GIF")
    with pytest.raises(ImageError) as info:
        decode_gray(gif, "drawing.png", formats=("PNG", "JPEG", "MPO"))
    assert info.value.reason == UNSUPPORTED
    assert str(info.value) == "unsupported image drawing.png: it is a GIF image, not PNG or JPEG"


def test_pixel_limit_is_checked_from_the_header_before_decoding(tmp_path):
    """A 37 KB PNG of 13000x13000 pixels: refused in one line with its size, memory flat."""
    path = tmp_path / "huge.png"
    path.write_bytes(huge_png(13000, 13000))
    assert path.stat().st_size < 40_000
    probe = f"""
import resource, warnings
from pipeline.common.images import ImageError, load_gray
warnings.simplefilter("error")
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    load_gray({str(path)!r}, max_pixels=20_000_000)
except ImageError as err:
    print(err.reason, err, sep="|")
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    refusal, grown_mb = done.stdout.splitlines()
    assert refusal == (
        f"{OVERSIZED}|oversized image {path}: 13000x13000 pixels (169.0 megapixels); "
        "the limit is 20 megapixels"
    )
    assert int(grown_mb) < 30  # decoding it would take at least 169 MB


def test_an_image_pillow_calls_a_bomb_is_refused_as_oversized_without_a_warning():
    data = huge_png(20000, 20000)  # 400 megapixels in 76 KB: Pillow will not even open it
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ImageError) as info:
            decode_gray(data, "bomb.png", max_pixels=20_000_000)
        assert info.value.reason == OVERSIZED
        assert str(info.value) == (
            "oversized image bomb.png: over 179 megapixels; the limit is 20 megapixels"
        )
        # without a configured limit, Pillow's own (89 megapixels) is a refusal, not a warning
        with pytest.raises(ImageError, match=r"10000x9000 pixels .*limit is 89\.4785 megapixels"):
            decode_gray(huge_png(10000, 9000), "big.png")


def test_exif_orientation_is_applied_so_a_phone_photo_reads_upright():
    upright = np.full((60, 20), 255, np.uint8)  # a tall strip, ink at its top
    upright[:20] = 0
    # Stored as a phone does: pixels turned a quarter left, EXIF 6 says "turn right to view".
    stored = Image.fromarray(np.rot90(upright, k=1))
    exif = Image.Exif()
    exif[0x0112] = 6
    jpeg = encoded(stored, "JPEG", exif=exif, quality=95)
    assert Image.open(io.BytesIO(jpeg)).size == (60, 20)  # as stored: wide
    out = decode_gray(jpeg, "phone.jpg")[..., 0]
    assert out.shape == (60, 20)
    assert np.abs(out.astype(int) - upright).max() < 40  # JPEG noise only
