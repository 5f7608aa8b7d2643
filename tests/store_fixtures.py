"""Real conditions of an MLflow store: a write lock held by another process, file snapshots.

with locked(root / "mlflow.db"):   # a second process did BEGIN EXCLUSIVE and sleeps
    ...
before = snapshot(root / "mlartifacts")   # {relative path: (mtime_ns, inode, bytes)}
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HOLDER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(600)
"""


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive write lock on the SQLite file `path` from a second process."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        yield
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()


def snapshot(path: Path) -> dict[str, tuple[int, int, bytes]]:
    """Every file under `path` (or the file itself): mtime, inode and content."""
    path = Path(path)
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return {
        str(f.relative_to(path)): (f.stat().st_mtime_ns, f.stat().st_ino, f.read_bytes())
        for f in files
    }
