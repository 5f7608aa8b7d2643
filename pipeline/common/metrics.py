"""Text recognition metrics: character and word error rates, word accuracy (the one CER).

Corpus rates are total edit distance over total reference length (not a mean of per-sample
rates), so long texts weigh more. An empty reference has nothing to get wrong: against it an
empty hypothesis scores 0 and any other 1, so no rate is ever infinite. Words are the
whitespace-separated tokens of a text.
"""

from __future__ import annotations

from collections.abc import Sequence

import editdistance

from pipeline.common.errors import HTRError


def _rate(errors: int, length: int) -> float:
    if length == 0:
        return 0.0 if errors == 0 else 1.0
    return errors / length


def _pairs(references: Sequence[str], hypotheses: Sequence[str]) -> list[tuple[str, str]]:
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    if not references:
        raise HTRError("no samples to score")
    return list(zip(references, hypotheses, strict=True))


def sample_cer(reference: str, hypothesis: str) -> float:
    """Character error rate of one text: edit distance / reference length."""
    return _rate(editdistance.eval(reference, hypothesis), len(reference))


def sample_cers(references: Sequence[str], hypotheses: Sequence[str]) -> list[float]:
    """Per-sample character error rates, e.g. to find the worst-read samples."""
    return [sample_cer(ref, hyp) for ref, hyp in _pairs(references, hypotheses)]


def cer(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus character error rate: total edit distance / total reference characters."""
    pairs = _pairs(references, hypotheses)
    errors = sum(editdistance.eval(ref, hyp) for ref, hyp in pairs)
    return _rate(errors, sum(len(ref) for ref, _ in pairs))


def wer(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus word error rate: total word-level edit distance / total reference words."""
    pairs = [(ref.split(), hyp.split()) for ref, hyp in _pairs(references, hypotheses)]
    errors = sum(editdistance.eval(ref, hyp) for ref, hyp in pairs)
    return _rate(errors, sum(len(ref) for ref, _ in pairs))


def word_accuracy(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Fraction of samples read exactly right."""
    pairs = _pairs(references, hypotheses)
    return sum(ref == hyp for ref, hyp in pairs) / len(pairs)


def text_metrics(references: Sequence[str], hypotheses: Sequence[str]) -> dict[str, float]:
    """CER, WER and word accuracy of a corpus, as logged and written to metrics files."""
    return {
        "cer": cer(references, hypotheses),
        "wer": wer(references, hypotheses),
        "word_accuracy": word_accuracy(references, hypotheses),
    }
