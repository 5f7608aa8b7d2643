"""Feedback samples: IAM format the pipeline reads back, unique ids under concurrency."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from pipeline.app.feedback import count_samples, feedback_id, save_sample
from pipeline.common.errors import HTRError
from pipeline.common.images import load_gray
from pipeline.data.iam import index as iam


def _word_image(seed: int, height: int = 20, width: int = 50) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = np.full((height, width, 1), 250, np.uint8)
    image[5:15, 5 : 5 + 4 * (seed % 10 + 1)] = rng.integers(0, 60, size=1, dtype=np.uint8)
    return image


def test_saved_samples_read_back_as_iam_words_and_lines(tmp_path: Path):
    word = _word_image(1)
    line = _word_image(2, width=120)
    first = save_sample(tmp_path, word, " hello ", "words")
    second = save_sample(tmp_path, line, "two  words", "lines")

    assert (first.id, second.id) == ("fb-0000-00-00", "fb-0000-01")
    (read_word,) = iam.read_words(tmp_path)
    (read_line,) = iam.read_lines(tmp_path)
    assert (read_word.id, read_word.text, read_word.ok) == (first.id, "hello", True)
    assert read_line.text == "two words"
    assert read_word.box == (0, 0, 50, 20)
    assert 60 <= read_word.grey_level <= 250
    assert np.array_equal(load_gray(tmp_path / iam.image_relpath("words", first.id)), word)
    assert (tmp_path / iam.image_relpath("words", first.id)).stat().st_mode & 0o777 == 0o644
    assert np.array_equal(load_gray(tmp_path / iam.image_relpath("lines", second.id)), line)
    assert count_samples(tmp_path) == 2


def test_count_of_a_missing_directory_is_zero(tmp_path: Path):
    assert count_samples(tmp_path / "nothing") == 0


def test_ids_continue_after_the_highest_and_skip_orphan_images(tmp_path: Path):
    for i in range(3):
        save_sample(tmp_path, _word_image(i), f"w{i}")
    orphan = tmp_path / iam.image_relpath("words", feedback_id(3, "words"))
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"left by an interrupted save")

    entry = save_sample(tmp_path, _word_image(9), "next")

    assert entry.id == feedback_id(4, "words")
    assert orphan.read_bytes() == b"left by an interrupted save"
    assert [e.id for e in iam.read_words(tmp_path)] == [
        feedback_id(i, "words") for i in (0, 1, 2, 4)
    ]


def test_hundred_samples_per_form_folder():
    assert feedback_id(99, "words") == "fb-0000-99-00"
    assert feedback_id(100, "words") == "fb-0001-00-00"
    assert iam.image_relpath("words", feedback_id(100, "words")).parent.name == "fb-0001"


@pytest.mark.parametrize(
    ("text", "kind", "message"),
    [
        ("", "words", "type what"),
        ("   ", "lines", "type what"),
        ("two words", "words", "no spaces"),
        ("a|b", "lines", "'|'"),
        ("tab\there", "words", "no spaces"),
        ("nul\x00", "words", "control"),
        ("x", "paragraphs", "kind"),
    ],
)
def test_unstorable_text_is_refused_and_nothing_written(tmp_path, text, kind, message):
    with pytest.raises(HTRError, match=message):
        save_sample(tmp_path, _word_image(0), text, kind)
    assert count_samples(tmp_path) == 0
    assert not (tmp_path / "words").exists()


def _save_many(directory: str, worker: int, n: int) -> list[str]:
    return [
        save_sample(Path(directory), _word_image(worker * n + i), f"w{worker}x{i}").id
        for i in range(n)
    ]


def test_concurrent_sessions_get_unique_ids_and_nothing_is_lost(tmp_path: Path):
    workers, each = 4, 8
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        futures = [pool.submit(_save_many, str(tmp_path), w, each) for w in range(workers)]
        ids = [i for f in futures for i in f.result()]

    entries = iam.read_words(tmp_path)
    assert len(set(ids)) == len(ids) == workers * each
    assert sorted(e.id for e in entries) == sorted(ids)
    assert count_samples(tmp_path) == workers * each
    for entry in entries:
        worker, index = (int(v) for v in entry.text[1:].split("x"))
        saved = load_gray(tmp_path / iam.image_relpath("words", entry.id))
        assert np.array_equal(saved, _word_image(worker * each + index))
    assert not list(tmp_path.rglob(".*.tmp-*"))
