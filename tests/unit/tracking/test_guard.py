"""A busy or foreign SQLite store is one HTRError naming the file, never a SQLAlchemy traceback.

The lock is held by a real second process (`BEGIN EXCLUSIVE`, then sleeping), as another
stage or a user's `sqlite3` shell would hold it.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from pipeline import tracking
from pipeline.common.config import compose
from pipeline.common.errors import HTRError
from pipeline.tracking.guard import BUSY_TIMEOUT_S, check_store
from tests.store_fixtures import locked, snapshot


def test_a_locked_store_is_busy_after_a_bounded_wait(fresh_store: Path) -> None:
    store = fresh_store / "mlflow.db"
    with locked(store):
        started = time.monotonic()
        with pytest.raises(HTRError) as caught:
            check_store(f"sqlite:///{store}", create=False)
        waited = time.monotonic() - started
    assert str(caught.value) == f"the MLflow store {store} is busy, retry"
    assert waited < BUSY_TIMEOUT_S + 30, "the wait is bounded by the busy timeout"


def test_files_that_are_no_mlflow_store_are_refused_and_left_alone(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n")
    empty = tmp_path / "empty.db"
    empty.touch()
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE t (x)")
    for path in (text, empty, other, tmp_path):
        before = snapshot(path) if path.is_file() else None
        with pytest.raises(HTRError) as caught:
            check_store(f"sqlite:///{path}", create=False)
        assert str(caught.value) == f"the MLflow store {path} is not an MLflow database"
        assert before is None or snapshot(path) == before  # MLflow would add its tables
    before = snapshot(other)
    with pytest.raises(HTRError, match="not an MLflow database"):
        tracking.list_models(f"sqlite:///{other}")  # the app's model picker reads it too
    assert snapshot(other) == before


def test_a_new_store_may_be_created_only_by_a_writer(tmp_path: Path) -> None:
    check_store(f"sqlite:///{tmp_path / 'new.db'}", create=True)
    with pytest.raises(HTRError, match="no MLflow store at"):
        check_store(f"sqlite:///{tmp_path / 'new.db'}", create=False)
    assert not (tmp_path / "new.db").exists()


def test_a_lock_taken_after_the_check_is_still_one_error_without_a_logged_traceback(
    fresh_store: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    cfg = compose(["data=tiny"], root=fresh_store)
    run_id = tracking.start_training_run(cfg, "fingerprint")
    store = fresh_store / "mlflow.db"
    capfd.readouterr()
    with locked(store), pytest.raises(HTRError) as caught:
        tracking.log_metrics(run_id, {"test_cer": 0.5})  # MLflow's own connection waits
    assert str(caught.value) == f"the MLflow store {store.resolve()} is busy, retry"
    assert "Traceback" not in capfd.readouterr().err, "MLflow logged its traceback anyway"
