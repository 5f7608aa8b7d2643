"""Word beam search (after Scheidl et al., 2018): CTC prefix beam search kept inside a dictionary.

Word characters (by default the letters of the charset) may only spell dictionary words, walked
in a prefix tree; every other character (space, punctuation, digits) is free between words, so
"hello, world 42" decodes when "hello" and "world" are words. Mode `words` uses the dictionary
only; mode `ngrams` also multiplies a beam's score by a word-bigram probability (add-k smoothed)
each time a word is completed, and by the corpus unigram probability of each free character other
than whitespace, so that a digit or a comma costs what it costs in the corpus instead of nothing
(unscored, "8" outranked the word "a", whose own probability is charged, on real handwriting).
Corpus and dictionary text split into words the same way: at
whitespace and at charset characters that are not word characters (so "don't" gives "don" and
"t"); a word with any other character cannot be written and is dropped. Words are case-sensitive.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pipeline.common.errors import HTRError
from pipeline.decoding.ctc_decoders import (
    Beams,
    Candidate,
    Step,
    active_labels,
    canonical,
    extend,
    labels_to_text,
)
from pipeline.decoding.prefix_tree import ROOT, PrefixTree

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from pipeline.common.config import DecodeConfig

MODES = ("words", "ngrams")
BETWEEN_WORDS = -1


@dataclass(frozen=True)
class LanguageModel:
    """A dictionary (prefix tree) plus word unigram/bigram counts over one charset."""

    chars: str
    word_chars: str
    tree: PrefixTree
    unigrams: Counter[str]
    bigrams: Counter[tuple[str, str]]
    contexts: Counter[str]
    smoothing: float
    n_tokens: int
    # corpus counts of the free characters other than whitespace (digits, punctuation); they
    # are tokens of the unigram model beside the words, so n_tokens counts them too
    free_chars: Counter[str]

    def log_prob(self, word: str, previous: str | None) -> float:
        """Log P(word | previous) with add-k smoothing; the unigram P(word) when no previous."""
        if previous is None:
            return self._unigram_log(self.unigrams[word])
        k, size = self.smoothing, len(self.tree)
        return math.log((self.bigrams[previous, word] + k) / (self.contexts[previous] + k * size))

    def _unigram_log(self, count: float) -> float:
        """Add-k log probability of a token (word or free character) seen `count` times."""
        k, size = self.smoothing, len(self.tree) + len(self.free_chars)
        return math.log((count + k) / (self.n_tokens + k * size))

    def free_log_probs(self) -> np.ndarray:
        """Per label (index 0: blank), the log unigram probability of writing it as a free
        character: 0 for blank, word characters and whitespace (never charged)."""
        return np.array(
            [0.0]
            + [
                0.0
                if char in self.word_chars or char.isspace()
                else self._unigram_log(self.free_chars[char])
                for char in self.chars
            ]
        )

    def is_word_label(self) -> np.ndarray:
        """Per label (index 0: blank), whether it is a word character."""
        return np.array([False] + [char in self.word_chars for char in self.chars])


def tokenize(text: str, chars: str, word_chars: str) -> list[list[str | None]]:
    """Per line, its words, split at whitespace and at the charset's non-word characters.

    A run with a character outside `word_chars` (one the charset cannot write, say) is None,
    so it neither enters the dictionary nor makes a bigram.
    """
    separators = "".join(sorted(set(chars) - set(word_chars)))
    pattern = re.compile(f"[\\s{re.escape(separators)}]+" if separators else r"\s+")
    allowed = set(word_chars)
    return [
        [run if set(run) <= allowed else None for run in pattern.split(line) if run]
        for line in text.splitlines()
    ]


def build_language_model(
    corpus: str,
    chars: str,
    *,
    dictionary: Iterable[str] | None = None,
    word_chars: str | None = None,
    smoothing: float = 0.1,
    word_frequencies: Mapping[str, float] | None = None,
    frequency_weight: float = 0.0,
) -> LanguageModel:
    """A language model from corpus text; its words form the dictionary unless one is given.

    `word_frequencies` (word -> share of natural text) with `frequency_weight` w > 0 add w
    corpora's worth of unigram counts drawn from them, with the corpus's own share of free
    characters: a small or flattened corpus (the synthetic training texts) then still knows
    that "or" is far more common than "Or" or "26"."""
    if word_chars is None:
        word_chars = "".join(char for char in chars if char.isalpha())
    outside = sorted(set(word_chars) - set(chars))
    if outside:
        raise HTRError(f"word_chars {outside} are not in the charset")
    if smoothing <= 0:
        raise HTRError(f"lm_smoothing must be positive, got {smoothing}")
    lines = tokenize(corpus, chars, word_chars)
    unigrams = Counter(word for line in lines for word in line if word)
    bigrams = Counter(pair for line in lines for pair in pairwise(line) if all(pair))
    contexts = Counter(first for first, _ in bigrams.elements())
    free = set(chars) - set(word_chars)
    free_chars = Counter(char for char in corpus if char in free and not char.isspace())
    if word_frequencies and frequency_weight > 0:
        unigrams, free_chars = _with_frequencies(
            unigrams, free_chars, word_frequencies, frequency_weight
        )
    if dictionary is None:
        words: Iterable[str] = unigrams
    else:
        words = [
            w for line in tokenize("\n".join(dictionary), chars, word_chars) for w in line if w
        ]
    tree = PrefixTree(words, chars, unigrams)
    return LanguageModel(
        chars,
        word_chars,
        tree,
        unigrams,
        bigrams,
        contexts,
        smoothing,
        unigrams.total() + free_chars.total(),
        free_chars,
    )


def _with_frequencies(
    unigrams: Counter[str],
    free_chars: Counter[str],
    frequencies: Mapping[str, float],
    weight: float,
) -> tuple[Counter[str], Counter[str]]:
    """Unigram counts plus `weight` times the corpus's word count spread by `frequencies`,
    and free-character counts scaled alike so that their share of the tokens is the corpus's."""
    n_words = max(unigrams.total(), 1)
    total = sum(frequencies.values())
    merged: Counter[str] = Counter(unigrams)
    for word, share in frequencies.items():
        merged[word] += weight * n_words * share / total
    scaled = Counter({char: count * (1.0 + weight) for char, count in free_chars.items()})
    return merged, scaled


def load_language_model(
    cfg_decode: DecodeConfig | DictConfig,
    chars: str,
    train_texts: Iterable[str],
    root: str | Path = ".",
) -> LanguageModel:
    """The configured language model: dictionary/corpus files if set, else the training texts."""
    corpus = "\n".join(train_texts)
    if cfg_decode.corpus_file:
        corpus = _read(Path(root) / cfg_decode.corpus_file, "corpus_file")
    dictionary = None
    if cfg_decode.dictionary_file:
        dictionary = _read(Path(root) / cfg_decode.dictionary_file, "dictionary_file").splitlines()
    frequencies: dict[str, float] = {}
    if cfg_decode.lexicon_size > 0:
        own = dictionary if dictionary is not None else corpus.split()
        frequencies = english_lexicon(cfg_decode.lexicon_size)
        dictionary = [*own, *frequencies]
    return build_language_model(
        corpus,
        chars,
        dictionary=dictionary,
        word_chars=cfg_decode.word_chars,
        smoothing=cfg_decode.lm_smoothing,
        word_frequencies=frequencies,
        frequency_weight=cfg_decode.lexicon_weight,
    )


# How a word's frequency is shared among its lower-case, Capitalised and UPPER forms in the
# lexicon's counts: about one word in six starts a sentence or a name in running English.
CASE_SHARES = (0.82, 0.15, 0.03)


def english_lexicon(size: int) -> dict[str, float]:
    """The `size` most frequent English words (wordfreq ships them offline) in lower-case,
    Capitalised and UPPER forms, each with its share of running text (`CASE_SHARES` of the
    word's frequency); characters outside the charset are filtered later."""
    from wordfreq import top_n_list, word_frequency

    lexicon: dict[str, float] = {}
    for word in top_n_list("en", size):
        frequency = word_frequency(word, "en")
        forms = (word, word.capitalize(), word.upper())
        shares = (0.0, 1.0, 0.0) if word == "i" else CASE_SHARES  # the pronoun is always "I"
        for form, share in zip(forms, shares, strict=True):
            lexicon[form] = lexicon.get(form, 0.0) + frequency * share
    return lexicon


def _read(path: Path, key: str) -> str:
    if not path.is_file():
        raise HTRError(f"decode.{key} not found: {path}")
    return path.read_text(encoding="utf-8")


@dataclass
class _State:
    """Per beam: prefix-tree node of the word being spelt (or BETWEEN_WORDS), LM context."""

    node: np.ndarray
    previous: list[str | None]
    lm_log: np.ndarray


def word_beam_search(
    probs: np.ndarray,
    lm: LanguageModel,
    mode: str = "words",
    beam_width: int = 25,
    top_k: int = 1,
    blank: int = 0,
    prune_threshold: float = 0.0,
    lm_weight: float = 1.0,
) -> list[Candidate]:
    """The `top_k` texts whose words are all in the dictionary, best first.

    A candidate's probability is its optical probability (over the alignments kept in the beam)
    times, in `ngrams` mode, its word-bigram probability to the power `lm_weight`. Beams that
    end inside a word are finished with that prefix's most frequent word, and only returned
    when no beam ends on a complete word.
    """
    if mode not in MODES:
        raise HTRError(f"word beam search mode must be one of {MODES}, got {mode!r}")
    if beam_width < 1 or top_k < 1:
        raise HTRError(f"beam_width and top_k must be at least 1, got {beam_width}, {top_k}")
    y = canonical(probs, lm.chars, blank)
    use_lm = mode == "ngrams"
    word_label = lm.is_word_label()
    free_log = lm.free_log_probs() if use_lm else np.zeros(len(lm.chars) + 1)
    beams = Beams.start()
    state = _State(np.array([BETWEEN_WORDS]), [None], np.zeros(1))
    for row, labels in zip(y, active_labels(y, prune_threshold), strict=True):
        is_word = word_label[labels]
        allowed = _allowed(lm.tree, state.node, labels, is_word)
        weight = bonus = None
        if use_lm:
            weight = np.exp(lm_weight * (state.lm_log - state.lm_log.max()))
            finish = np.exp(lm_weight * _finish_log(lm, state))
            free = np.exp(lm_weight * free_log[labels])
            bonus = np.where(is_word[None, :], 1.0, finish[:, None] * free[None, :])
        step = extend(beams, row, labels, beam_width, allowed, weight, bonus)
        beams, state = step.beams, _advance(lm, state, step, word_label, free_log, use_lm)
    return _final(lm, beams, state, use_lm, lm_weight, top_k)


def _allowed(
    tree: PrefixTree, nodes: np.ndarray, labels: np.ndarray, is_word: np.ndarray
) -> np.ndarray:
    """[beam, k] whether beam may append labels[k].

    A word label must continue the beam's word (or start one); any other label needs the beam
    to be between words or at the end of a complete word.
    """
    between = nodes == BETWEEN_WORDS
    base = np.where(between, ROOT, nodes)
    free = between | tree.ends_word[base]
    return np.where(is_word[None, :], tree.has_child[base[:, None], labels[None, :]], free[:, None])


def _finish_log(lm: LanguageModel, state: _State) -> np.ndarray:
    """Per beam, the log LM factor for ending its current word now (0 with none to end)."""
    finish = np.zeros(len(state.node))
    in_word = state.node != BETWEEN_WORDS
    for i in np.flatnonzero(in_word & lm.tree.ends_word[np.where(in_word, state.node, ROOT)]):
        finish[i] = lm.log_prob(lm.tree.word[state.node[i]], state.previous[i])
    return finish


def _advance(
    lm: LanguageModel,
    state: _State,
    step: Step,
    word_label: np.ndarray,
    free_log: np.ndarray,
    use_lm: bool,
) -> _State:
    """The state of each new beam from its parent's state and the label it appended."""
    nodes = state.node[step.parent]
    lm_log = state.lm_log[step.parent]
    previous = [state.previous[p] for p in step.parent.tolist()]
    for i, (node, label) in enumerate(zip(nodes.tolist(), step.label.tolist(), strict=True)):
        if label == 0:
            continue
        if word_label[label]:
            nodes[i] = lm.tree.children[ROOT if node == BETWEEN_WORDS else node][label]
            continue
        if use_lm:
            lm_log[i] += free_log[label]
        if node != BETWEEN_WORDS:
            word = lm.tree.word[node]
            if use_lm:
                lm_log[i] += lm.log_prob(word, previous[i])
            nodes[i], previous[i] = BETWEEN_WORDS, word
    return _State(nodes, previous, lm_log)


def _final(
    lm: LanguageModel, beams: Beams, state: _State, use_lm: bool, lm_weight: float, top_k: int
) -> list[Candidate]:
    """Score each beam with its last word; keep those ending on a complete word if any can be."""
    complete: list[tuple[float, str]] = []
    completed: list[tuple[float, str]] = []
    for i, (prefix, optical) in enumerate(zip(beams.prefixes, beams.log_totals(), strict=True)):
        text, node, lm_log = labels_to_text(prefix, lm.chars), state.node[i], state.lm_log[i]
        word = None if node == BETWEEN_WORDS else lm.tree.word[node]
        ends_word = node == BETWEEN_WORDS or word is not None
        if not ends_word:
            word = lm.tree.completion(node)
            text += word[lm.tree.depth[node] :]
        if word is not None and use_lm:
            lm_log += lm.log_prob(word, state.previous[i])
        (complete if ends_word else completed).append((optical + lm_weight * lm_log, text))
    ranked = _possible(complete) or _possible(completed) or complete + completed
    ranked.sort(key=lambda scored: -scored[0])
    best: dict[str, float] = {}
    for log_p, text in ranked:
        best.setdefault(text, log_p)
    return [Candidate(text, float(np.exp(log_p))) for text, log_p in best.items()][:top_k]


def _possible(scored: list[tuple[float, str]]) -> list[tuple[float, str]]:
    return [(log_p, text) for log_p, text in scored if np.isfinite(log_p)]
