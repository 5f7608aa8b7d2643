"""The vendored handwriting fonts (OFL 1.1 / Apache 2.0), the training / held-out split and
the choice of a font for a text.

Each font lives in `pipeline/data/synthetic/fonts/<name>/<name>.ttf` with its LICENSE beside
it; a font is named by its directory (`SOURCES.tsv` there says where the fetched ones came
from). Held-out fonts are never rendered into the data set, so a model can be checked on
writing styles it never saw. A font is only given a text whose every character it maps to a
glyph (else it would draw .notdef boxes, label noise), and a design published as many
near-identical variants (Playwrite's school hands, one per country) counts less per variant.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
from fontTools.ttLib import TTFont

from pipeline.common.errors import HTRError

FONT_DIR = Path(__file__).resolve().parent / "fonts"
# Superfamilies published as many near-identical variants (one per country's school hand).
SUPERFAMILIES = ("playwrite", "edu")


def available_fonts(font_dir: Path = FONT_DIR) -> list[str]:
    """Names of all vendored fonts (directories holding `<name>.ttf`), sorted."""
    return sorted(p.parent.name for p in font_dir.glob("*/*.ttf") if p.stem == p.parent.name)


def font_path(name: str, font_dir: Path = FONT_DIR) -> Path:
    """The .ttf file of a vendored font; HTRError naming the font if there is none."""
    path = font_dir / name / f"{name}.ttf"
    if not path.is_file():
        known = ", ".join(available_fonts(font_dir))
        raise HTRError(f"unknown font {name!r} (no {path}); known fonts: {known}")
    return path


def training_fonts(
    fonts: Sequence[str], held_out: Sequence[str], font_dir: Path = FONT_DIR
) -> list[str]:
    """Fonts the data set may use: `fonts` (or all when empty) minus the held-out ones.

    Every name is checked, and a font listed both for training and as held out is an
    error rather than a silent choice.
    """
    for name in [*fonts, *held_out]:
        font_path(name, font_dir)
    clash = sorted(set(fonts) & set(held_out))
    if clash:
        raise HTRError(
            f"data.sample.fonts lists held-out font(s) {clash}; "
            "remove them from data.sample.fonts or data.sample.held_out_fonts"
        )
    chosen = sorted(set(fonts)) if fonts else available_fonts(font_dir)
    chosen = [name for name in chosen if name not in set(held_out)]
    if not chosen:
        raise HTRError("no training fonts left after removing data.sample.held_out_fonts")
    return chosen


@lru_cache(maxsize=1024)
def charset(path: Path) -> frozenset[str]:
    """The characters a font file maps to a glyph (its best cmap)."""
    with TTFont(str(path), lazy=True) as font:
        cmap = font.getBestCmap() or {}
    return frozenset(chr(code) for code in cmap)


def existing_font(font_path: Path | str, text: str | None = None) -> str:
    """The font's path as a string, checked once for every renderer: HTRError if the file is
    missing or, given `text`, if the font lacks a glyph for one of its (non-space) characters."""
    path = str(font_path)
    if not Path(path).is_file():
        raise HTRError(f"font file not found: {path}")
    if text is not None:
        missing = sorted(set(text) - {" "} - charset(Path(path)))
        if missing:
            raise HTRError(f"font {Path(path).stem} has no glyph for {''.join(missing)!r}")
    return path


def family(name: str) -> str:
    """A font's design family: the superfamily for school-hand variants, else its name."""
    return next((f for f in SUPERFAMILIES if name.startswith(f + "-")), name)


@lru_cache(maxsize=16)
def family_weights(names: tuple[str, ...], power: float) -> np.ndarray:
    """Drawing weight per font: one among n variants of a design weighs n**-power."""
    families = [family(name) for name in names]
    sizes = Counter(families)
    return np.array([sizes[f] ** -power for f in families])


def choose_font(
    text: str,
    names: Sequence[str],
    power: float,
    rng: np.random.Generator,
    font_dir: Path = FONT_DIR,
) -> str:
    """A font for `text`, drawn by family weight among those that can draw all of it."""
    names = tuple(names)
    weights = family_weights(names, power)
    needed = set(text) - {" "}
    can = np.array([needed <= charset(font_dir / n / f"{n}.ttf") for n in names])
    if not can.any():
        raise HTRError(f"no font among {len(names)} can draw {text!r}")
    cdf = np.cumsum(np.where(can, weights, 0.0))
    index = int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"))
    return names[min(index, len(names) - 1)]
