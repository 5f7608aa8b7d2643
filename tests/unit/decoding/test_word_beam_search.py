"""Word beam search: dictionary-constrained decoding, free punctuation, bigram LM, brute force."""

from __future__ import annotations

import itertools
import math
import re
from collections import defaultdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.common.config import compose
from pipeline.common.errors import HTRError
from pipeline.decoding.ctc_decoders import beam_search, best_path
from pipeline.decoding.registry import decode
from pipeline.decoding.word_beam_search import (
    build_language_model,
    english_lexicon,
    load_language_model,
    word_beam_search,
)
from tests.unit.decoding.configs import decode_config


def spell(steps: list[dict[str, float]], chars: str) -> np.ndarray:
    """A matrix from per-step {char: probability}; the rest of each step goes to the blank."""
    probs = np.zeros((len(steps), len(chars) + 1))
    for t, step in enumerate(steps):
        for char, p in step.items():
            probs[t, chars.index(char) + 1] = p
        probs[t, 0] = 1 - sum(step.values())
    return probs


def text_steps(text: str, peak: float = 0.9) -> list[dict[str, float]]:
    """One peaked step per character, with a blank step after each."""
    steps: list[dict[str, float]] = []
    for char in text:
        steps += [{char: peak}, {}]
    return steps


def words_of(text: str, word_chars: str) -> list[str]:
    return re.findall(f"[{re.escape(word_chars)}]+", text) if word_chars else []


def test_a_misread_word_decodes_to_the_dictionary_word() -> None:
    chars = " ehlopw"
    lm = build_language_model("hello help world", chars)
    probs = spell(
        [{"h": 0.9}, {"e": 0.9}, {"l": 0.9}, {}, {"l": 0.9}, {"p": 0.55, "o": 0.4}], chars
    )
    assert best_path(probs, chars).text == "hellp"
    found = word_beam_search(probs, lm, top_k=2)
    assert [c.text for c in found] == ["hello", "help"]
    # Its probability is the optical one: h e l _ l o over the alignments of "hello".
    assert found[0].probability == pytest.approx(beam_search_probability(probs, chars, "hello"))


def beam_search_probability(probs: np.ndarray, chars: str, text: str) -> float:
    found = beam_search(probs, chars, beam_width=500, top_k=500)
    return next(c.probability for c in found if c.text == text)


def test_punctuation_spaces_and_digits_are_free_between_words() -> None:
    chars = " ,0123456789dehlorw"
    lm = build_language_model("hello world", chars)
    probs = spell(text_steps("hello, world 42"), chars)
    assert word_beam_search(probs, lm, beam_width=5)[0].text == "hello, world 42"
    # A comma inside a word is not: "hel,lo" has no dictionary reading but "hello".
    probs = spell([*text_steps("hel"), {",": 0.6, "l": 0.3}, {}, *text_steps("lo")], chars)
    assert word_beam_search(probs, lm, beam_width=5)[0].text == "hello"


def test_ngrams_mode_prefers_the_bigram_likely_word() -> None:
    chars = " acehtu"
    # "cut" is the more frequent word, but "cat" is what follows "the".
    lm = build_language_model("the cat\na cut\na cut\na cut", chars, smoothing=0.1)
    ambiguous = [{"c": 0.9}, {}, {"a": 0.45, "u": 0.45}, {}, {"t": 0.9}, {}]
    after_the = spell(text_steps("the ") + ambiguous, chars)
    after_a = spell(text_steps("a ") + ambiguous, chars)
    assert word_beam_search(after_the, lm, "ngrams", top_k=1)[0].text == "the cat"
    assert word_beam_search(after_a, lm, "ngrams", top_k=1)[0].text == "a cut"
    # A word in the middle is scored when the next character ends it, not only at the end.
    lm_sat = build_language_model("the cat\na cut\na cut\na cut\ncat sat\ncut sat", chars + "s")
    middle = spell(text_steps("the ") + ambiguous + text_steps(" sat"), chars + "s")
    assert word_beam_search(middle, lm_sat, "ngrams", beam_width=4)[0].text == "the cat sat"
    words_only = {c.text for c in word_beam_search(after_the, lm, "words", top_k=2)}
    assert words_only == {"the cat", "the cut"}


def test_ngrams_mode_ranks_narrow_beams_by_the_words_they_complete() -> None:
    chars = " ,abcd"
    lm = build_language_model("a c\n" * 5, chars, dictionary=["a", "b", "c", "d"])
    first = {"a": 0.45, "b": 0.55}  # optically "b", but the LM all but rules it out
    # Ending a word scores it at once: "a " and "a," outrank "b " and "b," in a beam of two.
    probs = spell([first, {" ": 0.5, ",": 0.5}, {"c": 1.0}], chars)
    assert word_beam_search(probs, lm, "ngrams", beam_width=2)[0].text in {"a c", "a,c"}
    # A word already scored keeps weighing on its beam while the next word is read.
    probs = spell([first, {" ": 1.0}, {"c": 0.5, "d": 0.5}], chars)
    assert word_beam_search(probs, lm, "ngrams", beam_width=2)[0].text == "a c"
    assert word_beam_search(probs, lm, "words", beam_width=2)[0].text[0] == "b"


def test_ngrams_mode_charges_a_digit_what_it_costs_in_the_corpus() -> None:
    chars = " .8ab"
    # Optically "8" by a little; the corpus writes "a" fifty times as often as "8".
    probs = spell([{"8": 0.5, "a": 0.45}, {}], chars)
    lm = build_language_model("a b a .\n" * 50 + "8", chars)
    assert word_beam_search(probs, lm, "words")[0].text == "8"
    assert word_beam_search(probs, lm, "ngrams")[0].text == "a"
    # Free characters and words are tokens of one unigram model: "." 50 times, "8" once,
    # words 150 times, vocabulary {a, b} plus {., 8}.
    k = lm.smoothing
    free = dict(zip(" .8ab", lm.free_log_probs()[1:], strict=True))
    assert math.exp(free["."]) == pytest.approx((50 + k) / (201 + 4 * k))
    assert math.exp(free["8"]) == pytest.approx((1 + k) / (201 + 4 * k))
    assert free[" "] == free["a"] == 0.0  # whitespace and word characters are never charged
    assert math.exp(lm.log_prob("a", None)) == pytest.approx((100 + k) / (201 + 4 * k))


def test_natural_word_frequencies_outweigh_a_flat_corpus() -> None:
    chars = " .Oor"
    corpus = "or Or .\n" * 10  # flattened: the two spellings equally often
    probs = spell([{"O": 0.5, "o": 0.45}, {}, {"r": 0.9}, {}], chars)
    flat = build_language_model(corpus, chars)
    assert word_beam_search(probs, flat, "ngrams")[0].text == "Or"
    natural = {"or": 0.9, "Or": 0.1}
    lm = build_language_model(corpus, chars, word_frequencies=natural, frequency_weight=4.0)
    assert word_beam_search(probs, lm, "ngrams")[0].text == "or"
    # 4 corpora's worth of word counts (4 x 20 words) spread 9:1, and "." scaled by 1 + 4, so
    # punctuation keeps the corpus's share of the tokens.
    assert lm.unigrams["or"] == pytest.approx(10 + 72) and lm.unigrams["Or"] == pytest.approx(18)
    assert lm.free_chars["."] == pytest.approx(50)
    assert lm.free_chars["."] / lm.n_tokens == pytest.approx(10 / 30)


def test_english_lexicon_shares_each_frequency_among_its_case_forms() -> None:
    from wordfreq import word_frequency

    lexicon = english_lexicon(50)
    assert lexicon["the"] > lexicon["The"] > lexicon["THE"] > 0
    total = lexicon["the"] + lexicon["The"] + lexicon["THE"]
    assert total == pytest.approx(word_frequency("the", "en"))
    assert lexicon["I"] == pytest.approx(word_frequency("i", "en")) and lexicon["i"] == 0.0


def test_language_model_uses_add_k_bigram_and_unigram_probabilities() -> None:
    lm = build_language_model("a b a b\nb c", "abc ", smoothing=0.5)
    # Words a, b, c (V=3); bigrams a-b x2, b-a x1, b-c x1; unigrams a2 b3 c1.
    assert math.exp(lm.log_prob("b", "a")) == pytest.approx((2 + 0.5) / (2 + 1.5))
    assert math.exp(lm.log_prob("a", "b")) == pytest.approx((1 + 0.5) / (2 + 1.5))
    assert math.exp(lm.log_prob("c", "c")) == pytest.approx(1 / 3)
    assert math.exp(lm.log_prob("b", None)) == pytest.approx((3 + 0.5) / (6 + 1.5))


def test_a_word_cut_off_at_the_end_is_completed_with_its_most_frequent_word() -> None:
    chars = "ehlop"
    lm = build_language_model("help hello hello", chars)
    probs = spell([{"h": 1.0}, {"e": 1.0}, {"l": 1.0}], chars)
    assert word_beam_search(probs, lm)[0].text == "hello"


def test_long_inputs_do_not_underflow() -> None:
    chars = " abc"
    lm = build_language_model("ab ba cab", chars)
    probs = np.random.default_rng(0).dirichlet(np.ones(5), size=100)
    for mode in ("words", "ngrams"):
        expected = word_beam_search(probs, lm, mode, beam_width=8)[0].text
        assert word_beam_search(probs * 1e-10, lm, mode, beam_width=8)[0].text == expected


SMALL_CHARS = "ab."
SMALL_DICTIONARY = ["a", "ab", "bab"]


@st.composite
def small_matrices(draw, max_t: int):
    t = draw(st.integers(1, max_t))
    value = st.one_of(st.just(0.0), st.floats(0.01, 1.0))
    rows = draw(st.lists(st.lists(value, min_size=4, max_size=4), min_size=t, max_size=t))
    probs = np.array(rows)
    probs[probs.sum(axis=1) == 0] = 1.0
    return probs / probs.sum(axis=1, keepdims=True)


def valid_labellings(probs: np.ndarray) -> dict[str, float]:
    """Brute force: labellings whose words are all in the dictionary, with probabilities."""
    totals: dict[str, float] = defaultdict(float)
    for path in itertools.product(range(4), repeat=len(probs)):
        text = "".join(SMALL_CHARS[c - 1] for c, _ in itertools.groupby(path) if c != 0)
        if all(word in SMALL_DICTIONARY for word in words_of(text, "ab")):
            totals[text] += float(np.prod(probs[np.arange(len(path)), path]))
    return totals


@settings(deadline=None, max_examples=60)
@given(small_matrices(max_t=4))
def test_wide_word_beam_search_finds_the_most_probable_dictionary_reading(probs) -> None:
    lm = build_language_model("", SMALL_CHARS, dictionary=SMALL_DICTIONARY)
    exact = valid_labellings(probs)
    best = max(exact.values())
    if best == 0:
        return
    found = word_beam_search(probs, lm, beam_width=400, top_k=3)
    assert found[0].probability == pytest.approx(best, abs=1e-9)
    for candidate in found:
        assert candidate.probability == pytest.approx(exact[candidate.text], abs=1e-9)


@settings(deadline=None, max_examples=60)
@given(small_matrices(max_t=8), st.integers(1, 4), st.sampled_from(["words", "ngrams"]))
def test_every_word_in_the_output_is_a_dictionary_word(probs, width, mode) -> None:
    lm = build_language_model("bab a ab a", SMALL_CHARS, dictionary=SMALL_DICTIONARY)
    found = word_beam_search(probs, lm, mode, beam_width=width, top_k=width)
    assert found
    for candidate in found:
        assert all(word in SMALL_DICTIONARY for word in words_of(candidate.text, "ab"))


@settings(deadline=None, max_examples=40)
@given(small_matrices(max_t=5), st.integers(1, 6))
def test_without_word_characters_it_is_plain_beam_search(probs, width) -> None:
    lm = build_language_model("", SMALL_CHARS, word_chars="")
    ours = word_beam_search(probs, lm, beam_width=width, top_k=width)
    plain = beam_search(probs, SMALL_CHARS, beam_width=width, top_k=width)
    assert sorted(c.probability for c in ours) == pytest.approx(
        sorted(c.probability for c in plain), abs=1e-12
    )


def test_language_model_from_config_files_or_training_texts(tmp_path) -> None:
    chars = " abcdefghijklmnopqrstuvwxyz"
    (tmp_path / "words.txt").write_text("apple\nbanana split\n", encoding="utf-8")
    (tmp_path / "corpus.txt").write_text("banana apple banana\n", encoding="utf-8")
    cfg = decode_config(dictionary_file="words.txt", corpus_file="corpus.txt")
    lm = load_language_model(cfg, chars, ["cherry pie"], root=tmp_path)
    assert {"apple", "banana", "split"} == {w for w in lm.tree.word if w}
    assert lm.bigrams["banana", "apple"] == 1
    lm = load_language_model(decode_config(), chars, ["cherry pie", "Pie café"], root=tmp_path)
    assert {"cherry", "pie"} == {w for w in lm.tree.word if w}
    with pytest.raises(HTRError, match="corpus_file not found"):
        load_language_model(decode_config(corpus_file="nope.txt"), chars, [], root=tmp_path)
    with pytest.raises(HTRError, match="not in the charset"):
        build_language_model("", chars, word_chars="A")


def test_decode_runs_word_beam_search_with_the_configured_mode() -> None:
    chars = " acehtu"
    lm = build_language_model("the cat\na cut\na cut\na cut", chars)
    probs = spell(
        [*text_steps("the "), {"c": 0.9}, {}, {"a": 0.4, "u": 0.5}, {}, {"t": 0.9}], chars
    )
    composed = compose(["decode=tiny", "decode.wordbeam_mode=words"]).decode
    words = decode(probs, chars, "wordbeam", composed, lm)
    ngrams = decode(probs, chars, "wordbeam", decode_config(wordbeam_mode="ngrams"), lm)
    assert (words[0].text, ngrams[0].text) == ("the cut", "the cat")
    with pytest.raises(HTRError, match="another charset"):
        decode(probs[:, :-1], chars[:-1], "wordbeam", decode_config(), lm)
