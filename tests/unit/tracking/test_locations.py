"""Artifact locations move with the project: a copy reads and writes its own mlartifacts/."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from mlflow import MlflowClient

from pipeline import tracking
from pipeline.common.config import compose
from pipeline.data import split_store
from pipeline.evaluation import evaluate
from pipeline.inference import Recognizer
from tests.store_fixtures import snapshot

if TYPE_CHECKING:
    from tests.model_fixtures import TinyProject

pytest_plugins = ["tests.model_fixtures"]


def test_experiments_store_their_artifact_location_relative_to_the_store(
    fresh_store: Path,
) -> None:
    cfg = compose(["data=tiny"], root=fresh_store)
    client = MlflowClient(tracking.configure(cfg))
    experiment = client.get_experiment(tracking.ensure_experiment(cfg))
    assert experiment.artifact_location == "mlartifacts/htr-tiny"
    run_id = tracking.start_training_run(cfg, "fingerprint")
    assert client.get_run(run_id).info.artifact_uri == f"mlartifacts/htr-tiny/{run_id}/artifacts"
    (fresh_store / "a.txt").write_text("a")
    tracking.log_artifacts(run_id, {"evaluation/a.txt": fresh_store / "a.txt"})
    logged = fresh_store / "mlartifacts/htr-tiny" / run_id / "artifacts/evaluation/a.txt"
    assert logged.read_text() == "a"  # beside the store, wherever the working directory is


def test_an_experiment_made_with_an_absolute_location_here_becomes_relative(
    fresh_store: Path,
) -> None:
    cfg = compose(["data=tiny"], root=fresh_store)
    client = MlflowClient(tracking.configure(cfg))
    made = client.create_experiment("htr-tiny", tracking.artifact_location_for(cfg))
    assert client.get_experiment(made).artifact_location.startswith("file:///")
    assert tracking.ensure_experiment(cfg) == made
    assert client.get_experiment(made).artifact_location == "mlartifacts/htr-tiny"


@pytest.mark.slow
def test_a_copied_project_reads_and_writes_only_its_own_artifacts(
    tiny_project: TinyProject, tmp_path: Path
) -> None:
    from tests.model_fixtures import tiny_config

    copy = tmp_path / "copy"
    shutil.copytree(tiny_project.root, copy, symlinks=True)
    original = tiny_project.root
    away = original.with_name(f"{original.name}-moved-away")
    original.rename(away)
    try:
        cfg = tiny_config(copy)
        uri = tracking.tracking_uri_for(cfg)
        recognizer = Recognizer.load(tiny_project.champion_uri, cfg.decode, tracking_uri=uri)
        image = split_store(cfg, "test").read(0).image[..., 0]
        assert recognizer.read(image, "beam", "text", 3).candidates
        untouched = snapshot(away)
        result = evaluate(cfg)
        assert not original.exists(), "the copy wrote into the original's place"
        assert snapshot(away) == untouched
    finally:
        away.rename(original)
    run = MlflowClient(uri).get_run(tiny_project.run_id)
    evaluation = copy / run.info.artifact_uri / "evaluation/metrics.json"
    assert json.loads(evaluation.read_text())["test_cer"] == result["test_cer"]
    version = result["registration"]["version"]
    name = result["registration"]["registered_model"]
    again = Recognizer.load(f"models:/{name}/{version}", cfg.decode, tracking_uri=uri)
    assert again.info["run_id"] == tiny_project.run_id
