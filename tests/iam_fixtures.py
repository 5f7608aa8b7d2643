"""A tiny raw data set in IAM format, written into a temporary directory for tests.

It holds what the real IAM has: a comment header, an `err` segmentation, plus the
broken files IAM is known for (a zero-byte PNG, a missing PNG, an undecodable PNG), and
good images in several PNG modes (L, RGB, LA with transparency) drawn with Pillow.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from pipeline.data.iam.index import Entry, format_entry, image_relpath, index_file

WORDS = [
    "the", "of", "and", "to", "a", "in", "that", "is", "was", "he", "for", "it", "with",
    "as", "his", "on", "be", "at", "by", "had", "not", "are", "but", "from", "or", "have",
    "an", "they", "which", "one", "you", "were", "her", "all", "she", "there", "would",
    "Mr.", "Gaitskell", "MOVE", "stop", "said", "1960", "Labour", "A", "it's", "\"", ",",
]  # fmt: skip


@dataclass
class IamFixture:
    """What `write_iam` wrote: the raw directory and the ids of each kind of entry."""

    raw_dir: Path
    kind: str
    good: dict[str, str] = field(default_factory=dict)
    err_id: str = ""
    empty_id: str = ""
    missing_id: str = ""
    broken_id: str = ""


def draw_text(text: str, rng: random.Random, mode: str = "L") -> Image.Image:
    """Render dark text on light paper with Pillow's default font, in a given PNG mode."""
    font = ImageFont.load_default(size=rng.choice([14, 18, 22]))
    left, top, right, bottom = font.getbbox(text)
    pad = rng.randint(2, 6)
    size = (right - left + 2 * pad, bottom - top + 2 * pad)
    paper, ink = rng.randint(215, 255), rng.randint(0, 70)
    image = Image.new("L", size, paper)
    ImageDraw.Draw(image).text((pad - left, pad - top), text, fill=ink, font=font)
    if mode == "RGB":
        return Image.merge("RGB", (image, image, image.point(lambda v: max(v - 10, 0))))
    if mode == "LA":
        alpha = Image.new("L", size, 255)
        alpha.paste(0, (0, 0, size[0], pad))  # a transparent strip along the top
        return Image.merge("LA", (image, alpha))
    return image


def write_iam(
    raw_root: Path,
    name: str = "fx",
    kind: str = "words",
    n: int = 40,
    texts: list[str] | None = None,
    bad: bool = True,
    seed: int = 0,
    form_prefix: str = "a01",
) -> IamFixture:
    """Write `raw_root/name/{words,lines}.txt` and its PNG tree; return what was written."""
    rng = random.Random(seed)
    raw_dir = Path(raw_root) / name
    raw_dir.mkdir(parents=True, exist_ok=True)
    fixture = IamFixture(raw_dir=raw_dir, kind=kind)
    if texts is None:
        if kind == "words":
            texts = [rng.choice(WORDS) for _ in range(n)]
        else:
            texts = [" ".join(rng.choices(WORDS, k=rng.randint(2, 5))) for _ in range(n)]
    ids = [_sample_id(i, kind, form_prefix) for i in range(len(texts) + 4)]
    lines = ["#--- a comment header, as in IAM's index files ---", "#"]
    for i, (sample_id, text) in enumerate(zip(ids, texts, strict=False)):
        mode = "RGB" if i % 5 == 1 else "LA" if i % 7 == 3 else "L"
        _save(raw_dir, kind, sample_id, draw_text(text, rng, mode))
        lines.append(format_entry(_entry(sample_id, text), kind))
        fixture.good[sample_id] = text
    if bad:
        err_id, empty_id, missing_id, broken_id = ids[len(texts) :]
        fixture.err_id, fixture.empty_id = err_id, empty_id
        fixture.missing_id, fixture.broken_id = missing_id, broken_id
        _save(raw_dir, kind, err_id, draw_text("err", rng))
        lines.append(format_entry(_entry(err_id, "err", ok=False), kind))
        _path(raw_dir, kind, empty_id).write_bytes(b"")
        lines.append(format_entry(_entry(empty_id, "empty"), kind))
        lines.append(format_entry(_entry(missing_id, "missing"), kind))
        _path(raw_dir, kind, broken_id).write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 8)
        lines.append(format_entry(_entry(broken_id, "broken"), kind))
    (raw_dir / index_file(kind)).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return fixture


def write_split_lists(lists_dir: Path, splits: dict[str, list[str]]) -> Path:
    """Write IAM split list files (trainset.txt, ...) mapping file name -> line ids."""
    lists_dir = Path(lists_dir)
    lists_dir.mkdir(parents=True, exist_ok=True)
    for filename, line_ids in splits.items():
        (lists_dir / filename).write_text("".join(f"{i}\n" for i in line_ids), encoding="utf-8")
    return lists_dir


def _sample_id(i: int, kind: str, form_prefix: str) -> str:
    """Ids spread over forms and lines: a01-000-00-00, a01-000-00-01, ..."""
    if kind == "words":
        form, line, word = i // 12, (i // 3) % 4, i % 3
        return f"{form_prefix}-{form:03d}-{line:02d}-{word:02d}"
    form, line = i // 4, i % 4
    return f"{form_prefix}-{form:03d}-{line:02d}"


def _entry(sample_id: str, text: str, ok: bool = True) -> Entry:
    return Entry(id=sample_id, text=text, ok=ok, grey_level=180, box=(10, 20, 30, 40))


def _path(raw_dir: Path, kind: str, sample_id: str) -> Path:
    path = raw_dir / image_relpath(kind, sample_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _save(raw_dir: Path, kind: str, sample_id: str, image: Image.Image) -> None:
    image.save(_path(raw_dir, kind, sample_id), format="PNG")
