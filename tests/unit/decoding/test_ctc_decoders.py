"""Best path, prefix beam search and digit decoding against brute-force CTC enumeration."""

from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.common.errors import HTRError
from pipeline.decoding.ctc_decoders import (
    DIGITS,
    beam_search,
    best_path,
    decode_digit,
    digit_probabilities,
)
from pipeline.decoding.registry import decode
from tests.unit.decoding.configs import decode_config

WIDE = 200  # more than the 121 labellings of length <= 4 over 3 characters


def brute_force(probs: np.ndarray, chars: str, blank: int) -> dict[str, float]:
    """Every alignment's probability, summed per collapsed labelling."""
    column_char = [
        None if c == blank else chars[c if c < blank else c - 1] for c in range(len(chars) + 1)
    ]
    totals: dict[str, float] = defaultdict(float)
    for path in itertools.product(range(probs.shape[1]), repeat=probs.shape[0]):
        collapsed = [column_char[c] for c, _ in itertools.groupby(path)]
        text = "".join(ch for ch in collapsed if ch is not None)
        totals[text] += float(np.prod(probs[np.arange(len(path)), path]))
    return dict(totals)


@st.composite
def matrices(draw, max_t: int = 4, max_chars: int = 3, min_t: int = 1):
    """A random [T, C] probability matrix (some exact zeros), its chars and blank column."""
    n_chars = draw(st.integers(1, max_chars))
    t = draw(st.integers(min_t, max_t))
    value = st.one_of(st.just(0.0), st.floats(0.01, 1.0))
    rows = draw(
        st.lists(
            st.lists(value, min_size=n_chars + 1, max_size=n_chars + 1), min_size=t, max_size=t
        )
    )
    probs = np.array(rows, dtype=np.float64)
    probs[probs.sum(axis=1) == 0] = 1.0
    probs /= probs.sum(axis=1, keepdims=True)
    blank = draw(st.integers(0, n_chars))
    return probs, "abc"[:n_chars], blank


def peaked(text: str, chars: str, steps_per_char: int = 2, peak: float = 0.9) -> np.ndarray:
    """A matrix that spells `text` (blank between characters), each step `peak` on its target."""
    targets: list[int] = []
    for char in text:
        targets += [chars.index(char) + 1] * (steps_per_char - 1) + [0]
    probs = np.full((len(targets), len(chars) + 1), (1 - peak) / len(chars))
    probs[np.arange(len(targets)), targets] = peak
    return probs


@given(matrices())
def test_best_path_collapses_the_argmax_path(case) -> None:
    probs, chars, blank = case
    argmax = probs.argmax(axis=1)
    collapsed = [c for c, _ in itertools.groupby(argmax) if c != blank]
    expected = "".join(chars[c if c < blank else c - 1] for c in collapsed)
    result = best_path(probs, chars, blank)
    assert result.text == expected
    assert result.probability == pytest.approx(float(np.prod(probs.max(axis=1))), abs=1e-12)


@settings(deadline=None)
@given(matrices(), st.integers(1, 4))
def test_wide_beam_search_matches_brute_force(case, top_k) -> None:
    probs, chars, blank = case
    exact = brute_force(probs, chars, blank)
    ranking = sorted((p for p in exact.values() if p > 0), reverse=True)
    found = beam_search(probs, chars, beam_width=WIDE, top_k=top_k, blank=blank)
    assert [c.probability for c in found] == pytest.approx(ranking[:top_k], abs=1e-9)
    for candidate in found:
        assert candidate.probability == pytest.approx(exact[candidate.text], abs=1e-9)
    assert found[0].probability == pytest.approx(max(exact.values()), abs=1e-9)
    assert len({c.text for c in found}) == len(found)
    assert sum(c.probability for c in found) <= 1 + 1e-9


@settings(deadline=None)
@given(matrices(max_t=5), st.integers(1, 3), st.sampled_from([0.0, 0.1, 0.3]))
def test_narrow_or_pruned_beams_never_overcount(case, width, threshold) -> None:
    probs, chars, blank = case
    exact = brute_force(probs, chars, blank)
    found = beam_search(probs, chars, width, top_k=width, blank=blank, prune_threshold=threshold)
    assert 1 <= len(found) <= width
    for candidate in found:
        assert candidate.probability <= exact[candidate.text] + 1e-12


def test_beam_search_beats_best_path_on_the_known_example() -> None:
    probs = np.array([[0.4, 0.0, 0.6], [0.4, 0.0, 0.6]])
    assert best_path(probs, "ab", blank=2).text == ""
    (top,) = beam_search(probs, "ab", beam_width=10, blank=2)
    assert top.text == "a"
    assert top.probability == pytest.approx(0.64)


def test_repeated_letters_need_a_blank_between_them() -> None:
    chars = "lo"
    found = beam_search(peaked("lol", chars), chars, top_k=1)
    assert found[0].text == "lol"
    assert beam_search(peaked("ll", chars), chars)[0].text == "ll"
    # Two 'l' steps with no blank between them collapse into one 'l'.
    probs = np.array([[0.05, 0.9, 0.05], [0.05, 0.9, 0.05]])
    assert beam_search(probs, chars)[0].text == "l"


def test_long_inputs_do_not_underflow() -> None:
    rng = np.random.default_rng(0)
    chars = "abc"
    probs = rng.dirichlet(np.ones(4), size=100)
    # Scaling every row leaves the ranking unchanged but, without per-step normalisation,
    # would drive every probability to zero (1e-10 ** 100).
    expected = beam_search(probs, chars, beam_width=8)[0].text
    assert beam_search(probs * 1e-10, chars, beam_width=8)[0].text == expected
    np.testing.assert_allclose(
        digit_probabilities(np.tile(probs[:, :1], (1, 11)) * 1e-10, DIGITS),
        np.full(10, 0.1),
    )


def test_bad_shapes_and_sizes_are_reported() -> None:
    with pytest.raises(HTRError, match="do not fit"):
        beam_search(np.full((3, 4), 0.25), "ab")
    with pytest.raises(HTRError, match="blank index"):
        best_path(np.full((3, 3), 1 / 3), "ab", blank=3)
    with pytest.raises(HTRError, match="beam_width"):
        beam_search(np.full((3, 3), 1 / 3), "ab", beam_width=0)


@st.composite
def digit_matrices(draw):
    t = draw(st.integers(1, 3))
    rows = draw(
        st.lists(st.lists(st.floats(0.01, 1.0), min_size=11, max_size=11), min_size=t, max_size=t)
    )
    probs = np.array(rows)
    return probs / probs.sum(axis=1, keepdims=True), draw(st.integers(0, 10))


@settings(deadline=None, max_examples=30)
@given(digit_matrices())
def test_digit_probabilities_match_brute_force(case) -> None:
    probs, blank = case
    exact = brute_force(probs, DIGITS, blank)
    single = np.array([exact.get(d, 0.0) for d in DIGITS])
    found = digit_probabilities(probs, DIGITS, blank)
    assert found.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(found, single / single.sum(), atol=1e-9)


def test_digit_mode_reads_a_peaked_seven_among_other_characters() -> None:
    chars = "0123456789abc"
    found = decode_digit(peaked("7", chars, steps_per_char=3, peak=0.7), chars)
    assert next(c.text for c in found) == "7"
    assert sorted(c.text for c in found) == list(DIGITS)
    assert found[0].probability > 0.9
    # Even where the best path reads letters, exactly one digit comes out.
    assert decode_digit(peaked("a1b", chars), chars)[0].text == "1"
    with pytest.raises(HTRError, match="missing"):
        decode_digit(peaked("1", "123"), "123")


def test_decode_dispatches_with_the_configured_sizes() -> None:
    chars = "abc"
    probs = np.random.default_rng(1).dirichlet(np.ones(4), size=6)
    cfg = decode_config(beam_width=10, top_k=4, prune_threshold=0.0)
    beam = decode(probs, chars, "beam", cfg)
    assert [c.text for c in beam] == [c.text for c in beam_search(probs, chars, 10, 4)]
    assert len(beam) == 4
    assert decode(probs, chars, "bestpath", cfg) == [best_path(probs, chars)]
    with pytest.raises(HTRError, match="unknown decoder"):
        decode(probs, chars, "greedy", cfg)
    with pytest.raises(HTRError, match="language model"):
        decode(probs, chars, "wordbeam", cfg)
