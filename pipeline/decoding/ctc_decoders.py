"""CTC decoders over per-step character probabilities: best path, prefix beam search, one digit.

`probs` is [T, C]: softmax rows whose column `blank` is the CTC blank and whose other columns,
in order, are the characters of `chars`. Internally the blank is moved to column 0, so label
`i` (1..C-1) is `chars[i - 1]`. `Beams` and `extend` are the prefix-beam step that the word
beam search reuses with its own constraints and language-model scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.common.errors import HTRError

DIGITS = "0123456789"


@dataclass(frozen=True)
class Candidate:
    """A decoded text and its probability as its decoder defines it (see each decoder)."""

    text: str
    probability: float


def canonical(probs: np.ndarray, chars: str, blank: int = 0) -> np.ndarray:
    """`probs` as float64 [T, C] with the blank moved to column 0 (so label i is chars[i-1])."""
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[1] != len(chars) + 1:
        raise HTRError(
            f"probabilities of shape {probs.shape} do not fit a charset of {len(chars)} "
            "characters plus the blank"
        )
    if not 0 <= blank < probs.shape[1]:
        raise HTRError(f"blank index {blank} is outside 0..{probs.shape[1] - 1}")
    if not np.all(np.isfinite(probs)) or np.any(probs < 0):
        raise HTRError("probabilities must be finite and non-negative")
    if blank == 0:
        return probs
    order = [blank, *range(blank), *range(blank + 1, probs.shape[1])]
    return probs[:, order]


def labels_to_text(labels: tuple[int, ...], chars: str) -> str:
    """The text of a labelling (labels 1..N, blank-free)."""
    return "".join(chars[label - 1] for label in labels)


def best_path(probs: np.ndarray, chars: str, blank: int = 0) -> Candidate:
    """Greedy decoding: collapse the most probable label per step; probability of that path."""
    y = canonical(probs, chars, blank)
    if len(y) == 0:
        return Candidate("", 1.0)
    columns = np.asarray(probs).argmax(axis=1)
    labels = np.where(columns < blank, columns + 1, columns)
    labels[columns == blank] = 0
    keep = (labels != 0) & np.concatenate([[True], labels[1:] != labels[:-1]])
    with np.errstate(divide="ignore"):
        log_p = float(np.log(y[np.arange(len(y)), labels]).sum())
    return Candidate(labels_to_text(tuple(labels[keep]), chars), float(np.exp(log_p)))


@dataclass
class Beams:
    """Prefix beams: labellings with the probability of ending in a blank / in their last label.

    The probabilities are kept scaled (divided by exp(log_scale)) so long inputs don't underflow.
    """

    prefixes: list[tuple[int, ...]]
    p_blank: np.ndarray
    p_label: np.ndarray
    log_scale: float = 0.0

    @classmethod
    def start(cls) -> Beams:
        """The single empty labelling before the first time step."""
        return cls([()], np.ones(1), np.zeros(1))

    def log_totals(self) -> np.ndarray:
        """Log of each labelling's total probability (over all its alignments so far)."""
        with np.errstate(divide="ignore"):
            return np.log(self.p_blank + self.p_label) + self.log_scale


@dataclass
class Step:
    """The beams after one time step, with where each came from."""

    beams: Beams
    parent: np.ndarray
    label: np.ndarray


def active_labels(y: np.ndarray, threshold: float) -> list[np.ndarray]:
    """Per time step, the labels (not the blank) whose probability is above `threshold`."""
    mask = y[:, 1:] > threshold
    return [np.flatnonzero(row) + 1 for row in mask]


def extend(
    beams: Beams,
    y: np.ndarray,
    labels: np.ndarray,
    width: int,
    allowed: np.ndarray | None = None,
    weight: np.ndarray | None = None,
    bonus: np.ndarray | None = None,
) -> Step:
    """One CTC prefix-beam step over the canonical row `y`, keeping the `width` best beams.

    Each beam may stay (blank or its repeated last label) or append one of `labels`
    (`allowed`[beam, k] False forbids appending labels[k]). Candidates are ranked by optical
    probability times `weight` [beam] (times `bonus` [beam, k] for appended labels), which is
    how the word beam search brings in its language model; the stored probabilities stay optical.
    """
    prefixes, p_blank, p_label = beams.prefixes, beams.p_blank, beams.p_label
    n_beams, n_labels = len(prefixes), len(labels)
    total = p_blank + p_label
    last = np.array([prefix[-1] if prefix else 0 for prefix in prefixes])
    stay_blank = total * y[0]
    stay_label = np.where(last > 0, p_label * y[last], 0.0)
    y_labels = y[labels]
    repeat = labels[None, :] == last[:, None]
    appended = np.where(repeat, p_blank[:, None], total[:, None]) * y_labels[None, :]
    valid = np.ones_like(appended, dtype=bool) if allowed is None else allowed.copy()
    appended[~valid] = 0.0
    _merge_into_existing(prefixes, labels, appended, valid, stay_label)

    weight = np.ones(n_beams) if weight is None else weight
    ext_scores = appended * weight[:, None]
    if bonus is not None:
        ext_scores = ext_scores * bonus
    scores = np.concatenate(
        [(stay_blank + stay_label) * weight, np.where(valid, ext_scores, -1.0).ravel()]
    )
    chosen = _top(scores, width)

    is_stay = chosen < n_beams
    ext_index = np.where(is_stay, 0, chosen - n_beams)
    parent = np.where(is_stay, chosen, ext_index // max(n_labels, 1))
    label = np.where(is_stay, 0, labels[ext_index % max(n_labels, 1)] if n_labels else 0)
    new_blank = np.where(is_stay, stay_blank[parent], 0.0)
    new_label = np.where(
        is_stay, stay_label[parent], appended.ravel()[ext_index] if n_labels else 0
    )
    new_prefixes = [
        prefixes[p] if lab == 0 else (*prefixes[p], lab)
        for p, lab in zip(parent.tolist(), label.tolist(), strict=True)
    ]
    log_scale = beams.log_scale
    peak = float((new_blank + new_label).max())
    if peak > 0:
        new_blank, new_label = new_blank / peak, new_label / peak
        log_scale += float(np.log(peak))
    return Step(Beams(new_prefixes, new_blank, new_label, log_scale), parent, label)


def _merge_into_existing(
    prefixes: list[tuple[int, ...]],
    labels: np.ndarray,
    appended: np.ndarray,
    valid: np.ndarray,
    stay_label: np.ndarray,
) -> None:
    """Add an extension that equals an existing beam's labelling to that beam, and drop it."""
    index = {prefix: i for i, prefix in enumerate(prefixes)}
    position = {label: k for k, label in enumerate(labels.tolist())}
    for j, prefix in enumerate(prefixes):
        if not prefix:
            continue
        i = index.get(prefix[:-1])
        k = position.get(prefix[-1])
        if i is not None and k is not None and valid[i, k]:
            stay_label[j] += appended[i, k]
            valid[i, k] = False


def _top(scores: np.ndarray, width: int) -> np.ndarray:
    """Indices of the `width` highest non-negative scores, best first."""
    if len(scores) > width:
        chosen = np.argpartition(-scores, width - 1)[:width]
    else:
        chosen = np.arange(len(scores))
    chosen = chosen[scores[chosen] >= 0]
    return chosen[np.argsort(-scores[chosen], kind="stable")]


def beam_search(
    probs: np.ndarray,
    chars: str,
    beam_width: int = 25,
    top_k: int = 1,
    blank: int = 0,
    prune_threshold: float = 0.0,
) -> list[Candidate]:
    """CTC prefix beam search: the `top_k` labellings with their total probability.

    A labelling's probability sums all its alignments that stayed in the beam; with a beam as
    wide as the number of labellings and `prune_threshold` 0 it is exact. Zero-probability
    labellings are left out unless nothing else remains; a probability too small for a
    float (long inputs) reads 0 but still ranks by its logarithm.
    """
    _check_sizes(beam_width, top_k)
    y = canonical(probs, chars, blank)
    beams = Beams.start()
    for row, labels in zip(y, active_labels(y, prune_threshold), strict=True):
        beams = extend(beams, row, labels, beam_width).beams
    log_p = beams.log_totals()
    order = np.argsort(-log_p, kind="stable")[:top_k]
    possible = [i for i in order if np.isfinite(log_p[i])] or order[:1]
    return [
        Candidate(labels_to_text(beams.prefixes[i], chars), float(np.exp(log_p[i])))
        for i in possible
    ]


def _check_sizes(beam_width: int, top_k: int) -> None:
    if beam_width < 1 or top_k < 1:
        raise HTRError(f"beam_width and top_k must be at least 1, got {beam_width}, {top_k}")


def digit_probabilities(probs: np.ndarray, chars: str, blank: int = 0) -> np.ndarray:
    """P(labelling == d) for d = 0..9 by the CTC forward algorithm, normalised over the ten.

    Decoding constrained to exactly one digit; probabilities are floored at the smallest
    positive float so that a matrix where no digit fits still ranks them instead of failing.
    """
    missing = [d for d in DIGITS if d not in chars]
    if missing:
        raise HTRError(f"digit decoding needs the digits in the charset; missing {missing}")
    y = canonical(probs, chars, blank)
    log_y = np.log(np.maximum(y, np.finfo(np.float64).tiny))
    log_blank = log_y[:, 0]
    log_digit = log_y[:, [chars.index(d) + 1 for d in DIGITS]]
    before = 0.0
    on = np.full(len(DIGITS), -np.inf)
    after = np.full(len(DIGITS), -np.inf)
    for t in range(len(y)):
        before, on, after = (
            before + log_blank[t],
            np.logaddexp(before, on) + log_digit[t],
            np.logaddexp(on, after) + log_blank[t],
        )
    log_p = np.logaddexp(on, after)
    if not np.isfinite(log_p.max()):
        raise HTRError("no time steps: a digit needs at least one")
    p = np.exp(log_p - log_p.max())
    return p / p.sum()


def decode_digit(probs: np.ndarray, chars: str, blank: int = 0) -> list[Candidate]:
    """The ten digits with their `digit_probabilities`, most probable first."""
    p = digit_probabilities(probs, chars, blank)
    return [Candidate(DIGITS[d], float(p[d])) for d in np.argsort(-p, kind="stable")]
