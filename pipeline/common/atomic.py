"""Atomic outputs: build in a temporary sibling, rename into place only when complete.

An interrupted download, render or LMDB build then leaves the previous output (or
nothing), never a half-written directory or file; `atomic_files` does the same for a set
of files that belong together (the evaluate stage's reports).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_COMMIT = ".commit"  # staging folders of atomic_files: .commit.tmp-* then .commit.ready-*


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


@contextmanager
def atomic_files(final_dir: Path) -> Iterator[Path]:
    """Yield a staging folder whose files all replace their namesakes in `final_dir` together.

    Nothing in `final_dir` changes unless the block succeeds. The staged set is then marked
    complete (one rename) before its files move in, so a crash during the moves leaves a
    complete set that the next call moves in first, never a mix of two sets for good; a
    set a crash left incomplete is deleted.
    """
    final_dir = Path(final_dir)
    final_dir.mkdir(parents=True, exist_ok=True)
    for ready in sorted(final_dir.glob(f"{_COMMIT}.ready-*")):
        _move_in(ready, final_dir)
    for incomplete in final_dir.glob(f"{_COMMIT}.tmp-*"):
        shutil.rmtree(incomplete, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{_COMMIT}.tmp-", dir=final_dir))
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    ready = staging.with_name(staging.name.replace(".tmp-", ".ready-", 1))
    os.replace(staging, ready)
    _move_in(ready, final_dir)


def _move_in(staged: Path, final_dir: Path) -> None:
    """Move every file of a complete staged set to the same relative path in `final_dir`."""
    for source in sorted(p for p in staged.rglob("*") if p.is_file()):
        target = final_dir / source.relative_to(staged)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
    shutil.rmtree(staged)


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
