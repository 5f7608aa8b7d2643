"""A busy, foreign or missing SQLite store becomes one user-facing line, not a traceback.

Another process writing to `mlflow.db` holds SQLite's lock; MLflow then waits SQLite's
busy timeout and raises a SQLAlchemy error several screens long. A file that is no SQLite
database fails the same way, and an empty file or another program's SQLite database is
worse: MLflow silently creates its tables in it. `check_store` looks at the file first
(read-only, waiting at most `BUSY_TIMEOUT_S`), and `store_errors` turns what MLflow raises
later into an `HTRError` naming the file.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from urllib.parse import quote

from pipeline.common.errors import HTRError

# Python's sqlite3 default, the wait MLflow's own connections use: a check that waited
# longer would not make the stage any more patient.
BUSY_TIMEOUT_S = 5.0
_PREFIX = "sqlite:///"
_MLFLOW_TABLES = {"experiments", "runs", "alembic_version"}
_BUSY = ("database is locked", "database table is locked")
_FOREIGN = ("file is not a database", "database disk image is malformed")
_MLFLOW_DB_LOGGER = "mlflow.store.db.utils"


def sqlite_path(tracking_uri: str) -> Path | None:
    """The database file of a `sqlite:///` tracking URI, or None for any other store."""
    if not tracking_uri.startswith(_PREFIX):
        return None
    return Path(tracking_uri[len(_PREFIX) :].split("?", 1)[0])


def busy(path: Path | str) -> HTRError:
    """The error for a store another process is writing to."""
    return HTRError(f"the MLflow store {path} is busy, retry")


def foreign(path: Path | str) -> HTRError:
    """The error for a file that is not an MLflow SQLite database."""
    return HTRError(f"the MLflow store {path} is not an MLflow database")


def check_store(tracking_uri: str, create: bool) -> None:
    """Refuse a missing (unless `create`), busy or non-MLflow SQLite store before MLflow does."""
    path = sqlite_path(tracking_uri)
    if path is None:
        return
    if not path.exists():
        if create:
            return  # MLflow creates it
        raise HTRError(
            f"no MLflow store at {path}: train and evaluate a model first, "
            "or pass the right tracking URI"
        )
    if not path.is_file():
        raise foreign(path)
    if path.stat().st_size == 0:
        if create:
            return  # an empty file is an empty database: MLflow creates its tables
        raise foreign(path)
    read_only = f"file:{quote(str(path.resolve()))}?mode=ro"
    try:
        with closing(sqlite3.connect(read_only, uri=True, timeout=BUSY_TIMEOUT_S)) as db:
            rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    except sqlite3.DatabaseError as err:
        raise _translated(err, path) or foreign(path) from err
    if not _MLFLOW_TABLES.issubset(name for (name,) in rows):
        raise foreign(path)


def _translated(err: BaseException, path: Path | str) -> HTRError | None:
    """The user-facing error for a store failure anywhere in `err`'s chain, else None."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        text = str(current)
        if isinstance(current, sqlite3.DatabaseError) or "sqlite3." in text:
            if any(marker in text for marker in _BUSY):
                return busy(path)
            if any(marker in text for marker in _FOREIGN):
                return foreign(path)
        current = current.__cause__ or current.__context__
    return None


class _DropStoreFailures(logging.Filter):
    """Drop MLflow's own traceback log of a failure that `store_errors` reports in one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return error is None or _translated(error, "") is None


@contextmanager
def store_errors(tracking_uri: str | None = None) -> Iterator[None]:
    """Turn a busy or non-database SQLite store into an HTRError (also a function decorator)."""
    logger = logging.getLogger(_MLFLOW_DB_LOGGER)
    quiet = _DropStoreFailures()
    logger.addFilter(quiet)
    try:
        yield
    except HTRError:
        raise
    except Exception as err:
        import mlflow

        uri = tracking_uri or mlflow.get_tracking_uri()
        translated = _translated(err, sqlite_path(uri) or uri)
        if translated is None:
            raise
        raise translated from err
    finally:
        logger.removeFilter(quiet)
