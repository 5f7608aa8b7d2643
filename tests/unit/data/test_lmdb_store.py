"""LMDB store: exact round trips in both encodings, map growth, one shared env per path."""

from __future__ import annotations

import shutil

import lmdb
import numpy as np
import pytest

from pipeline.data import lmdb_store
from pipeline.common.errors import HTRError
from pipeline.data.lmdb_store import META_KEY, LmdbStore, LmdbWriter, open_store


def samples(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        h, w = int(rng.integers(1, 40)), int(rng.integers(1, 120))
        image = rng.integers(0, 256, (h, w, 1), dtype=np.uint8)
        out.append((f"a01-{i:03d}-00-00", f"wörd {i} «ok»", image))
    return out


def write(path, items, encoding="raw", **meta):
    writer = LmdbWriter(path, encoding)
    for sample_id, text, image in items:
        writer.put(sample_id, text, image)
    return writer.finish({"name": "fx", **meta})


@pytest.mark.parametrize("encoding", ["raw", "png"])
def test_round_trip_is_exact(tmp_path, encoding):
    items = [*samples(25), ("a01-999-00-00", "x", np.zeros((1, 1, 1), np.uint8))]
    write(tmp_path / "s", items, encoding)
    store = LmdbStore(tmp_path / "s")
    try:
        assert len(store) == len(items)
        assert store.encoding == encoding
        read = list(store)
        for (sample_id, text, image), sample in zip(items, read, strict=True):
            assert (sample.id, sample.text) == (sample_id, text)
            np.testing.assert_array_equal(sample.image, image)
        np.testing.assert_array_equal(store.read(3).image, items[3][2])
    finally:
        store.close()


def test_metadata_has_count_geometry_and_caller_fields(tmp_path):
    items = [
        (f"a-b-00-{i:02d}", "t", np.zeros((10 + i, 4 * (i + 1), 1), np.uint8)) for i in range(5)
    ]
    meta = write(tmp_path / "s", items, fingerprint="abc", kind="words")
    assert meta["count"] == 5 and meta["fingerprint"] == "abc" and meta["kind"] == "words"
    assert meta["geometry"]["height"]["min"] == 10 and meta["geometry"]["height"]["max"] == 14
    assert meta["geometry"]["width"]["max"] == 20 and meta["geometry"]["aspect"]["min"] == 0.4
    store = LmdbStore(tmp_path / "s")
    assert store.metadata == meta
    store.close()


def test_map_grows_beyond_the_initial_size(tmp_path, monkeypatch):
    monkeypatch.setattr(lmdb_store, "INITIAL_MAP_SIZE", 64 << 10)
    monkeypatch.setattr(lmdb_store, "COMMIT_EVERY", 7)
    rng = np.random.default_rng(2)
    items = [
        (f"a-b-00-{i:02d}", str(i), rng.integers(0, 256, (100, 200, 1), dtype=np.uint8))
        for i in range(40)
    ]  # 800 kB of pixels into a 64 kB map
    write(tmp_path / "s", items)
    store = LmdbStore(tmp_path / "s")
    assert store.env.info()["map_size"] > 800_000
    np.testing.assert_array_equal(store.read(39).image, items[39][2])
    store.close()


def test_writer_rejects_non_gray_images(tmp_path):
    writer = LmdbWriter(tmp_path / "s")
    with pytest.raises(HTRError, match="a-b-00-00"):
        writer.put("a-b-00-00", "t", np.zeros((4, 4, 3), np.uint8))
    writer.close()


def test_unknown_encoding_is_refused(tmp_path):
    with pytest.raises(HTRError, match="jpeg"):
        LmdbWriter(tmp_path / "s", "jpeg")


def test_missing_store_tells_to_build(tmp_path):
    with pytest.raises(HTRError, match="build_lmdb"):
        open_store(tmp_path / "none")


def test_store_without_metadata_is_incomplete(tmp_path):
    writer = LmdbWriter(tmp_path / "s")
    writer.put("a-b-00-00", "t", np.zeros((2, 2, 1), np.uint8))
    writer._flush()
    writer.close()
    with pytest.raises(HTRError, match="incomplete"):
        LmdbStore(tmp_path / "s")


def test_open_store_shares_one_environment_per_directory(tmp_path):
    write(tmp_path / "s", samples(3))
    first = open_store(tmp_path / "s")
    assert open_store(tmp_path / "x" / ".." / "s") is first
    # a second independent open of the same files is what LMDB forbids
    with pytest.raises(lmdb.Error):
        lmdb.open(str(tmp_path / "s"), readonly=True, lock=False)


def test_open_store_reopens_a_store_rebuilt_in_place(tmp_path):
    write(tmp_path / "s", samples(3, seed=0))
    old = open_store(tmp_path / "s")
    assert len(old) == 3
    write(tmp_path / "new", samples(5, seed=1))
    shutil.rmtree(tmp_path / "s")
    (tmp_path / "new").rename(tmp_path / "s")
    fresh = open_store(tmp_path / "s")
    assert fresh is not old and len(fresh) == 5
    assert fresh.read(4).text == samples(5, seed=1)[4][1]


def test_corrupt_record_is_reported(tmp_path):
    write(tmp_path / "s", samples(2))
    env = lmdb.open(str(tmp_path / "s"), lock=False)
    with env.begin(write=True) as txn:
        txn.put(lmdb_store.sample_key(1), b"\x01\x02")
        assert txn.get(META_KEY) is not None
    env.close()
    store = LmdbStore(tmp_path / "s")
    with pytest.raises(HTRError, match="corrupt"):
        store.read(1)
    store.close()
