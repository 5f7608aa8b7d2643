"""The vendored handwriting fonts (OFL 1.1 / Apache 2.0) and the training / held-out split.

Each font lives in `pipeline/fonts/<name>/<name>.ttf` with its LICENSE beside it; a font is
named by its directory. Held-out fonts are never rendered into the data set, so a model can
be checked on writing styles it never saw.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pipeline.common.errors import HTRError

FONT_DIR = Path(__file__).resolve().parent / "fonts"


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
