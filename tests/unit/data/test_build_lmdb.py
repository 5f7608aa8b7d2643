"""Stage 2: what lands in each split, what is skipped and why, fingerprints, atomicity."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from pipeline.app.feedback import save_sample
from pipeline.common.config import compose
from pipeline.common.errors import HTRError
from pipeline.common.images import load_gray
from pipeline.data import build_lmdb
from pipeline.data.iam.index import image_relpath
from pipeline.data.lmdb_store import LmdbStore, LmdbWriter
from tests.hostile_images import huge_png
from tests.iam_fixtures import write_iam, write_split_lists

ROOT = Path(__file__).resolve().parents[3]


def config(root: Path, *overrides: str, name: str = "fx", kind: str = "words"):
    return compose(
        ["data=iam_words", f"data.name={name}", f"data.kind={kind}", *overrides], root=root
    )


def out_dir(root: Path, name: str = "fx") -> Path:
    return root / "data" / "lmdb" / name


def read_split(root: Path, split: str, name: str = "fx"):
    store = LmdbStore(out_dir(root, name) / split)
    try:
        return list(store), store.metadata
    finally:
        store.close()


def snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*") if p.is_file()
    }


@pytest.mark.parametrize("kind", ["words", "lines"])
def test_build_writes_every_good_sample_once_with_its_pixels(tmp_path, kind):
    fixture = write_iam(tmp_path / "data" / "raw", "fx", kind)
    report = build_lmdb(config(tmp_path, kind=kind))

    seen = {}
    for split in ("train", "val", "test"):
        samples, meta = read_split(tmp_path, split)
        ids = (out_dir(tmp_path) / f"{split}.ids").read_text().split()
        assert ids == [f"fx/{s.id}" for s in samples]
        assert meta["count"] == len(samples) == report["splits"][split]["written"]
        assert (meta["name"], meta["kind"], meta["split"]) == ("fx", kind, split)
        assert meta["fingerprint"] == report["fingerprint"]
        for sample in samples:
            assert sample.id not in seen
            seen[sample.id] = sample.text
            expected = load_gray(fixture.raw_dir / image_relpath(kind, sample.id))
            np.testing.assert_array_equal(sample.image, expected)
    assert seen == fixture.good  # err dropped (drop_err), broken files skipped
    if kind == "lines":
        assert any(" " in text for text in seen.values())  # `|` became spaces
    assert report["skipped"] == {"missing": 1, "empty": 1, "undecodable": 1}
    assert report["dropped_err"] == 1
    examples = report["skipped_examples"]
    assert examples["missing"] == [f"fx/{fixture.missing_id}"]
    assert examples["empty"] == [f"fx/{fixture.empty_id}"]
    assert examples["undecodable"] == [f"fx/{fixture.broken_id}"]
    assert sum(sum(s["skipped"].values()) for s in report["splits"].values()) == 3
    assert json.loads((out_dir(tmp_path) / "report.json").read_text()) == report


def test_oversized_and_non_file_images_are_skipped_and_counted_without_blocking(tmp_path):
    fixture = write_iam(tmp_path / "data" / "raw", "fx", "words", bad=False, n=24)
    huge, fifo, folder, loop = list(fixture.good)[:4]
    path = {i: fixture.raw_dir / image_relpath("words", i) for i in (huge, fifo, folder, loop)}
    path[huge].write_bytes(huge_png(13000, 13000))  # 37 KB, 169 megapixels
    for sample_id in (fifo, folder, loop):
        path[sample_id].unlink()
    os.mkfifo(path[fifo])
    path[folder].mkdir()
    os.symlink(path[loop], path[loop])
    reports: list = []
    worker = threading.Thread(
        target=lambda: reports.append(build_lmdb(config(tmp_path))), daemon=True
    )
    worker.start()
    worker.join(120)
    assert reports, "the build blocked (on the FIFO?)"
    report = reports[0]
    assert report["skipped"] == {"oversized": 1, "unreadable": 3}
    examples = report["skipped_examples"]
    assert examples["oversized"] == [f"fx/{huge}"]
    assert sorted(examples["unreadable"]) == sorted(f"fx/{i}" for i in (fifo, folder, loop))
    written = sum(s["written"] for s in report["splits"].values())
    assert written == len(fixture.good) - 4


def test_charset_comes_from_training_texts_and_is_saved(tmp_path):
    write_iam(tmp_path / "data" / "raw", "fx", "words")
    report = build_lmdb(config(tmp_path))
    train, meta = read_split(tmp_path, "train")
    expected = "".join(sorted({c for s in train for c in s.text}))
    assert report["charset"] == meta["charset"] == expected
    saved = json.loads((out_dir(tmp_path) / "charset.json").read_text(encoding="utf-8"))
    assert saved["chars"] == expected
    assert report["num_classes"] == len(expected) + 1


def test_val_and_test_characters_unseen_in_training_are_reported_and_kept(tmp_path):
    texts = ["abc", "cab", "bca", "aaa", "Ωmega", "bäc", "ccc", "zz"]
    write_iam(tmp_path / "data" / "raw", "fx", "words", texts=texts, bad=False)
    # fixture ids: a01-000-00-00..02 (line 00), a01-000-01-00..02 (line 01), a01-000-02-00..01
    lists = write_split_lists(
        tmp_path / "lists",
        {
            "trainset.txt": ["a01-000-00"],
            "validationset1.txt": ["a01-000-01"],
            "testset.txt": ["a01-000-02"],
        },
    )
    report = build_lmdb(config(tmp_path, f"data.split.lists_dir={lists}"))
    assert report["charset"] == "abc"
    assert report["missing_chars"]["val"] == {"chars": "egmäΩ", "samples": 2}
    assert report["missing_chars"]["test"] == {"chars": "z", "samples": 1}
    val, _ = read_split(tmp_path, "val")
    assert [s.text for s in val] == ["aaa", "Ωmega", "bäc"]


def test_split_lists_put_words_in_their_line_split_and_count_unlisted(tmp_path):
    fixture = write_iam(tmp_path / "data" / "raw", "fx", "words", bad=False, n=24)
    lists = write_split_lists(
        tmp_path / "lists",
        {
            "trainset.txt": ["a01-000-00", "a01-000-01", "a01-001-00"],
            "validationset1.txt": ["a01-000-02"],
            "validationset2.txt": ["a01-001-01"],
            "testset.txt": ["a01-000-03"],
        },
    )
    report = build_lmdb(config(tmp_path, f"data.split.lists_dir={lists}"))
    expected = {"train": 9, "val": 6, "test": 3}
    assert {s: report["splits"][s]["written"] for s in expected} == expected
    assert report["unlisted"] == len(fixture.good) - 18
    for split in expected:
        samples, _ = read_split(tmp_path, split)
        lines = {s.id.rsplit("-", 1)[0] for s in samples}
        listed = {
            "train": {"a01-000-00", "a01-000-01", "a01-001-00"},
            "val": {"a01-000-02", "a01-001-01"},
            "test": {"a01-000-03"},
        }[split]
        assert lines == listed


def test_seeded_random_split_is_reproducible(tmp_path):
    write_iam(tmp_path / "data" / "raw", "fx", "words", bad=False, n=40)
    build_lmdb(config(tmp_path, "data.seed=7"))
    first = {s: (out_dir(tmp_path) / f"{s}.ids").read_text() for s in ("train", "val", "test")}
    assert [len(v.split()) for v in first.values()] == [32, 4, 4]
    build_lmdb(config(tmp_path, "data.seed=7"))
    assert first == {s: (out_dir(tmp_path) / f"{s}.ids").read_text() for s in first}
    build_lmdb(config(tmp_path, "data.seed=8"))
    assert first != {s: (out_dir(tmp_path) / f"{s}.ids").read_text() for s in first}


def test_drop_err_false_keeps_err_segmentations(tmp_path):
    fixture = write_iam(tmp_path / "data" / "raw", "fx", "words")
    report = build_lmdb(config(tmp_path, "data.iam.drop_err=false"))
    assert report["dropped_err"] == 0
    ids = "".join((out_dir(tmp_path) / f"{s}.ids").read_text() for s in ("train", "val", "test"))
    assert f"fx/{fixture.err_id}\n" in ids


def test_max_samples_caps_a_seeded_choice(tmp_path):
    fixture = write_iam(tmp_path / "data" / "raw", "fx", "words", bad=False, n=30)
    report = build_lmdb(config(tmp_path, "data.max_samples=10"))
    assert sum(report["splits"][s]["written"] for s in ("train", "val", "test")) == 10
    ids = [
        i
        for s in ("train", "val", "test")
        for i in (out_dir(tmp_path) / f"{s}.ids").read_text().split()
    ]
    assert set(ids) <= {f"fx/{i}" for i in fixture.good}
    assert set(ids) != {f"fx/{i}" for i in list(fixture.good)[:10]}  # not just the first ten
    with pytest.raises(HTRError, match=r"data\.max_samples"):
        build_lmdb(config(tmp_path, "data.max_samples=0"))


def test_extra_sets_go_to_training_only(tmp_path):
    write_iam(tmp_path / "data" / "raw", "fx", "words", bad=False, n=20)
    # the app's corrections live at paths.feedback (data/feedback), written by its own writer
    drawn = np.full((40, 90, 1), 255, np.uint8)
    drawn[10:30, 10:80] = 0
    saved = [
        save_sample(tmp_path / "data" / "feedback", drawn, text)
        for text in ["ab", "cd", "ef", "gh", "ij", "kl"]
    ]
    report = build_lmdb(config(tmp_path, "data.extra=[feedback]"))
    train = (out_dir(tmp_path) / "train.ids").read_text().split()
    assert {f"feedback/{e.id}" for e in saved} <= set(train)
    for split in ("val", "test"):
        assert "feedback/" not in (out_dir(tmp_path) / f"{split}.ids").read_text()
    assert report["sources"] == ["feedback", "fx"]
    assert report["splits"]["train"]["written"] == 16 + 6


def test_fingerprint_follows_the_data_not_the_split(tmp_path):
    fixture = write_iam(tmp_path / "data" / "raw", "fx", "words")
    first = build_lmdb(config(tmp_path))["fingerprint"]
    assert build_lmdb(config(tmp_path))["fingerprint"] == first
    assert build_lmdb(config(tmp_path, "data.seed=9"))["fingerprint"] == first

    image = fixture.raw_dir / image_relpath("words", next(iter(fixture.good)))
    original = image.read_bytes()
    image.write_bytes(original + b"\x00")  # trailing byte: same pixels, other file
    assert build_lmdb(config(tmp_path))["fingerprint"] != first
    image.write_bytes(original)
    assert build_lmdb(config(tmp_path))["fingerprint"] == first

    index = fixture.raw_dir / "words.txt"
    index.write_text(index.read_text() + "# one more comment\n")
    assert build_lmdb(config(tmp_path))["fingerprint"] != first


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("data.split.train=0.9", "data.split.train.*must sum to 1"),
        ("data.extra=[nothere]", "raw/nothere"),
        ("data.split.lists_dir=no/lists", "lists_dir"),
    ],
)
def test_bad_input_fails_clearly_and_keeps_the_previous_output(tmp_path, override, message):
    write_iam(tmp_path / "data" / "raw", "fx", "words")
    build_lmdb(config(tmp_path))
    before = snapshot(out_dir(tmp_path))
    with pytest.raises(HTRError, match=message):
        build_lmdb(config(tmp_path, override))
    assert snapshot(out_dir(tmp_path)) == before
    assert sorted(p.name for p in out_dir(tmp_path).parent.iterdir()) == ["fx"]


def test_missing_raw_data_set_is_named(tmp_path):
    with pytest.raises(HTRError, match=r"raw/absent.*pipeline\.download"):
        build_lmdb(config(tmp_path, name="absent"))


def test_no_trainable_sample_is_an_error(tmp_path):
    fixture = write_iam(tmp_path / "data" / "raw", "fx", "words", bad=False, n=3)
    for sample_id in fixture.good:
        (fixture.raw_dir / image_relpath("words", sample_id)).write_bytes(b"")
    with pytest.raises(HTRError, match=r"no training sample.*empty"):
        build_lmdb(config(tmp_path))


def test_interrupted_build_keeps_previous_output_and_leaves_no_temporaries(tmp_path, monkeypatch):
    write_iam(tmp_path / "data" / "raw", "fx", "words")
    build_lmdb(config(tmp_path))
    before = snapshot(out_dir(tmp_path))
    original_put = LmdbWriter.put
    calls = []

    def interrupted_put(self, *args):
        calls.append(1)
        if len(calls) > 20:
            raise KeyboardInterrupt
        original_put(self, *args)

    monkeypatch.setattr(LmdbWriter, "put", interrupted_put)
    with pytest.raises(KeyboardInterrupt):
        build_lmdb(config(tmp_path, "data.seed=5"))
    assert snapshot(out_dir(tmp_path)) == before
    assert sorted(p.name for p in out_dir(tmp_path).parent.iterdir()) == ["fx"]


@pytest.mark.slow
def test_killed_build_keeps_previous_output_and_next_run_cleans_up(tmp_path):
    write_iam(tmp_path / "data" / "raw", "fx", "words", n=60)
    build_lmdb(config(tmp_path))
    before = snapshot(out_dir(tmp_path))
    script = textwrap.dedent(
        f"""
        import os, signal
        from pipeline.data import build_lmdb
        from pipeline.common.config import compose
        from pipeline.data.lmdb_store import LmdbWriter
        put, calls = LmdbWriter.put, []
        def dying_put(self, *args):
            calls.append(1)
            if len(calls) == 30:
                os.kill(os.getpid(), signal.SIGKILL)
            put(self, *args)
        LmdbWriter.put = dying_put
        overrides = ["data=iam_words", "data.name=fx", "data.seed=3"]
        build_lmdb(compose(overrides, root={str(tmp_path)!r}))
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    assert snapshot(out_dir(tmp_path)) == before
    leftovers = [p.name for p in out_dir(tmp_path).parent.iterdir() if p.name != "fx"]
    assert len(leftovers) == 1 and leftovers[0].startswith(".fx.tmp-")

    report = build_lmdb(config(tmp_path, "data.seed=3"))
    assert sorted(p.name for p in out_dir(tmp_path).parent.iterdir()) == ["fx"]
    assert json.loads((out_dir(tmp_path) / "report.json").read_text()) == report
    assert snapshot(out_dir(tmp_path)) != before


@pytest.mark.slow
def test_stage_cli_builds_and_reports_bad_input_in_one_line(tmp_path):
    write_iam(tmp_path / "data" / "raw", "fx", "lines")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    base = [sys.executable, "-m", "pipeline.build_lmdb", f"paths.root={tmp_path}", "data=iam_words"]
    ok = subprocess.run(
        [*base, "data.name=fx", "data.kind=lines", "hydra.run.dir=" + str(tmp_path / "logs")],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert (out_dir(tmp_path) / "train" / "data.mdb").is_file()
    bad = subprocess.run(
        [*base, "data.name=nope", "hydra.run.dir=" + str(tmp_path / "logs")],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert bad.returncode == 1
    assert "error: raw data set" in bad.stderr and "nope" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_label_flipped_on_disk_stops_the_test_split_naming_store_and_sample(tmp_path):
    """Before checksums, one flipped label byte in test/data.mdb changed evaluate's metrics
    without a word; now reading the split stops with one error naming the store and key."""
    write_iam(tmp_path / "data" / "raw", "fx", "words")
    build_lmdb(config(tmp_path))
    samples, _ = read_split(tmp_path, "test")
    index = next(i for i, s in enumerate(samples) if s.text.isascii() and len(s.text) > 1)
    needle = (samples[index].id + samples[index].text).encode()
    store_dir = out_dir(tmp_path) / "test"
    blob = (store_dir / "data.mdb").read_bytes()
    assert needle in blob
    (store_dir / "data.mdb").write_bytes(blob.replace(needle, needle[:-1] + b"#"))
    with pytest.raises(HTRError, match=rf"{store_dir} sample {index} \(key 0+{index}\): checksum"):
        read_split(tmp_path, "test")
