"""Splits: seeded fractions and IAM's split lists (words follow their line)."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.common.errors import HTRError
from pipeline.data.splits import (
    check_fractions,
    line_id,
    listed_split,
    random_split,
    read_split_lists,
)
from tests.iam_fixtures import write_split_lists


def test_fractions_give_exact_counts():
    counts = Counter(random_split(1000, 0.8, 0.1, 0.1, seed=1))
    assert counts == {"train": 800, "val": 100, "test": 100}


def test_same_seed_same_split_other_seed_other_split():
    a = random_split(200, 0.7, 0.15, 0.15, seed=3)
    assert a == random_split(200, 0.7, 0.15, 0.15, seed=3)
    assert a != random_split(200, 0.7, 0.15, 0.15, seed=4)


def test_split_is_shuffled_not_contiguous():
    names = random_split(100, 0.5, 0.25, 0.25, seed=0)
    assert names[:50] != ["train"] * 50


@given(
    n=st.integers(0, 300),
    cuts=st.tuples(st.integers(0, 100), st.integers(0, 100)).map(sorted),
    seed=st.integers(0, 2**32),
)
def test_every_item_gets_one_split_in_proportion(n, cuts, seed):
    train, val = cuts[0] / 100, (cuts[1] - cuts[0]) / 100
    test = 1 - train - val
    names = random_split(n, train, val, test, seed)
    counts = Counter(names)
    assert len(names) == n and set(names) <= {"train", "val", "test"}
    assert abs(counts["train"] - n * train) <= 0.5 + 1e-9
    assert abs(counts["train"] + counts["val"] - n * (train + val)) <= 0.5 + 1e-9


@pytest.mark.parametrize(
    ("fractions", "message"),
    [
        ((0.8, 0.1, 0.2), "must sum to 1"),
        ((0.5, 0.2, 0.2), "must sum to 1"),
        ((1.2, -0.1, -0.1), r"data\.split\.train=1\.2"),
        ((0.9, -0.1, 0.2), r"data\.split\.val=-0\.1"),
    ],
)
def test_bad_fractions_name_the_keys(fractions, message):
    with pytest.raises(HTRError, match=message) as info:
        check_fractions(*fractions)
    assert "data.split." in str(info.value)


def test_line_id_of_words_and_lines():
    assert line_id("a01-000u-00-03", "words") == "a01-000u-00"
    assert line_id("a01-000u-00", "lines") == "a01-000u-00"
    with pytest.raises(HTRError, match="a01-000u"):
        line_id("a01-000u", "words")


def test_lists_map_lines_and_merge_both_validation_sets(tmp_path):
    lists = write_split_lists(
        tmp_path,
        {
            "trainset.txt": ["a01-000u-00", "a01-000u-01"],
            "validationset1.txt": ["b01-000-00"],
            "validationset2.txt": ["b02-000-00"],
            "testset.txt": ["c01-000-00"],
        },
    )
    owner = read_split_lists(lists)
    assert owner == {
        "a01-000u-00": "train",
        "a01-000u-01": "train",
        "b01-000-00": "val",
        "b02-000-00": "val",
        "c01-000-00": "test",
    }
    ids = ["a01-000u-01-04", "b02-000-00-00", "c01-000-00-01", "z99-000-00-00"]
    assert listed_split(ids, "words", owner) == ["train", "val", "test", None]


def test_validationset2_is_optional(tmp_path):
    lists = write_split_lists(
        tmp_path,
        {"trainset.txt": ["a-b-00"], "validationset1.txt": ["a-b-01"], "testset.txt": ["a-b-02"]},
    )
    assert read_split_lists(lists)["a-b-01"] == "val"


def test_missing_list_file_is_named(tmp_path):
    write_split_lists(tmp_path, {"trainset.txt": ["a-b-00"], "validationset1.txt": []})
    with pytest.raises(HTRError, match=r"testset\.txt"):
        read_split_lists(tmp_path)


def test_line_in_two_lists_names_both_files(tmp_path):
    write_split_lists(
        tmp_path,
        {"trainset.txt": ["a-b-00"], "validationset1.txt": [], "testset.txt": ["a-b-00"]},
    )
    with pytest.raises(HTRError, match=r"a-b-00.*trainset\.txt.*testset\.txt"):
        read_split_lists(tmp_path)


def test_lists_dir_must_exist(tmp_path):
    with pytest.raises(HTRError, match="lists_dir"):
        read_split_lists(tmp_path / "absent")
