"""Real English sentences for synthetic text lines, and the lines drawn from them.

The corpus ships with the package (`pipeline/corpora/sentences.txt`, extracted from
Debian's fortunes-min by `pipeline.data.synthetic.fortunes`; licence in `corpora/LICENSE-fortunes`).
A line's transcription is natural text with single spaces ("Mr. Gaitskell, from"), which
is also what its image shows: punctuation sits on the word before it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from pipeline.common.errors import HTRError

CORPUS = Path(__file__).resolve().parent / "corpora" / "sentences.txt"


@lru_cache(maxsize=4)
def _read(path: Path) -> tuple[str, ...]:
    if not path.is_file():
        raise HTRError(f"sentence corpus not found: {path}")
    sentences = tuple(" ".join(ln.split()) for ln in path.read_text(encoding="utf-8").splitlines())
    sentences = tuple(s for s in sentences if s)
    if not sentences:
        raise HTRError(f"sentence corpus {path} holds no sentences")
    return sentences


def load_sentences(path: Path = CORPUS) -> list[str]:
    """The sentences of a corpus file (one a line, spaces normalised, blank lines skipped)."""
    return list(_read(Path(path)))


def check_words(min_words: int, max_words: int) -> None:
    """Reject a line length range that cannot be drawn, naming the config keys."""
    if not 1 <= min_words <= max_words:
        raise HTRError(
            "data.sample.min_line_words must be at least 1 and at most "
            f"data.sample.max_line_words, got {min_words} and {max_words}"
        )


def sample_line(
    rng: np.random.Generator, sentences: list[str], min_words: int = 3, max_words: int = 10
) -> str:
    """A line of text: a run of `min_words`..`max_words` consecutive words of one sentence.

    Length and start are uniform, so whole short sentences, sentence openings and
    mid-sentence runs (as in a paragraph's lines) all occur; a sentence shorter than
    `min_words` is used whole.
    """
    check_words(min_words, max_words)
    words = sentences[int(rng.integers(len(sentences)))].split()
    if len(words) <= min_words:
        return " ".join(words)
    n = int(rng.integers(min_words, min(max_words, len(words)) + 1))
    start = int(rng.integers(len(words) - n + 1))
    return " ".join(words[start : start + n])


def longest_line(sentences: list[str], max_words: int) -> int:
    """Characters of the longest line `sample_line` can return with this `max_words`."""
    longest = 0
    for sentence in sentences:
        lengths = [len(w) for w in sentence.split()]
        n = min(max_words, len(lengths))
        for start in range(len(lengths) - n + 1):
            longest = max(longest, sum(lengths[start : start + n]) + n - 1)
    return longest
