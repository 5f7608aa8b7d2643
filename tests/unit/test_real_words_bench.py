"""bench/real_words.py: its list of real words is well formed and crops the listed boxes."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image

from tests.bench_modules import load_bench as load_bench_module


def load_bench():
    return load_bench_module("real_words")


def test_the_list_names_each_word_its_source_box_group_and_text() -> None:
    words = load_bench().read_list()
    assert len(words) == 168
    assert {w.group for w in words} == {"iam", "cvl", "bentham", "scheidl"}
    for word in words:
        x0, y0, x1, y1 = word.box
        assert 0 <= x0 < x1 and 0 <= y0 < y1, word
        assert len(word.commit) == 40 and word.text.strip() == word.text != "", word


def test_a_word_is_cropped_from_its_clone_and_a_missing_clone_says_how_to_get_it(
    tmp_path,
) -> None:
    bench = load_bench()
    word = bench.RealWord("someone/repo", "a" * 40, "data/page.png", (2, 1, 5, 4), "cvl", "ok")
    with pytest.raises(SystemExit, match=re.escape("git clone https://github.com/someone/repo")):
        bench.crop(tmp_path, word)
    page = np.arange(48, dtype=np.uint8).reshape(6, 8)
    (tmp_path / "someone/repo/data").mkdir(parents=True)
    Image.fromarray(page).save(tmp_path / "someone/repo/data/page.png")
    assert np.array_equal(bench.crop(tmp_path, word)[..., 0], page[1:4, 2:5])
