"""Atomic outputs: build in a temporary sibling, rename into place only when complete.

An interrupted download, render or LMDB build then leaves the previous output (or
nothing), never a half-written directory or file; `atomic_files` does the same for a set
of files that belong together (the evaluate stage's reports).

Every temporary (`.<name>.tmp-*`, and the `.<name>.old-*` a replaced output is moved to)
is held under an exclusive `flock` by the process that made it, for as long as it exists.
`remove_stale_temporaries` deletes only those whose lock it can take: leftovers of a
killed run, never the work of a stage running beside it. A lock rather than the owner's
pid: the kernel drops it when its holder dies, however it dies, and a recycled pid (a
container restarted, a reboot) can neither keep a leftover forever nor free a live one.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

_COMMIT = ".commit"  # staging folders of atomic_files: .commit.tmp-* then .commit.ready-*


@contextmanager
def atomic_dir(final: Path) -> Iterator[Path]:
    """Yield an empty temporary directory that replaces `final` if the block succeeds."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _claim(lambda: _make_dir(final))
    try:
        tmp.chmod(0o777 & ~_umask())  # mkdtemp makes 0700; the output is a normal directory
        yield tmp
        _replace_dir(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        os.close(fd)


def _replace_dir(tmp: Path, final: Path) -> None:
    """Put `tmp` in place of `final`; the previous output is moved aside, locked, then removed."""
    if not final.exists():
        os.replace(tmp, final)
        return
    old = final.with_name(f".{final.name}.old-{os.getpid()}-{secrets.token_hex(4)}")
    old_fd = _open_dir(final)
    try:
        fcntl.flock(old_fd, fcntl.LOCK_EX)
        os.replace(final, old)
        try:
            os.replace(tmp, final)
        except BaseException:
            os.replace(old, final)
            raise
        shutil.rmtree(old, ignore_errors=True)
    finally:
        os.close(old_fd)


@contextmanager
def atomic_file(final: Path, mode: str = "wb") -> Iterator:
    """Open a temporary sibling for writing that replaces `final` if the block succeeds."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, name = _claim(lambda: _make_file(final))
    lock = os.dup(fd)  # shares fd's lock, which then outlives the handle until the rename
    try:
        os.chmod(name, 0o666 & ~_umask())  # mkstemp makes 0600; the output is a normal file
        with os.fdopen(fd, mode) as handle:
            yield handle
        os.replace(name, final)
    except BaseException:
        name.unlink(missing_ok=True)
        raise
    finally:
        os.close(lock)


def _make_dir(final: Path) -> tuple[int, Path]:
    path = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
    return _open_dir(path), path


def _make_file(final: Path) -> tuple[int, Path]:
    fd, name = tempfile.mkstemp(prefix=f".{final.name}.tmp-", dir=final.parent)
    return fd, Path(name)


def _open_dir(path: Path) -> int:
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY)


def _claim(make: Callable[[], tuple[int, Path]]) -> tuple[int, Path]:
    """Create a temporary and lock it; start over if a cleaner removed it before the lock.

    The cleaner deletes only while holding the lock, so once we hold it and the name
    still leads to what we created, the temporary is ours until we close `fd`.
    """
    while True:
        fd, path = make()
        fcntl.flock(fd, fcntl.LOCK_EX)
        if _same_file(fd, path):
            return fd, path
        os.close(fd)


def _same_file(fd: int, path: Path) -> bool:
    try:
        here = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (here.st_dev, here.st_ino) == (held.st_dev, held.st_ino)


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
    """Delete leftovers of interrupted atomic writes (`.*.tmp-*`, `.*.old-*`) in a directory.

    A temporary whose owner is still running is locked and kept.
    """
    directory = Path(directory)
    if not directory.is_dir():
        return
    for path in [*directory.glob(".*.tmp-*"), *directory.glob(".*.old-*")]:
        _remove_if_abandoned(path)


def _remove_if_abandoned(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return  # gone (its owner finished) or not ours to open
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # its owner is alive
        if not _same_file(fd, path):
            return  # renamed into place (or replaced) while we waited
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    finally:
        os.close(fd)
