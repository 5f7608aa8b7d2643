"""The IAM on-disk format: `words.txt` / `lines.txt` entries and the image tree beside them.

One parser and one writer, so the real IAM database, the synthetic sample and the
app's feedback set are read by the same code.

words.txt:  a01-000u-00-00 ok 154 408 768 27 51 AT A
            id, segmentation (ok|err), grey level, x y w h, grammatical tag, transcription
lines.txt:  a01-000u-00 ok 154 19 408 746 1661 89 A|MOVE|to|stop|Mr.|Gaitskell|from
            id, segmentation, grey level, components, x y w h, transcription (| = space)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pipeline.common.errors import HTRError

WORD_FIELDS = 9
LINE_FIELDS = 9


@dataclass(frozen=True)
class Entry:
    """One transcribed image as listed in words.txt or lines.txt."""

    id: str
    text: str
    ok: bool
    grey_level: int
    box: tuple[int, int, int, int]


def index_file(kind: str) -> str:
    """Name of the index file for a kind of sample: words.txt or lines.txt."""
    return {"words": "words.txt", "lines": "lines.txt"}[kind]


def image_relpath(kind: str, sample_id: str) -> Path:
    """IAM's image path for an id: words/a01/a01-000u/a01-000u-00-00.png."""
    parts = sample_id.split("-")
    if len(parts) < 3:
        raise HTRError(f"malformed IAM id {sample_id!r}: expected at least form-writer-line")
    return Path(kind, parts[0], f"{parts[0]}-{parts[1]}", f"{sample_id}.png")


def parse_entry(line: str, kind: str, where: str = "") -> Entry:
    """Parse one non-comment line of words.txt (kind='words') or lines.txt ('lines')."""
    fields = line.rstrip("\n").split(" ")
    minimum = WORD_FIELDS if kind == "words" else LINE_FIELDS
    if len(fields) < minimum:
        raise HTRError(f"{where}: expected at least {minimum} fields, got {len(fields)}: {line!r}")
    sample_id, seg = fields[0], fields[1]
    if seg not in ("ok", "err"):
        raise HTRError(f"{where}: segmentation flag must be ok or err, got {seg!r}")
    try:
        grey = int(fields[2])
        if kind == "words":
            box = tuple(int(v) for v in fields[3:7])
            text = " ".join(fields[8:])
        else:
            box = tuple(int(v) for v in fields[4:8])
            text = " ".join(fields[8:]).replace("|", " ")
    except ValueError as err:
        raise HTRError(f"{where}: non-numeric field in {line!r}") from err
    return Entry(id=sample_id, text=text, ok=seg == "ok", grey_level=grey, box=box)  # type: ignore[arg-type]


def read_entries(index_path: Path, kind: str, drop_err: bool = False) -> Iterator[Entry]:
    """Yield the entries of an IAM index file, skipping `#` comments and blank lines."""
    if not index_path.is_file():
        raise HTRError(f"IAM index file not found: {index_path}")
    with index_path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip() or line.startswith("#"):
                continue
            entry = parse_entry(line, kind, where=f"{index_path}:{number}")
            if drop_err and not entry.ok:
                continue
            yield entry


def read_words(raw_dir: Path, drop_err: bool = False) -> list[Entry]:
    """All entries of `raw_dir/words.txt`."""
    return list(read_entries(Path(raw_dir) / "words.txt", "words", drop_err))


def read_lines(raw_dir: Path, drop_err: bool = False) -> list[Entry]:
    """All entries of `raw_dir/lines.txt`, with `|` turned into spaces."""
    return list(read_entries(Path(raw_dir) / "lines.txt", "lines", drop_err))


def format_entry(entry: Entry, kind: str, tag: str = "XX", components: int = 1) -> str:
    """The index-file line for an entry (no newline); inverse of `parse_entry`."""
    if not entry.text or entry.text != entry.text.strip():
        raise HTRError(f"{entry.id}: transcription must be non-empty without outer spaces")
    seg = "ok" if entry.ok else "err"
    x, y, w, h = entry.box
    if kind == "words":
        if " " in entry.text:
            raise HTRError(f"{entry.id}: a word transcription cannot contain a space")
        return f"{entry.id} {seg} {entry.grey_level} {x} {y} {w} {h} {tag} {entry.text}"
    text = entry.text.replace(" ", "|")
    return f"{entry.id} {seg} {entry.grey_level} {components} {x} {y} {w} {h} {text}"
