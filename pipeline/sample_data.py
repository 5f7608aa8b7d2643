"""The offline default data set (`data=sample`): rendered words plus real MNIST digits.

Written in IAM's layout (words.txt and words/<form>/<form-writer>/<id>.png) so the same
reader handles it and the real database. Every sample has its own random generator
derived from (seed, stream, index), so the output is byte-identical whatever the number
of worker processes.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
from omegaconf import DictConfig
from PIL import Image
from tqdm import tqdm

from pipeline import digits, fonts, iam, render, vocabulary
from pipeline.atomic import atomic_file
from pipeline.errors import HTRError

log = logging.getLogger(__name__)

# Independent random streams per purpose; a sample's generator is (seed, stream, index).
_TEXT, _RENDER, _DIGIT, _HELD_OUT_TEXT, _HELD_OUT_RENDER = 0, 1, 2, 4, 5
WORD_PREFIX, DIGIT_PREFIX = "s", "d"
_MAX_CHUNK = 64


def sample_id(prefix: str, index: int) -> str:
    """An IAM-shaped id for the index-th sample: s00-000-00-00 (10 words a line, 10 lines)."""
    word, line = index % 10, (index // 10) % 10
    form, group = (index // 100) % 1000, index // 100_000
    return f"{prefix}{group:02d}-{form:03d}-{line:02d}-{word:02d}"


def _rng(seed: int, stream: int, index: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, stream, index]))


def plan_words(
    sample: DictConfig, seed: int, n: int, font_names: Sequence[str], stream: int = _TEXT
) -> list[tuple[str, str]]:
    """(text, font name) for each of `n` words, drawn from the mix in `sample` (data.sample)."""
    vocab = vocabulary.build_vocabulary(
        sample.vocabulary_size, sample.frequency_power, sample.max_length
    )
    plan = []
    for index in range(n):
        rng = _rng(seed, stream, index)
        text = vocabulary.draw_text(vocab, rng, sample)
        plan.append((text, font_names[int(rng.integers(len(font_names)))]))
    return plan


def _write_png(image: np.ndarray, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path, format="PNG")


def _render_chunk(task: tuple) -> list[tuple[int, int, int, int]]:
    """Render and save one chunk of words; return (index, width, height, grey) per word."""
    out_dir, seed, height, items = task
    rows = []
    for index, sample, text, font in items:
        image = render.render_word(text, fonts.font_path(font), _rng(seed, _RENDER, index), height)
        _write_png(image, Path(out_dir) / iam.image_relpath("words", sample))
        rows.append((index, image.shape[1], image.shape[0], render.grey_threshold(image)))
    return rows


def _render_words(
    cfg: DictConfig, out_dir: Path, plan: list[tuple[str, str]]
) -> list[tuple[int, int, int]]:
    """Render the planned words, in worker processes when `data.sample.workers` > 1."""
    items = [(i, sample_id(WORD_PREFIX, i), text, font) for i, (text, font) in enumerate(plan)]
    workers = max(1, cfg.data.sample.workers)
    chunk = max(1, min(_MAX_CHUNK, math.ceil(len(items) / (4 * workers))))
    tasks = [
        (str(out_dir), cfg.data.seed, cfg.data.sample.render_height, items[i : i + chunk])
        for i in range(0, len(items), chunk)
    ]
    shapes: list[tuple[int, int, int]] = [(0, 0, 0)] * len(items)
    bar = tqdm(total=len(items), desc="render words", unit="word")
    workers = min(workers, len(tasks))
    if workers > 1:
        # spawn: never fork a parent that may already run TensorFlow's threads. An executor
        # (unlike multiprocessing.Pool) fails loudly if a worker cannot start.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            for done in as_completed([pool.submit(_render_chunk, task) for task in tasks]):
                rows = done.result()
                for index, *shape in rows:
                    shapes[index] = tuple(shape)
                bar.update(len(rows))
    else:
        for task in tasks:
            for index, *shape in _render_chunk(task):
                shapes[index] = tuple(shape)
            bar.update(len(task[3]))
    bar.close()
    return shapes


def _write_digits(cfg: DictConfig, out_dir: Path) -> list[iam.Entry]:
    """Save the data set's MNIST digits and return their index entries."""
    n_digits = cfg.data.sample.n_digits
    if n_digits == 0:
        return []
    images, labels = digits.load_mnist()
    used, _ = digits.split_digits(labels, n_digits, cfg.data.seed)
    entries = []
    for number, index in enumerate(tqdm(used, desc="digits", unit="digit")):
        rng = _rng(cfg.data.seed, _DIGIT, int(index))
        image = digits.digit_image(images[index], rng, cfg.data.sample.digit_scale)
        sample = sample_id(DIGIT_PREFIX, number)
        _write_png(image, out_dir / iam.image_relpath("words", sample))
        entries.append(_entry(sample, str(labels[index]), image))
    return entries


def _entry(sample: str, text: str, image: np.ndarray) -> iam.Entry:
    h, w = image.shape
    return iam.Entry(sample, text, True, render.grey_threshold(image), (0, 0, w, h))


def _tag(text: str) -> str:
    """IAM-style grammatical tag: CD for numbers, the mark itself for punctuation."""
    if text.replace(".", "").isdigit():
        return "CD"
    return text if text in vocabulary.PUNCTUATION else "XX"


def check_mix(sample: DictConfig) -> None:
    """Reject `data.sample` values that cannot describe a data set, naming the key."""
    shares = ("p_number", "p_punctuation", "p_random")
    for key in (*shares, "p_capitalised", "p_upper"):
        if not 0.0 <= sample[key] <= 1.0:
            raise HTRError(f"data.sample.{key} must be a probability in [0, 1], got {sample[key]}")
    if sum(sample[key] for key in shares) > 1.0:
        raise HTRError(f"data.sample.{' + '.join(shares)} must not exceed 1")
    if sample.p_capitalised + sample.p_upper > 1.0:
        raise HTRError("data.sample.p_capitalised + p_upper must not exceed 1")
    for key in ("n_words", "n_digits"):
        if sample[key] < 0:
            raise HTRError(f"data.sample.{key} must not be negative, got {sample[key]}")
    for key in ("vocabulary_size", "max_length", "digit_scale", "render_height", "workers"):
        if sample[key] < 1:
            raise HTRError(f"data.sample.{key} must be at least 1, got {sample[key]}")


def build_sample(cfg: DictConfig, out_dir: Path) -> dict:
    """Write the synthetic data set in IAM's format to `out_dir`; return a summary."""
    start = time.perf_counter()
    sample = cfg.data.sample
    check_mix(sample)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = fonts.training_fonts(list(sample.fonts), list(sample.held_out_fonts))
    plan = plan_words(sample, cfg.data.seed, sample.n_words, names)
    shapes = _render_words(cfg, out_dir, plan)
    entries = [
        iam.Entry(sample_id(WORD_PREFIX, i), text, True, grey, (0, 0, w, h))
        for i, ((text, _), (w, h, grey)) in enumerate(zip(plan, shapes, strict=True))
    ]
    entries += _write_digits(cfg, out_dir)
    with atomic_file(out_dir / "words.txt", "w") as handle:
        handle.write("# synthetic IAM-format words: rendered handwriting fonts + MNIST digits\n")
        handle.write("# id ok grey-level x y w h tag transcription\n")
        for entry in entries:
            handle.write(iam.format_entry(entry, "words", tag=_tag(entry.text)) + "\n")
    report = {
        "n_words": len(plan),
        "n_digits": len(entries) - len(plan),
        "fonts_used": sorted({font for _, font in plan}),
        "held_out_fonts": list(sample.held_out_fonts),
        "seed": cfg.data.seed,
        "seconds": round(time.perf_counter() - start, 2),
    }
    log.info(
        "sample data set: %d words, %d digits in %.1f s",
        report["n_words"],
        report["n_digits"],
        report["seconds"],
    )
    return report


def render_held_out(
    cfg: DictConfig, n: int, seed: int | None = None, words: Sequence[str] | None = None
) -> list[tuple[np.ndarray, str]]:
    """`n` word images in the held-out fonts only, for a check on unseen writing styles.

    Texts follow the data set's mix unless `words` is given (then drawn from it).
    """
    sample = cfg.data.sample
    held_out = list(sample.held_out_fonts)
    if not held_out:
        raise HTRError("data.sample.held_out_fonts is empty: no unseen fonts to render")
    paths = {name: fonts.font_path(name) for name in held_out}
    seed = cfg.data.seed if seed is None else seed
    plan = plan_words(sample, seed, n, held_out, stream=_HELD_OUT_TEXT)
    out = []
    for index, (text, font) in enumerate(plan):
        rng = _rng(seed, _HELD_OUT_RENDER, index)
        if words:
            text = words[int(rng.integers(len(words)))]
        out.append((render.render_word(text, paths[font], rng, sample.render_height), text))
    return out
