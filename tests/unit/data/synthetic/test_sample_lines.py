"""Synthetic text lines: the sentence corpus, line rendering and the lines.txt data set."""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
from pathlib import Path

import numpy as np
import pytest
from fontTools.ttLib import TTFont
from PIL import Image

from pipeline.common.config import compose
from pipeline.common.errors import HTRError
from pipeline.data.iam import index as iam
from pipeline.data.synthetic import fonts, fortunes, render, render_line, sample_data, sentences

CAVEAT = str(fonts.font_path("caveat"))


def tiny_lines(tmp_path: Path, *overrides: str):
    return compose(["data=tiny_lines", *overrides], root=tmp_path)


def all_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def plain_style(**changes) -> render.Style:
    """No distortion or noise: black ink on white paper, x-height 20 px."""
    base = render.sample_style(np.random.default_rng(0), 64)
    plain = dict(
        x_height=20.0, per_char=False, tracking=0.0, slant=0.0, rotation=0.0, stretch=1.0,
        elastic=0.0, weight=0.0, pencil=0.0, ink=0.0, paper=255.0, texture=0.0, gradient=0.0,
        noise=0.0, blur=0.0, underline=False, ruled=False, margin=0.1,
    )  # fmt: skip
    return dataclasses.replace(base, **{**plain, **changes})


def straight_layout(**changes) -> render_line.LineLayout:
    """Fixed gaps, a flat baseline and identical words."""
    flat = dict(
        gap=1.0, gap_spread=0.0, slope=0.0, wave=0.0, wavelength=10.0, phase=0.0, jitter=0.0,
        size_spread=0.0, slant_spread=0.0, tilt_spread=0.0,
    )  # fmt: skip
    return render_line.LineLayout(**{**flat, **changes})


def empty_runs(ink: np.ndarray) -> list[int]:
    """Lengths of the runs of ink-free columns between inked ones."""
    empty = ink.max(axis=0) <= 0.05
    return [len(list(run)) for is_empty, run in itertools.groupby(empty) if is_empty]


# --- the corpus -------------------------------------------------------------------------


def test_corpus_is_plain_english_every_font_can_draw():
    corpus = sentences.load_sentences()
    assert len(corpus) >= 300 and len(set(corpus)) == len(corpus)
    chars = set("".join(corpus))
    assert chars <= set(fortunes.CHARS) and {",", ".", "'", "?"} <= chars
    for name in fonts.available_fonts():
        cmap = TTFont(fonts.font_path(name)).getBestCmap()
        assert not {c for c in chars - {" "} if ord(c) not in cmap}, name
    for sentence in corpus:
        assert sentence == " ".join(sentence.split()) and len(sentence.split()) >= 3
    licence = sentences.CORPUS.parent / "LICENSE-fortunes"
    assert "Regents of the University of California" in licence.read_text()


def test_lines_are_runs_of_consecutive_words_within_the_word_range():
    corpus = ["One two three four five six seven eight nine ten eleven twelve.", "Short one here."]
    seen_lengths, whole = set(), 0
    for index in range(400):
        line = sentences.sample_line(np.random.default_rng(index), corpus, 3, 6)
        words = line.split(" ")
        assert 3 <= len(words) <= 6
        assert any(f" {line} " in f" {s} " for s in corpus)  # consecutive words of one
        seen_lengths.add(len(words))
        whole += line == corpus[1]
    assert seen_lengths == {3, 4, 5, 6} and whole > 50
    assert sentences.sample_line(np.random.default_rng(0), ["Too short."], 3, 6) == "Too short."
    with pytest.raises(HTRError, match="min_line_words"):
        sentences.sample_line(np.random.default_rng(0), corpus, 5, 4)


def test_longest_line_is_the_longest_run_by_brute_force():
    corpus = ["a bb ccc dddd eeeee f", "zzzzzzzzzz y", "xx xx xx xx xx xx xx xx"]
    for max_words in range(1, 9):
        runs = [
            " ".join(words[i : i + min(max_words, len(words))])
            for words in (s.split() for s in corpus)
            for i in range(len(words) - min(max_words, len(words)) + 1)
        ]
        assert sentences.longest_line(corpus, max_words) == max(map(len, runs))


def test_fortune_files_become_clean_sentences():
    text = (
        "A visit to a strange place will bring fresh work.  Mr. Smith agrees.\n%\n"
        "Be cheerful while\nyou are alive.\n\t\t-- Phathotep, 24th Century B.C.\n%\n"
        "Q:\tWhat is green and lives in the ocean?\nA:\tMoby Pickle.\n%\n"
        "DO NOT READ THIS SENTENCE TWICE.\n%\n"
        "Caf\u00e9 au lait costs $3 today.\n%\n"
        "A visit to a strange place will bring fresh work.\n"
    )
    assert fortunes.extract_sentences([text]) == [
        "A visit to a strange place will bring fresh work.",
        "Mr. Smith agrees.",
        "Be cheerful while you are alive.",
        "What is green and lives in the ocean?",
    ]


# --- rendering --------------------------------------------------------------------------


def test_render_line_is_reproducible_and_dark_on_light():
    text = "Avoid reality at all costs, friend."
    first = render_line.render_line(text, CAVEAT, np.random.default_rng(3))
    again = render_line.render_line(text, CAVEAT, np.random.default_rng(3))
    other = render_line.render_line(text, CAVEAT, np.random.default_rng(4))
    assert first.dtype == np.uint8 and first.ndim == 2
    assert np.array_equal(first, again)
    assert first.shape != other.shape or not np.array_equal(first, other)
    border = np.concatenate([first[0], first[-1], first[:, 0], first[:, -1]])
    assert np.median(border) - first.min() > 60
    assert first.shape[1] > 4 * first.shape[0]  # a line, not a word


@pytest.mark.parametrize("gap", [0.6, 1.4])
def test_words_are_separated_by_the_layout_gap(gap):
    words = ["one", "quick", "brown", "fox", "jumps"]
    ink = render_line.line_ink(
        words, CAVEAT, plain_style(), straight_layout(gap=gap), np.random.default_rng(0)
    )
    wide = [run for run in empty_runs(ink) if run >= 0.45 * 20]
    assert wide == [round(gap * 20)] * (len(words) - 1)


def test_slope_raises_later_words_and_a_flat_line_keeps_one_baseline():
    words = ["mum"] * 5  # no ascenders or descenders: ink rows show the baseline

    def word_bottoms(slope: float) -> list[float]:
        ink = render_line.line_ink(
            words, CAVEAT, plain_style(), straight_layout(slope=slope), np.random.default_rng(0)
        )
        bottoms, columns = [], np.flatnonzero(ink.max(axis=0) > 0.05)
        for group in np.split(columns, np.flatnonzero(np.diff(columns) > 8) + 1):
            rows = np.flatnonzero(ink[:, group[0] : group[-1] + 1].max(axis=1) > 0.5)
            bottoms.append((rows[-1], group.mean()))
        return bottoms

    flat = word_bottoms(0.0)
    assert len(flat) == 5 and max(b for b, _ in flat) - min(b for b, _ in flat) <= 1
    sloped = word_bottoms(1.5)
    (first, x0), (last, x1) = sloped[0], sloped[-1]
    assert first - last == pytest.approx(math.tan(math.radians(1.5)) * (x1 - x0), abs=2.5)


@pytest.mark.parametrize("text", ["", "two  spaces", " leading", "tab\there"])
def test_render_line_rejects_text_that_is_not_single_spaced_words(text):
    with pytest.raises(HTRError, match="single spaces"):
        render_line.render_line(text, CAVEAT, np.random.default_rng(0))


# --- the lines data set -----------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The tiny lines data set built once in-process, with its config and report."""
    root = tmp_path_factory.mktemp("lines")
    cfg = tiny_lines(root)
    report = sample_data.build_sample(cfg, root / "raw")
    return cfg, root / "raw", report


def test_lines_txt_parses_and_every_image_matches_its_entry(built):
    cfg, out, report = built
    entries = iam.read_lines(out)
    assert len(entries) == cfg.data.sample.n_lines == report["n_lines"] == 12
    assert not (out / "words.txt").exists() and report["kind"] == "lines"
    corpus = sentences.load_sentences()
    for entry in entries:
        assert re.fullmatch(r"l\d\d-\d{3}-\d\d", entry.id) and entry.ok
        assert "|" not in entry.text and entry.text == " ".join(entry.text.split())
        assert 3 <= len(entry.text.split()) <= cfg.data.sample.max_line_words
        assert any(f" {entry.text} " in f" {s} " for s in corpus)
        with Image.open(out / iam.image_relpath("lines", entry.id)) as image:
            assert image.mode == "L" and (0, 0, *image.size) == entry.box
            pixels = np.asarray(image)
        assert pixels.min() < entry.grey_level < np.median(pixels)
    raw = (out / "lines.txt").read_text().splitlines()
    assert any("," in ln.split(" ", 8)[8] and "|" in ln for ln in raw if not ln.startswith("#"))
    assert report["longest_line"] == max(len(e.text) for e in entries)


def test_lines_are_identical_whatever_the_worker_count_and_change_with_the_seed(built, tmp_path):
    _, out, _ = built
    parallel = tmp_path / "parallel"
    sample_data.build_sample(tiny_lines(tmp_path, "data.sample.workers=2"), parallel)
    assert all_bytes(parallel) == all_bytes(out)
    other = tmp_path / "other"
    sample_data.build_sample(tiny_lines(tmp_path, "data.seed=7"), other)
    assert all_bytes(other)["lines.txt"] != all_bytes(out)["lines.txt"]


def test_mixed_set_holds_words_and_digits_as_one_word_lines(tmp_path):
    cfg = tiny_lines(tmp_path, "data.sample.n_words=6", "data.sample.n_digits=4")
    sample_data.build_sample(cfg, tmp_path / "mixed")
    entries = iam.read_lines(tmp_path / "mixed")
    kinds = [e.id[0] for e in entries]
    assert kinds.count("s") == 6 and kinds.count("d") == 4 and kinds.count("l") == 12
    assert all(" " not in e.text for e in entries if e.id[0] in "sd")
    for entry in entries:
        assert (tmp_path / "mixed" / iam.image_relpath("lines", entry.id)).is_file()


def test_lines_need_kind_lines_and_a_sane_word_range(tmp_path):
    with pytest.raises(HTRError, match=r"n_lines=5 needs data.kind=lines"):
        sample_data.build_sample(compose(["data=tiny", "data.sample.n_lines=5"]), tmp_path)
    with pytest.raises(HTRError, match="max_line_words"):
        sample_data.build_sample(tiny_lines(tmp_path, "data.sample.max_line_words=2"), tmp_path)


def test_held_out_lines_use_only_held_out_fonts_and_corpus_runs(tmp_path, monkeypatch):
    cfg = tiny_lines(tmp_path)
    seen = []
    original = render_line.render_line

    def recording(draw):
        def record(text, font_path, *args, **kwargs):
            seen.append(Path(font_path).stem)
            return draw(text, font_path, *args, **kwargs)

        return record

    monkeypatch.setattr(sample_data.render_line, "render_line", recording(original))
    monkeypatch.setattr(sample_data.pen, "render_line", recording(sample_data.pen.render_line))
    samples = sample_data.render_held_out_lines(cfg, 6, seed=3)
    assert len(samples) == len(seen) == 6
    assert set(seen) <= set(cfg.data.sample.held_out_fonts)
    corpus = sentences.load_sentences()
    for image, text in samples:
        assert image.dtype == np.uint8 and image.ndim == 2 and image.shape[1] > image.shape[0]
        assert any(f" {text} " in f" {s} " for s in corpus)
    assert [t for _, t in samples] != [t for _, t in sample_data.render_held_out_lines(cfg, 6, 4)]
