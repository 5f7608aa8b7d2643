"""Charset: blank at 0, characters at 1..N, exact round trips, clear errors."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.common.charset import BLANK, Charset
from pipeline.common.errors import HTRError

CHARS = " !\"'(),-.0123456789:;?ABCZabcxyzßé"


def test_from_texts_is_sorted_and_unique():
    charset = Charset.from_texts(["bca", "a b", "Zé"])
    assert charset.chars == " Zabcé"
    assert charset.num_classes == 7


def test_indices_start_after_the_blank():
    charset = Charset("abc")
    assert charset.encode("cab") == [3, 1, 2]
    assert BLANK == 0
    assert charset.decode([0, 3, 0, 1, 2, 0]) == "cab"


@given(st.text(alphabet=CHARS, max_size=40))
def test_encode_decode_round_trip(text):
    charset = Charset(CHARS)
    encoded = charset.encode(text)
    assert all(1 <= i < charset.num_classes for i in encoded)
    assert charset.decode(encoded) == text


def test_decode_does_not_collapse_repeats():
    assert Charset("lo").decode([1, 1, 2]) == "llo"


def test_unknown_character_names_char_and_text():
    with pytest.raises(HTRError, match=r"'x'.*'axb'"):
        Charset("ab").encode("axb")


def test_missing_lists_unencodable_characters():
    assert Charset("abc").missing("cabbage!") == "!eg"


@pytest.mark.parametrize("index", [-1, 4, 99])
def test_decode_rejects_indices_outside_the_charset(index):
    with pytest.raises(HTRError, match=str(index)):
        Charset("abc").decode([1, index])


@pytest.mark.parametrize("chars", ["ba", "aab", ""])
def test_constructor_rejects_unsorted_duplicate_or_empty(chars):
    with pytest.raises(HTRError):
        Charset(chars)


def test_save_load_round_trip_keeps_unicode(tmp_path):
    charset = Charset.from_texts(["Straße", "café", "naïve"])
    path = tmp_path / "charset.json"
    charset.save(path)
    assert json.loads(path.read_text(encoding="utf-8"))["blank"] == 0
    assert Charset.load(path) == charset


@pytest.mark.parametrize(
    "content",
    ["not json", '["abc"]', '{"chars": 3}', '{"chars": "cba"}', '{"characters": "abc"}'],
)
def test_load_of_bad_file_names_the_file(tmp_path, content):
    path = tmp_path / "charset.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(HTRError, match=r"charset\.json"):
        Charset.load(path)


def test_load_of_missing_file_names_it(tmp_path):
    with pytest.raises(HTRError, match=r"nothere\.json"):
        Charset.load(tmp_path / "nothere.json")
