"""Word texts for the synthetic data set, tokenised as IAM does.

English words come from wordfreq's frequency list (offline, inside the wheel), weighted by
frequency raised to `frequency_power` (1 = natural text, 0 = every word equally likely).
IAM splits punctuation and clitics into words of their own ("do" "n't", "John" "'s", ","),
so contractions are split the same way and punctuation is drawn as standalone tokens.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from omegaconf import DictConfig
from wordfreq import top_n_list, zipf_frequency

# Relative frequencies of standalone punctuation words, roughly as in IAM's words.txt.
PUNCTUATION: dict[str, float] = {
    ",": 0.28,
    ".": 0.28,
    '"': 0.09,
    "-": 0.08,
    "'": 0.04,
    "(": 0.03,
    ")": 0.03,
    ";": 0.04,
    ":": 0.04,
    "?": 0.05,
    "!": 0.04,
}
CLITICS = ("n't", "'s", "'m", "'re", "'ll", "'ve", "'d")
_WORD = re.compile(r"[a-z]+")
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class Vocabulary:
    """Tokens and the cumulative distribution they are drawn from."""

    words: tuple[str, ...]
    cdf: np.ndarray

    def draw(self, rng: np.random.Generator) -> str:
        """One token, drawn with the vocabulary's weights."""
        index = int(np.searchsorted(self.cdf, rng.random() * self.cdf[-1], side="right"))
        return self.words[min(index, len(self.words) - 1)]


def split_clitics(word: str) -> list[str]:
    """Split a contraction as IAM does: don't -> do n't, john's -> john 's."""
    for clitic in CLITICS:
        if word.endswith(clitic) and len(word) > len(clitic):
            return [word[: -len(clitic)], clitic]
    return [word]


def build_vocabulary(size: int, frequency_power: float, max_length: int) -> Vocabulary:
    """The `size` most frequent English words, split into IAM tokens and weighted."""
    frequency: dict[str, float] = defaultdict(float)
    for word in top_n_list("en", size):
        weight = 10.0 ** zipf_frequency(word, "en")
        for token in split_clitics(word):
            token = "I" if token == "i" else token
            if token in CLITICS or token == "I" or _keep(token, max_length):
                frequency[token] += weight
    words = tuple(sorted(frequency))
    weights = np.array([frequency[w] for w in words]) ** frequency_power
    return Vocabulary(words=words, cdf=np.cumsum(weights / weights.sum()))


def _keep(token: str, max_length: int) -> bool:
    """Plain lower-case words; single letters other than 'a' are mostly list noise."""
    if not _WORD.fullmatch(token) or len(token) > max_length:
        return False
    return len(token) > 1 or token == "a"


def draw_number(rng: np.random.Generator) -> str:
    """A number as written in running text: 1-4 digits, a year, or a decimal."""
    kind = rng.random()
    if kind < 0.25:
        return str(int(rng.integers(1800, 2031)))
    if kind < 0.35:
        places = int(rng.integers(1, 3))
        return f"{int(rng.integers(0, 100))}.{int(rng.integers(0, 10**places)):0{places}d}"
    digits = int(rng.integers(1, 5))
    low = 0 if digits == 1 else 10 ** (digits - 1)
    return str(int(rng.integers(low, 10**digits)))


def draw_random_letters(rng: np.random.Generator) -> str:
    """A random letter string, so rare letters and capitals are seen outside words."""
    text = "".join(rng.choice(list(_LETTERS), size=int(rng.integers(1, 9))))
    case = rng.random()
    if case < 0.25:
        return text.upper()
    return text.capitalize() if case < 0.5 else text


def draw_text(vocabulary: Vocabulary, rng: np.random.Generator, mix: DictConfig) -> str:
    """One word image's transcription, following the mix in `data.sample`."""
    kind = rng.random()
    if kind < mix.p_number:
        return draw_number(rng)
    kind -= mix.p_number
    if kind < mix.p_punctuation:
        marks = list(PUNCTUATION)
        weights = np.array(list(PUNCTUATION.values()))
        return marks[int(rng.choice(len(marks), p=weights / weights.sum()))]
    kind -= mix.p_punctuation
    if kind < mix.p_random:
        return draw_random_letters(rng)
    word = vocabulary.draw(rng)
    case = rng.random()
    if case < mix.p_upper:
        return word.upper()
    if case < mix.p_upper + mix.p_capitalised:
        return word[:1].upper() + word[1:]
    return word
