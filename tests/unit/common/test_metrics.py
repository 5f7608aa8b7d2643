"""CER, WER and word accuracy on hand-checked cases, empty references, and corpus weighting."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.common.errors import HTRError
from pipeline.common.metrics import cer, sample_cer, sample_cers, text_metrics, wer, word_accuracy


def test_cer_counts_substitutions_insertions_and_deletions() -> None:
    assert sample_cer("kitten", "sitting") == pytest.approx(3 / 6)
    assert sample_cer("abc", "ac") == pytest.approx(1 / 3)
    assert sample_cer("abc", "abcd") == pytest.approx(1 / 3)


def test_corpus_cer_weighs_samples_by_reference_length() -> None:
    refs, hyps = ["a", "bcdefghij"], ["b", "bcdefghij"]
    assert cer(refs, hyps) == pytest.approx(1 / 10)
    assert sample_cers(refs, hyps) == pytest.approx([1.0, 0.0])


def test_empty_reference_scores_zero_or_one() -> None:
    assert sample_cer("", "") == 0.0
    assert sample_cer("", "xyz") == 1.0
    assert cer([""], ["abc"]) == 1.0
    assert cer([""], [""]) == 0.0
    # Within a corpus an insertion against an empty reference counts against the total.
    assert cer(["", "ab"], ["x", "ab"]) == pytest.approx(1 / 2)
    assert wer([""], ["word"]) == 1.0
    assert wer(["  "], [""]) == 0.0


def test_wer_works_on_whitespace_separated_words() -> None:
    assert wer(["the cat sat"], ["the bat sat"]) == pytest.approx(1 / 3)
    assert wer(["the cat sat"], ["the  cat\tsat"]) == 0.0
    assert wer(["a b", "c d e f"], ["a", "c d e f"]) == pytest.approx(1 / 6)


def test_word_accuracy_is_the_exact_match_rate() -> None:
    assert word_accuracy(["a", "b", "c", "d"], ["a", "x", "c", "C"]) == pytest.approx(0.5)
    assert text_metrics(["ab", "cd"], ["ab", "ce"]) == pytest.approx(
        {"cer": 1 / 4, "wer": 1 / 2, "word_accuracy": 1 / 2}
    )


def test_mismatched_or_empty_inputs_are_rejected() -> None:
    with pytest.raises(ValueError, match="2 references but 1"):
        cer(["a", "b"], ["a"])
    with pytest.raises(HTRError, match="no samples"):
        word_accuracy([], [])


texts = st.text(alphabet="ab c", max_size=6)


@given(st.lists(st.tuples(texts.filter(bool), texts), min_size=1, max_size=5))
def test_corpus_cer_is_the_length_weighted_mean_of_sample_cers(pairs) -> None:
    refs, hyps = [r for r, _ in pairs], [h for _, h in pairs]
    weighted = sum(c * len(r) for c, r in zip(sample_cers(refs, hyps), refs, strict=True))
    assert cer(refs, hyps) == pytest.approx(weighted / sum(map(len, refs)))
    assert (cer(refs, hyps) == 0) == (refs == hyps)
