"""Word rendering, the font split and the vocabulary behind the synthetic data set."""

from __future__ import annotations

import dataclasses
import string

import numpy as np
import pytest

from pipeline.common.errors import HTRError
from pipeline.data.synthetic import fonts, render, vocabulary

CAVEAT = fonts.font_path("caveat")


def neutral_style(**changes) -> render.Style:
    """A plain style: no distortion or noise, black ink on white paper."""
    base = render.sample_style(np.random.default_rng(0), 64)
    plain = dict(
        x_height=20.0, per_char=False, slant=0.0, rotation=0.0, stretch=1.0, elastic=0.0,
        weight=0.0, pencil=0.0, ink=0.0, paper=255.0, texture=0.0, gradient=0.0, noise=0.0,
        blur=0.0, underline=False, ruled=False, margin=0.1,
    )  # fmt: skip
    return dataclasses.replace(base, **{**plain, **changes})


def test_render_is_dark_ink_on_light_paper_and_reproducible():
    first = render.render_word("Minimum", CAVEAT, np.random.default_rng(7))
    again = render.render_word("Minimum", CAVEAT, np.random.default_rng(7))
    other = render.render_word("Minimum", CAVEAT, np.random.default_rng(8))
    assert first.dtype == np.uint8 and first.ndim == 2
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other) or first.shape != other.shape
    border = np.concatenate([first[0], first[-1], first[:, 0], first[:, -1]])
    assert np.median(border) - first.min() > 60  # ink clearly darker than the paper


def test_crop_is_tight_with_a_small_margin():
    image = render.render_word("tight", CAVEAT, np.random.default_rng(0), style=neutral_style())
    ink = image < 128
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    margin = 0.1 * 20 + 2
    assert rows[0] <= margin and image.shape[0] - 1 - rows[-1] <= margin
    assert cols[0] <= margin and image.shape[1] - 1 - cols[-1] <= margin


def test_bold_pen_lays_more_ink_than_a_thin_one():
    rng = np.random.default_rng
    bold = render.render_word("weight", CAVEAT, rng(1), style=neutral_style(weight=1.0))
    thin = render.render_word("weight", CAVEAT, rng(1), style=neutral_style(weight=-1.0))
    assert (bold < 128).sum() > 1.8 * (thin < 128).sum()


def test_punctuation_keeps_its_height_in_the_line():
    style = neutral_style(margin=0.0)
    dot = render.render_word(".", CAVEAT, np.random.default_rng(0), style=style) < 128
    quote = render.render_word("'", CAVEAT, np.random.default_rng(0), style=style) < 128
    assert dot.shape[0] >= 18 and quote.shape[0] >= 18  # at least the x-height band
    assert np.flatnonzero(dot.any(axis=1)).mean() > dot.shape[0] * 0.6  # low
    assert np.flatnonzero(quote.any(axis=1)).mean() < quote.shape[0] * 0.4  # high


def test_per_character_layout_can_make_letters_touch_or_part():
    tight = neutral_style(per_char=True, tracking=-0.15, char_jitter=0, char_rotation=0)
    loose = dataclasses.replace(tight, tracking=0.4)
    rng = np.random.default_rng
    narrow = render.render_word("minimum", CAVEAT, rng(0), style=tight)
    wide = render.render_word("minimum", CAVEAT, rng(0), style=loose)
    assert wide.shape[1] - narrow.shape[1] > 0.5 * 20 * 6  # 0.55 x-height more per gap


def test_render_rejects_bad_text_and_missing_font(tmp_path):
    with pytest.raises(HTRError, match="non-empty"):
        render.render_word("two words", CAVEAT, np.random.default_rng(0))
    missing = tmp_path / "nope.ttf"
    with pytest.raises(HTRError, match=r"nope\.ttf"):
        render.render_word("word", missing, np.random.default_rng(0))


def test_every_font_has_a_glyph_for_every_character_the_data_set_writes():
    ttlib = pytest.importorskip("fontTools.ttLib")
    needed = set(string.ascii_letters + string.digits + "".join(vocabulary.PUNCTUATION))
    for name in fonts.available_fonts():
        cmap = ttlib.TTFont(fonts.font_path(name)).getBestCmap()
        missing = sorted(c for c in needed if ord(c) not in cmap)
        assert not missing, f"{name} lacks {missing}"


def test_training_fonts_exclude_held_out_and_name_bad_fonts():
    all_fonts = fonts.available_fonts()
    assert len(all_fonts) >= 30
    chosen = fonts.training_fonts([], ["zeyada", "caveat"])
    assert set(chosen) == set(all_fonts) - {"zeyada", "caveat"}
    assert fonts.training_fonts(["kalam", "itim"], ["zeyada"]) == ["itim", "kalam"]
    with pytest.raises(HTRError, match="comic-sans"):
        fonts.training_fonts(["comic-sans"], [])
    with pytest.raises(HTRError, match="comic-sans"):
        fonts.training_fonts([], ["comic-sans"])
    with pytest.raises(HTRError, match="kalam"):
        fonts.training_fonts(["kalam"], ["kalam"])


def test_vocabulary_is_tokenised_like_iam_and_frequency_weighted():
    assert vocabulary.split_clitics("don't") == ["do", "n't"]
    assert vocabulary.split_clitics("john's") == ["john", "'s"]
    assert vocabulary.split_clitics("always") == ["always"]
    vocab = vocabulary.build_vocabulary(2000, frequency_power=1.0, max_length=16)
    words = set(vocab.words)
    assert {"n't", "'s", "I", "the"} <= words and "i" not in words and "don't" not in words
    draws = [vocab.draw(np.random.default_rng([3, i])) for i in range(2000)]
    assert draws.count("the") > 40  # ~5% of English tokens
    flat = vocabulary.build_vocabulary(2000, frequency_power=0.0, max_length=16)
    flat_draws = [flat.draw(np.random.default_rng([3, i])) for i in range(2000)]
    assert flat_draws.count("the") < 10
    short = vocabulary.build_vocabulary(2000, frequency_power=1.0, max_length=5)
    assert max(map(len, short.words)) <= 5
