"""A prefix tree (trie) of dictionary words over CTC labels: which label may continue a word."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

ROOT = 0


class PrefixTree:
    """Dictionary words as a trie of label ids (1..N, as in `chars`), nodes numbered from ROOT.

    Each node knows whether it ends a word, its depth, and its best completion: the most
    frequent word below it (ties: shorter, then alphabetical), used to finish a word the
    decoder stopped in the middle of. `ends_word` [node] and `has_child` [node, label] hold
    the same facts as arrays, so a decoder can look them up for all its beams at once.
    """

    def __init__(
        self, words: Iterable[str], chars: str, counts: Mapping[str, int] | None = None
    ) -> None:
        index = {char: i + 1 for i, char in enumerate(chars)}
        self._index = index
        counts = counts or {}
        self.children: list[dict[int, int]] = [{}]
        self.word: list[str | None] = [None]
        self.depth: list[int] = [0]
        for word in sorted(set(words)):
            if word and all(char in index for char in word):
                self._insert(word, [index[char] for char in word])
        self.n_words = sum(w is not None for w in self.word)
        self._completion = self._completions(counts)
        self.ends_word = np.array([w is not None for w in self.word])
        self.has_child = np.zeros((len(self.children), len(chars) + 1), dtype=bool)
        for node, children in enumerate(self.children):
            self.has_child[node, list(children)] = True

    def _insert(self, word: str, labels: list[int]) -> None:
        node = ROOT
        for label in labels:
            child = self.children[node].get(label)
            if child is None:
                child = len(self.children)
                self.children[node][label] = child
                self.children.append({})
                self.word.append(None)
                self.depth.append(self.depth[node] + 1)
            node = child
        self.word[node] = word

    def _completions(self, counts: Mapping[str, int]) -> list[str | None]:
        """For every node the best word below it; children are numbered after parents."""
        best: list[str | None] = list(self.word)

        def key(word: str) -> tuple[int, int, str]:
            return (-counts.get(word, 0), len(word), word)

        for node in range(len(self.children) - 1, -1, -1):
            for child in self.children[node].values():
                below = best[child]
                if below is not None and (best[node] is None or key(below) < key(best[node])):
                    best[node] = below
        return best

    def __len__(self) -> int:
        """Number of words."""
        return self.n_words

    def child(self, node: int, label: int) -> int | None:
        """The node reached by appending `label` to `node`'s prefix, if any word continues so."""
        return self.children[node].get(label)

    def is_word(self, node: int) -> bool:
        """Whether the prefix at `node` is itself a dictionary word."""
        return self.word[node] is not None

    def completion(self, node: int) -> str | None:
        """The most frequent dictionary word that starts with `node`'s prefix."""
        return self._completion[node]

    def __contains__(self, word: object) -> bool:
        """Whether `word` is in the dictionary."""
        if not isinstance(word, str):
            return False
        node: int | None = ROOT
        for char in word:
            node = self.children[node].get(self._index.get(char, -1))
            if node is None:
                return False
        return self.is_word(node)
