"""Atomic outputs: build in a temporary sibling, rename into place only when complete.

An interrupted download, render or LMDB build then leaves the previous output (or
nothing), never a half-written directory or file.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_dir(final: Path) -> Iterator[Path]:
    """Yield an empty temporary directory that replaces `final` if the block succeeds."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
    tmp.chmod(0o777 & ~_umask())  # mkdtemp makes 0700; the output is a normal directory
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        os.replace(final, old)
    os.replace(tmp, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextmanager
def atomic_file(final: Path, mode: str = "wb") -> Iterator:
    """Open a temporary sibling for writing that replaces `final` if the block succeeds."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{final.name}.tmp-", dir=final.parent)
    os.chmod(name, 0o666 & ~_umask())  # mkstemp makes 0600; the output is a normal file
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
        os.replace(name, final)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def remove_stale_temporaries(directory: Path) -> None:
    """Delete leftovers of interrupted atomic writes (`.*.tmp-*`, `.*.old-*`) in a directory."""
    directory = Path(directory)
    if not directory.is_dir():
        return
    for path in directory.glob(".*.tmp-*"):
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    for path in directory.glob(".*.old-*"):
        shutil.rmtree(path, ignore_errors=True)
