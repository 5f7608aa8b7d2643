"""The evaluate stage fails whole: a busy store or a failed registration leaves the previous
reports (metrics, predictions, plots, registration) exactly as they were, never a mix."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from mlflow import MlflowClient

from pipeline import tracking
from pipeline.common.errors import HTRError
from pipeline.data import read_metadata
from pipeline.evaluation import evaluate
from tests.store_fixtures import locked, snapshot

if TYPE_CHECKING:
    from tests.model_fixtures import TinyProject

pytest_plugins = ["tests.model_fixtures"]

ROOT = Path(__file__).resolve().parents[3]
REPORTS = (
    "metrics.json",
    "predictions.csv",
    "registration.json",
    "plots/cer_by_length.csv",
    "plots/confusions.csv",
)


def reports(project: TinyProject) -> dict[str, tuple[int, int, bytes]]:
    """The evaluate stage's outputs with mtime, inode and content; no staging leftovers."""
    assert not list(project.models.glob(".commit*")), "a staging folder was left behind"
    return {name: snapshot(project.models / name)["."] for name in REPORTS}


@pytest.mark.slow
def test_evaluate_on_a_busy_store_is_one_error_and_changes_nothing(
    tiny_project: TinyProject, tmp_path: Path
) -> None:
    from tests.model_fixtures import copy_project

    project = copy_project(tiny_project, tmp_path)
    before = reports(project)
    store = project.root / "mlflow.db"
    with locked(store), pytest.raises(HTRError) as caught:
        evaluate(project.cfg)
    assert str(caught.value) == f"the MLflow store {store.resolve()} is busy, retry"
    assert reports(project) == before


@pytest.mark.slow
def test_the_evaluate_command_on_a_busy_store_prints_one_line(
    tiny_project: TinyProject, tmp_path: Path
) -> None:
    from tests.model_fixtures import TINY_EXTRA, TINY_OVERRIDES, copy_project

    project = copy_project(tiny_project, tmp_path)
    before = reports(project)
    command = [sys.executable, "-m", "pipeline.evaluate", *TINY_OVERRIDES, *TINY_EXTRA]
    command += [f"paths.root={project.root}", f"hydra.run.dir={tmp_path / 'logs'}"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with locked(project.root / "mlflow.db"):
        done = subprocess.run(
            command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
        )
    store = (project.root / "mlflow.db").resolve()
    assert done.returncode != 0
    assert [line for line in done.stderr.splitlines() if line.startswith("error:")] == [
        f"error: the MLflow store {store} is busy, retry"
    ]
    assert "Traceback" not in done.stderr
    assert reports(project) == before


@pytest.mark.slow
def test_a_failed_registration_leaves_the_previous_reports(
    tiny_project: TinyProject, tmp_path: Path
) -> None:
    from tests.model_fixtures import copy_project

    project = copy_project(tiny_project, tmp_path)
    before = reports(project)
    fingerprint = read_metadata(project.cfg, "train")["fingerprint"]
    run_id = tracking.start_training_run(project.cfg, fingerprint, run_name="no model")
    experiment = tracking.ensure_experiment(project.cfg)
    tracking.write_run_file(project.models / "run.json", run_id, experiment, project.tracking_uri)
    with pytest.raises(HTRError, match="logged no model to register"):
        evaluate(project.cfg)  # scored and logged, then registration fails
    assert reports(project) == before
    name = tracking.registered_model_name(project.cfg)
    versions = MlflowClient(project.tracking_uri).search_model_versions(f"name='{name}'")
    assert [int(v.version) for v in versions] == [1]  # nothing was registered
