"""Time every CTC decoder per word (T=32) and per line (T=100); print ms and accuracy, no asserts.

By default the probability matrices are "noisy peaked" ones made from real English words: each
character holds a few time steps with a random peak, some steps are confused with another
letter, and every class gets Gaussian logit noise. `--probs FILE.npy` ([N, T, C] model outputs)
with `--chars` (and optionally `--texts`, one reference per line) measures real outputs instead.

    python bench/decoders.py [--n 200] [--probs out.npy --chars "$(cat charset.txt)"]
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import wordfreq

from pipeline.common.metrics import cer, word_accuracy
from pipeline.decoding.ctc_decoders import Candidate, beam_search, best_path
from pipeline.decoding.word_beam_search import LanguageModel, build_language_model, word_beam_search

IAM_CHARS = " !\"#&'()*+,-./0123456789:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
LETTERS = "abcdefghijklmnopqrstuvwxyz"


def noisy_peaked(text: str, chars: str, steps: int, rng: np.random.Generator) -> np.ndarray:
    """A [steps, len(chars)+1] softmax matrix that a decent recognizer might emit for `text`."""
    targets = np.zeros(steps, dtype=int)
    edges = np.linspace(0, steps, len(text) + 1).astype(int)
    for char, start, end in zip(text, edges[:-1], edges[1:], strict=True):
        width = max(1, (end - start) // 2)
        targets[start : start + width] = chars.index(char) + 1
    logits = rng.normal(0.0, 1.0, size=(steps, len(chars) + 1))
    peak = rng.uniform(5.0, 9.0, size=steps)
    logits[np.arange(steps), targets] += peak
    confused = np.flatnonzero((targets > 0) & (rng.random(steps) < 0.2))
    for t in confused:
        other = chars.index(rng.choice(list(LETTERS))) + 1
        logits[t, other] += peak[t] + rng.uniform(-1.5, 0.7)
    logits[:, 0] += 1.0
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def synthetic(
    words: list[str], n: int, steps: int, per_line: int, seed: int
) -> tuple[list[np.ndarray], list[str]]:
    """`n` matrices of `per_line` random words each (lines joined by spaces), with their texts."""
    rng, pick = np.random.default_rng(seed), random.Random(seed)
    texts = [" ".join(pick.choices(words, k=per_line)) for _ in range(n)]
    texts = [t for t in texts if 2 * len(t) <= steps] or texts[:1]
    return [noisy_peaked(t, IAM_CHARS, steps, rng) for t in texts], texts


def bigram_corpus(words: list[str], n_lines: int, seed: int) -> str:
    """Zipf-weighted random word sequences (`words` by rank): realistic counts for n-grams."""
    pick = random.Random(seed)
    weights = [1 / rank for rank in range(1, len(words) + 1)]
    tokens = pick.choices(words, weights, k=8 * n_lines)
    return "\n".join(" ".join(tokens[i : i + 8]) for i in range(0, len(tokens), 8))


def decoders(lm: LanguageModel, width: int, threshold: float) -> dict[str, Callable]:
    """The decoders under test, each a function probs -> best Candidate."""
    chars = lm.chars

    def wbs(mode: str) -> Callable[[np.ndarray], Candidate]:
        return lambda p: word_beam_search(p, lm, mode, width, prune_threshold=threshold)[0]

    return {
        "bestpath": lambda p: best_path(p, chars),
        "beam w10": lambda p: beam_search(p, chars, 10, prune_threshold=threshold)[0],
        "beam w25": lambda p: beam_search(p, chars, 25, prune_threshold=threshold)[0],
        "beam w25 unpruned": lambda p: beam_search(p, chars, 25)[0],
        f"wordbeam words w{width}": wbs("words"),
        f"wordbeam ngrams w{width}": wbs("ngrams"),
    }


def measure(name: str, run: Callable, probs: list[np.ndarray], texts: list[str] | None) -> float:
    """Print wall and CPU ms per sample (and accuracy given references); return the CPU ms.

    CPU time is this process's own, so it stays meaningful when other work shares the cores.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    found = [run(p).text for p in probs]
    wall_ms = 1000 * (time.perf_counter() - wall) / len(probs)
    cpu_ms = 1000 * (time.process_time() - cpu) / len(probs)
    scores = ""
    if texts is not None:
        scores = f"  CER {cer(texts, found):6.2%}  exact {word_accuracy(texts, found):6.1%}"
    print(f"  {name:<24} {wall_ms:7.2f} ms wall {cpu_ms:7.2f} ms CPU{scores}", end="")
    return cpu_ms


def run_set(title: str, lm: LanguageModel, probs, texts, width: int, threshold: float) -> None:
    """Run every decoder over one set of matrices, with CPU time relative to best path."""
    shape = probs[0].shape
    print(f"{title}: {len(probs)} samples, T={shape[0]}, C={shape[1]}, ms per sample")
    base = None
    for name, fn in decoders(lm, width, threshold).items():
        ms = measure(name, fn, probs, texts)
        base = base or ms
        print(f"  x{ms / base:6.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="synthetic words (lines: n/4)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dictionary-size", type=int, default=10000)
    parser.add_argument("--beam-width", type=int, default=25)
    parser.add_argument("--prune-threshold", type=float, default=1e-3)
    parser.add_argument("--probs", type=Path, help="model outputs .npy [N, T, C]")
    parser.add_argument("--chars", help="charset of --probs (column i+1 is chars[i])")
    parser.add_argument("--texts", type=Path, help="references for --probs, one per line")
    args = parser.parse_args()
    if args.probs and not args.chars:
        parser.error("--probs needs --chars")

    words = wordfreq.top_n_list("en", args.dictionary_size)
    chars = args.chars if args.probs else IAM_CHARS
    words = [w for w in words if set(w) <= set(chars)]
    start = time.perf_counter()
    lm = build_language_model(bigram_corpus(words, 20000, args.seed), chars, dictionary=words)
    print(
        f"language model: {len(lm.tree)} words, {len(lm.bigrams)} bigrams, "
        f"built in {time.perf_counter() - start:.1f} s"
    )
    if args.probs:
        loaded = np.load(args.probs)
        probs = list(loaded[None] if loaded.ndim == 2 else loaded)
        texts = args.texts.read_text().splitlines() if args.texts else None
        run_set("model outputs", lm, probs, texts, args.beam_width, args.prune_threshold)
        return
    lettered = [w for w in words if w.isalpha()]
    for title, n, steps, per_line in (
        ("words", args.n, 32, 1),
        ("lines of 4 words", args.n // 4, 100, 4),
    ):
        probs, texts = synthetic(lettered, n, steps, per_line, args.seed)
        run_set(title, lm, probs, texts, args.beam_width, args.prune_threshold)


if __name__ == "__main__":
    main()
