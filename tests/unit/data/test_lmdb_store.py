"""LMDB store: exact round trips in both encodings, map growth, one shared env per path,
and damage on disk (checksums, LMDB errors, the older format) stopping the reader."""

from __future__ import annotations

import json
import shutil
import struct

import lmdb
import numpy as np
import pytest

from pipeline.common.errors import HTRError
from pipeline.data import lmdb_store
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


def flip_byte(data_file, needle: bytes, offset: int) -> None:
    """Flip one bit at `offset` into every copy of `needle` in an LMDB file on disk.

    LMDB is copy-on-write, so a freed older page can hold a stale copy too.
    """
    blob = bytearray(data_file.read_bytes())
    hits = [i for i in range(len(blob)) if blob.startswith(needle, i)]
    assert hits, f"{needle!r} not found in {data_file}"
    for at in hits:
        blob[at + offset] ^= 0x01
    data_file.write_bytes(bytes(blob))


def test_flipped_label_byte_stops_the_reader_naming_store_and_sample(tmp_path):
    items = samples(12)
    write(tmp_path / "s", items)
    sample_id, text, _ = items[7]
    needle = (sample_id + text).encode("utf-8")
    flip_byte(tmp_path / "s/data.mdb", needle, len(needle) - 3)  # «ok» -> «oj»
    store = LmdbStore(tmp_path / "s")
    try:
        assert store.read(6).text == items[6][1]
        pattern = rf"corrupt LMDB record {tmp_path / 's'} sample 7 \(key 000000007\): checksum"
        with pytest.raises(HTRError, match=pattern):
            store.read(7)
        with pytest.raises(HTRError, match=pattern):
            list(store)
    finally:
        store.close()


def test_flipped_pixel_stops_the_reader(tmp_path):
    items = samples(3)
    write(tmp_path / "s", items)
    pixels = items[1][2].tobytes()
    flip_byte(tmp_path / "s/data.mdb", pixels, len(pixels) // 2)
    store = LmdbStore(tmp_path / "s")
    try:
        with pytest.raises(HTRError, match=r"sample 1 \(key 000000001\): checksum mismatch"):
            store.read(1)
    finally:
        store.close()


def test_flipped_metadata_count_is_refused(tmp_path):
    write(tmp_path / "s", samples(12))
    needle = b'"count": 12'
    flip_byte(tmp_path / "s/data.mdb", needle, len(needle) - 1)  # would read 13 samples
    with pytest.raises(HTRError, match=rf"corrupt LMDB metadata in {tmp_path / 's'}: checksum"):
        LmdbStore(tmp_path / "s")


def branch_pages(data_file) -> list[int]:
    """Offsets of the B-tree branch pages (LMDB's index pages) in a data file."""
    env = lmdb.open(str(data_file.parent), readonly=True, lock=False)
    page = env.stat()["psize"]
    env.close()
    blob = data_file.read_bytes()
    flags = [int.from_bytes(blob[at + 10 : at + 12], "little") for at in range(0, len(blob), page)]
    return [n * page for n, f in enumerate(flags) if n > 1 and f & 0x01]  # P_BRANCH


def test_damaged_index_page_is_one_error_naming_the_store(tmp_path):
    tiny = [(f"a-b-00-{i:03d}", f"t{i}", np.full((8, 20, 1), i, np.uint8)) for i in range(80)]
    write(tmp_path / "s", tiny)
    data_file = tmp_path / "s/data.mdb"
    pages = branch_pages(data_file)
    assert pages, "the store is too small to have an index page"
    blob = bytearray(data_file.read_bytes())
    for at in pages:  # point each index page's first child far past the end of the file
        first_node = at + int.from_bytes(blob[at + 16 : at + 18], "little")
        blob[first_node : first_node + 6] = b"\xff\xff\xff\xff\x00\x00"
    data_file.write_bytes(bytes(blob))
    store = LmdbStore(tmp_path / "s")  # the metadata sits under the last child: still readable
    try:
        with pytest.raises(HTRError, match=rf"LMDB store {tmp_path / 's'} is damaged \(PageNot"):
            store.read(0)
        with pytest.raises(HTRError, match="build_lmdb"):
            list(store)
    finally:
        store.close()


def test_file_that_is_not_lmdb_is_one_error_naming_the_store(tmp_path):
    (tmp_path / "s").mkdir()
    (tmp_path / "s/data.mdb").write_bytes(b"\x00" * 16384)
    with pytest.raises(HTRError, match=rf"LMDB store {tmp_path / 's'} is damaged"):
        LmdbStore(tmp_path / "s")


def test_store_of_the_older_format_is_refused_with_how_to_rebuild(tmp_path):
    """Format 1 (before checksums): a 4-field header and bare JSON metadata."""
    env = lmdb.open(str(tmp_path / "s"), lock=False)
    with env.begin(write=True) as txn:
        txn.put(lmdb_store.sample_key(0), struct.pack("<IIII", 1, 1, 1, 1) + b"ab\x00")
        meta = {"count": 1, "encoding": "raw", "name": "fx", "geometry": {}}
        txn.put(META_KEY, json.dumps(meta).encode())
    env.close()
    with pytest.raises(HTRError) as info:
        LmdbStore(tmp_path / "s")
    message = str(info.value)
    assert str(tmp_path / "s") in message and "older format" in message
    assert "python -m pipeline.build_lmdb" in message and "dvc repro" in message
