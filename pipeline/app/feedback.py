"""Corrections from the app, saved as an IAM-format data set that training can add.

The feedback directory (`paths.feedback`) holds `words.txt` / `lines.txt` and the images
under `words/...` / `lines/...`, written by `pipeline.data.iam`, so `build_lmdb` reads it
like any other raw source. Several app sessions may save at once: an exclusive lock
(`fcntl.flock` on `.lock`) serialises choosing the next id and appending the index line,
and each PNG is written to a temporary file and hard-linked into place, so no file is ever
half-written or overwritten.
"""

from __future__ import annotations

import fcntl
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from pipeline.common.errors import HTRError
from pipeline.common.images import encode_png
from pipeline.data import iam
from pipeline.data.synthetic import grey_threshold

PREFIX = "fb"
IMAGE_MODE = 0o644  # mkstemp creates 0600; images are ordinary data files
KINDS = ("words", "lines")
_ID = re.compile(rf"^{PREFIX}-(\d+)-(\d\d)(?:-00)?$")
_HEADER = {
    "words": "# app feedback: id ok grey-level x y w h tag transcription\n",
    "lines": "# app feedback: id ok grey-level components x y w h transcription (| = space)\n",
}


def feedback_id(number: int, kind: str) -> str:
    """The IAM-shaped id of the number-th sample: fb-0001-23(-00), 100 samples per form."""
    form, line = divmod(number, 100)
    base = f"{PREFIX}-{form:04d}-{line:02d}"
    return f"{base}-00" if kind == "words" else base


def check_text(text: str, kind: str) -> str:
    """The transcription to store, or HTRError saying why it cannot be stored."""
    if kind not in KINDS:
        raise HTRError(f"feedback kind must be one of {KINDS}, got {kind!r}")
    text = " ".join(text.split()) if kind == "lines" else text.strip()
    if not text:
        raise HTRError("type what the image says before saving")
    if kind == "words" and any(c.isspace() for c in text):
        raise HTRError("a word has no spaces: use line mode for several words")
    if not text.isprintable() or "|" in text:
        raise HTRError("the text may not contain control characters or '|'")
    return text


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Hold the feedback directory's exclusive lock (across processes and threads)."""
    with (directory / ".lock").open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _entries(directory: Path, kind: str) -> list[iam.Entry]:
    index = Path(directory) / iam.index_file(kind)
    return list(iam.read_entries(index, kind)) if index.is_file() else []


def _next_number(directory: Path) -> int:
    numbers = [
        int(m[1]) * 100 + int(m[2])
        for kind in KINDS
        for entry in _entries(directory, kind)
        if (m := _ID.match(entry.id))
    ]
    return max(numbers, default=-1) + 1


def _write_new(path: Path, data: bytes) -> None:
    """Write `data` to a new file `path` atomically; FileExistsError if it exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), IMAGE_MODE)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def save_sample(directory: Path, image: np.ndarray, text: str, kind: str = "words") -> iam.Entry:
    """Store a uint8 [h, w, 1] image and its transcription under a new id; return the entry."""
    text = check_text(text, kind)
    image = np.asarray(image)
    data = encode_png(image)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with _locked(directory):
        number = _next_number(directory)
        while True:
            entry = iam.Entry(
                id=feedback_id(number, kind),
                text=text,
                ok=True,
                grey_level=grey_threshold(image),
                box=(0, 0, image.shape[1], image.shape[0]),
            )
            line = iam.format_entry(entry, kind)
            try:
                _write_new(directory / iam.image_relpath(kind, entry.id), data)
                break
            except FileExistsError:  # an image left by a save interrupted before its index line
                number += 1
        index = directory / iam.index_file(kind)
        with index.open("a", encoding="utf-8") as handle:
            if handle.tell() == 0:
                handle.write(_HEADER[kind])
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())
    return entry


def count_samples(directory: Path) -> int:
    """How many feedback samples (words and lines) the directory holds."""
    directory = Path(directory)
    if not directory.is_dir():
        return 0
    with _locked(directory):
        return sum(len(_entries(directory, kind)) for kind in KINDS)
