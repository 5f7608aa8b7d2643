"""Loader: LMDB and PNG-directory paths give the same samples in the same order."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from pipeline.common.charset import Charset
from pipeline.common.config import compose
from pipeline.common.errors import HTRError
from pipeline.data import build_lmdb, lmdb_dir, load_charset, open_store, read_ids, read_metadata
from pipeline.training import make_dataset
from tests.iam_fixtures import write_iam

SPLITS = ("train", "val", "test")


def config(root, *overrides, kind="words"):
    return compose(["data=iam_words", "data.name=fx", f"data.kind={kind}", *overrides], root=root)


def samples(dataset: tf.data.Dataset) -> list[tuple[np.ndarray, str]]:
    return [(image, text.decode("utf-8")) for image, text in dataset.as_numpy_iterator()]


@pytest.mark.parametrize(
    ("kind", "encoding"), [("words", "raw"), ("lines", "raw"), ("words", "png")]
)
def test_lmdb_and_png_directory_give_identical_samples_in_order(tmp_path, kind, encoding):
    fixture = write_iam(tmp_path / "data" / "raw", "fx", kind)
    build_lmdb(config(tmp_path, kind=kind), encoding=encoding)
    total = 0
    for split in SPLITS:
        fast = samples(make_dataset(config(tmp_path, "data.fast=true", kind=kind), split))
        slow = samples(make_dataset(config(tmp_path, "data.fast=false", kind=kind), split))
        assert len(fast) == len(slow) == read_metadata(config(tmp_path, kind=kind), split)["count"]
        ids = [sample_id for _, sample_id in read_ids(config(tmp_path, kind=kind), split)]
        assert [text for _, text in fast] == [fixture.good[i] for i in ids]
        for (image_a, text_a), (image_b, text_b) in zip(fast, slow, strict=True):
            assert text_a == text_b
            assert image_a.dtype == np.uint8 and image_a.ndim == 3 and image_a.shape[2] == 1
            np.testing.assert_array_equal(image_a, image_b)
        total += len(fast)
    assert total == len(fixture.good)


def test_images_are_dark_ink_on_light_paper_at_their_own_size(tmp_path):
    write_iam(tmp_path / "data" / "raw", "fx", "words", bad=False)
    build_lmdb(config(tmp_path))
    dataset = make_dataset(config(tmp_path), "train")
    image_spec, text_spec = dataset.element_spec
    assert image_spec.dtype == tf.uint8 and image_spec.shape.as_list() == [None, None, 1]
    assert text_spec.dtype == tf.string and text_spec.shape.rank == 0
    shapes = set()
    for image, _ in dataset.as_numpy_iterator():
        shapes.add(image.shape)
        assert np.median(image) > 200 and image.min() < 100
    assert len(shapes) > 3  # variable sizes, nothing resized here


def test_metadata_and_charset_match_the_build(tmp_path):
    write_iam(tmp_path / "data" / "raw", "fx", "lines")
    report = build_lmdb(config(tmp_path, kind="lines"))
    cfg = config(tmp_path, kind="lines")
    assert load_charset(cfg) == Charset(report["charset"])
    meta = read_metadata(cfg, "val")
    assert meta["fingerprint"] == report["fingerprint"]
    assert meta["count"] == report["splits"]["val"]["written"]
    assert meta["kind"] == "lines" and meta["encoding"] == report["encoding"]


def test_loader_follows_a_rebuild_in_the_same_process(tmp_path):
    write_iam(tmp_path / "data" / "raw", "fx", "words", bad=False, n=20)
    build_lmdb(config(tmp_path))
    before = samples(make_dataset(config(tmp_path), "train"))
    write_iam(tmp_path / "data" / "raw", "fx", "words", bad=False, n=30, seed=1)
    build_lmdb(config(tmp_path))
    after = samples(make_dataset(config(tmp_path), "train"))
    assert len(before) == 16 and len(after) == 24
    assert open_store(lmdb_dir(config(tmp_path)) / "train") is open_store(
        lmdb_dir(config(tmp_path)) / "train"
    )


def test_unknown_split_missing_store_and_missing_ids_are_clear(tmp_path):
    with pytest.raises(HTRError, match="'dev'"):
        make_dataset(config(tmp_path), "dev")
    with pytest.raises(HTRError, match="build_lmdb"):
        make_dataset(config(tmp_path), "train")
    with pytest.raises(HTRError, match=r"train\.ids"):
        make_dataset(config(tmp_path, "data.fast=false"), "train")
    with pytest.raises(HTRError, match=r"charset\.json"):
        load_charset(config(tmp_path))


def test_png_path_names_an_id_that_left_the_raw_index(tmp_path):
    fixture = write_iam(tmp_path / "data" / "raw", "fx", "words", bad=False, n=8)
    build_lmdb(config(tmp_path))
    gone = read_ids(config(tmp_path), "train")[0][1]
    index = fixture.raw_dir / "words.txt"
    index.write_text("".join(ln for ln in index.read_text().splitlines(True) if gone not in ln))
    with pytest.raises(HTRError, match=gone):
        make_dataset(config(tmp_path, "data.fast=false"), "train")
