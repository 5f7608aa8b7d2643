"""The vendored fonts: licences, sources, the rejection rule, the held-out split, the choice."""

from __future__ import annotations

import csv
import string
from pathlib import Path

import numpy as np
import pytest
from fontTools.ttLib import TTFont
from fontTools.ttLib.tables._g_l_y_f import Glyph, GlyphComponent

from pipeline.common.config import compose
from pipeline.data.synthetic import fonts
from pipeline.data.synthetic.fontcheck import check_font

SOURCES = fonts.FONT_DIR / "SOURCES.tsv"


def test_every_font_has_a_licence_and_every_fetched_one_a_source():
    with SOURCES.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    names = fonts.available_fonts()
    assert len(names) >= 200 and len(rows) >= 170
    assert {r["slug"] for r in rows} <= set(names)
    for row in rows:
        assert row["npm_package"] == f"@fontsource/{row['slug']}" and row["version"], row
        assert row["licence"] in {"OFL-1.1", "Apache-2.0"} and row["family"], row
    for name in names:
        licence = (fonts.FONT_DIR / name / "LICENSE").read_text(errors="replace")
        known = ("Open Font License", "OPEN FONT LICENSE", "Apache License")
        assert any(phrase in licence for phrase in known), name


def test_every_vendored_font_passes_the_rejection_rule():
    rejected = {}
    for name in fonts.available_fonts():
        verdict = check_font(fonts.font_path(name))
        if not verdict.ok:
            rejected[name] = verdict.reason
    assert rejected == {}


def test_held_out_fonts_span_several_designs_and_have_no_training_twin():
    held_out = list(compose(["data=sample"]).data.sample.held_out_fonts)
    assert len(held_out) >= 10 and len(set(held_out)) == len(held_out)
    training = fonts.training_fonts([], held_out)
    families = {fonts.family(name) for name in training}
    assert not {fonts.family(name) for name in held_out} & families
    assert not set(held_out) & set(training)


def test_font_choice_follows_family_weights_and_what_a_font_can_draw(monkeypatch):
    names = ["kalam", "playwrite-us-trad", "playwrite-us-modern", "playwrite-br", "caveat"]
    weights = fonts.family_weights(tuple(names), 0.5)
    assert weights.tolist() == pytest.approx([1, 3**-0.5, 3**-0.5, 3**-0.5, 1])
    rng = np.random.default_rng(0)
    draws = [fonts.choose_font("word", names, 0.5, rng) for _ in range(4000)]
    share = {n: draws.count(n) / len(draws) for n in names}
    expected = weights / weights.sum()
    assert [share[n] for n in names] == pytest.approx(expected.tolist(), abs=0.03)
    real = fonts.charset

    def without_q(path: Path) -> frozenset[str]:
        return real(path) - {"q"} if path.stem == "kalam" else real(path)

    monkeypatch.setattr(fonts, "charset", without_q)
    assert "kalam" not in {fonts.choose_font("quiz", names, 0.5, rng) for _ in range(300)}


# --- the rejection rule on edited copies of a real font -------------------------------------


@pytest.fixture(scope="module")
def source() -> Path:
    """A real, accepted handwriting font with TrueType outlines."""
    path = fonts.font_path("kalam")
    assert "glyf" in TTFont(str(path), lazy=True)
    return path


def _edited(source: Path, target: Path, edit) -> Path:
    font = TTFont(str(source))
    edit(font, font.getBestCmap())
    font.save(str(target))
    return target


def _set_cmap(font: TTFont, mapping: dict[int, str]) -> None:
    for table in font["cmap"].tables:
        if table.isUnicode():
            table.cmap.update(mapping)


def test_capitals_as_lower_case_are_rejected(source, tmp_path):
    def edit(font, cmap):
        _set_cmap(font, {ord(c): cmap[ord(c.upper())] for c in string.ascii_lowercase})

    verdict = check_font(_edited(source, tmp_path / "caps.ttf", edit))
    assert not verdict.ok and "capitals" in verdict.reason


def test_small_capitals_are_rejected(source, tmp_path):
    def edit(font, cmap):
        glyf, hmtx = font["glyf"], font["hmtx"]
        order = list(font.getGlyphOrder())
        mapping = {}
        for c in string.ascii_lowercase:
            upper = cmap[ord(c.upper())]
            component = GlyphComponent()
            component.glyphName, component.x, component.y, component.flags = upper, 0, 0, 0
            component.transform = [[0.7, 0.0], [0.0, 0.7]]
            small = Glyph()
            small.numberOfContours, small.components = -1, [component]
            name = f"{upper}.smcp_test"
            glyf.glyphs[name] = small
            hmtx.metrics[name] = (int(hmtx[upper][0] * 0.7), hmtx[upper][1])
            order.append(name)
            mapping[ord(c)] = name
        font.setGlyphOrder(order)
        glyf.glyphOrder = order
        for name in mapping.values():
            glyf[name].recalcBounds(glyf)
        _set_cmap(font, mapping)

    verdict = check_font(_edited(source, tmp_path / "smcp.ttf", edit))
    assert not verdict.ok and "small capitals" in verdict.reason


def test_missing_letter_is_rejected(source, tmp_path):
    def edit(font, cmap):
        for table in font["cmap"].tables:
            table.cmap.pop(ord("q"), None)

    verdict = check_font(_edited(source, tmp_path / "noq.ttf", edit))
    assert not verdict.ok and "missing" in verdict.reason
