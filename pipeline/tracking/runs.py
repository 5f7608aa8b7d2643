"""One MLflow run per training: start/resume it, log metrics, files, and the run file."""

from __future__ import annotations

import json
import logging
import math
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import mlflow
import mlflow.keras
import numpy as np
from mlflow import MlflowClient
from mlflow.entities import Metric, Param
from omegaconf import DictConfig, OmegaConf

from pipeline.common.atomic import atomic_file
from pipeline.common.charset import Charset
from pipeline.common.errors import HTRError
from pipeline.tracking.guard import store_errors
from pipeline.tracking.plots import plot_sample_grid, plot_training_curves
from pipeline.tracking.redaction import (
    flatten_params,
    redacted_config,
    redacted_tags,
    strip_url_password,
)
from pipeline.tracking.store import ensure_experiment, tracking_uri_for

log = logging.getLogger(__name__)


def git_tags(root: str | Path) -> dict[str, str]:
    """The commit and dirty flag of the git repository at `root`, or "unknown"."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"git_commit": "unknown", "git_dirty": "unknown"}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {
        "git_commit": commit,
        "git_dirty": "unknown" if status is None else str(bool(status)).lower(),
        "mlflow.source.git.commit": commit,
    }


@store_errors()
def start_training_run(
    cfg: DictConfig,
    fingerprint: str,
    tags: Mapping[str, str] | None = None,
    run_name: str | None = None,
) -> str:
    """Create a run in the data set's experiment with the config as params; return its id."""
    experiment_id = ensure_experiment(cfg)
    all_tags = {
        **git_tags(cfg.paths.root),
        "data_fingerprint": fingerprint,
        "data_name": cfg.data.name,
        **{k: str(v) for k, v in (tags or {}).items()},
    }
    all_tags = redacted_tags(all_tags)
    client = MlflowClient(tracking_uri_for(cfg))
    run = client.create_run(experiment_id, tags=all_tags, run_name=run_name)
    items = [Param(k, v) for k, v in flatten_params(cfg).items()]
    for start in range(0, len(items), 100):
        client.log_batch(run.info.run_id, params=items[start : start + 100])
    return run.info.run_id


@contextmanager
def training_run(
    cfg: DictConfig,
    fingerprint: str,
    tags: Mapping[str, str] | None = None,
    run_name: str | None = None,
) -> Iterator[str]:
    """Start a training run and keep it active; it ends FINISHED, or FAILED on an exception."""
    run_id = start_training_run(cfg, fingerprint, tags, run_name)
    with mlflow.start_run(run_id=run_id):
        yield run_id


@contextmanager
def resume_run(run_id: str, tracking_uri: str | None = None) -> Iterator[str]:
    """Reopen an existing run (e.g. the evaluate stage logging into the training run)."""
    if tracking_uri is not None:
        mlflow.set_tracking_uri(tracking_uri)
    active = mlflow.active_run()
    if active is not None and active.info.run_id == run_id:
        yield run_id
        return
    with mlflow.start_run(run_id=run_id):
        yield run_id


@store_errors()
def log_metrics(run_id: str, metrics: Mapping[str, float], step: int = 0) -> None:
    """Log finite numeric metrics in one batch (non-numbers are skipped)."""
    now = int(time.time() * 1000)
    values = {str(k): _as_float(v) for k, v in metrics.items()}
    items = [Metric(k, v, now, step) for k, v in values.items() if v is not None]
    if items:
        MlflowClient().log_batch(run_id, metrics=items)


def _as_float(value: Any) -> float | None:
    try:
        number = float(np.asarray(value))
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


@store_errors()
def last_step(run_id: str) -> int:
    """The highest step logged for any metric of the run, or -1 for none."""
    client = MlflowClient()
    keys = client.get_run(run_id).data.metrics
    steps = [m.step for key in keys for m in client.get_metric_history(run_id, key)]
    return max(steps, default=-1)


class MlflowEpochLogger(keras.callbacks.Callback):
    """Log every metric Keras puts in `logs` at the end of each epoch, with step=epoch.

    Keras numbers epochs from `initial_epoch`, so a resumed `fit(initial_epoch=k)` goes on
    at step k; `step_offset` is for a trainer that restarts its epoch count at 0.
    """

    def __init__(self, run_id: str, step_offset: int = 0) -> None:
        super().__init__()
        self.run_id = run_id
        self.step_offset = step_offset

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        """Log the epoch's metrics (and the optimizer's learning rate if logs lack it)."""
        metrics = dict(logs or {})
        optimizer = getattr(self.model, "optimizer", None)
        if "lr" not in metrics and "learning_rate" not in metrics and optimizer is not None:
            metrics["learning_rate"] = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        log_metrics(self.run_id, metrics, step=epoch + self.step_offset)


@store_errors()
def log_artifacts(run_id: str, files: Mapping[str, Path]) -> None:
    """Log local files under the given artifact paths (e.g. {"plots/curves.png": path})."""
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    client = MlflowClient()
    # The run's repository from this store: MlflowClient.log_artifacts would reuse one cached
    # per run id for the whole process, even one of another store holding the same run.
    artifact_uri = client.get_run(run_id).info.artifact_uri
    repository = get_artifact_repository(artifact_uri, tracking_uri=client.tracking_uri)
    with tempfile.TemporaryDirectory() as tmp:
        for artifact, source in files.items():
            target = Path(tmp) / artifact
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        repository.log_artifacts(tmp)


def write_config_yaml(cfg: DictConfig, path: Path) -> Path:
    """Write the resolved, redacted config as YAML."""
    path.write_text(OmegaConf.to_yaml(OmegaConf.create(redacted_config(cfg))), encoding="utf-8")
    return path


def write_charset(chars: str, path: Path) -> Path:
    """Write the charset in `Charset.save`'s format, so the artifact loads with `Charset.load`."""
    Charset(chars).save(path)
    return path


def log_run_files(
    run_id: str,
    cfg: DictConfig | None = None,
    charset: str | None = None,
    history: Mapping[str, Sequence[float]] | None = None,
    samples: Sequence[tuple[np.ndarray, str, str]] | None = None,
) -> list[str]:
    """Write and log the standard artifacts that are given; return their artifact paths."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        files: dict[str, Path] = {}
        if cfg is not None:
            files["config.yaml"] = write_config_yaml(cfg, out / "config.yaml")
        if charset is not None:
            files["charset.json"] = write_charset(charset, out / "charset.json")
        if history:
            files["plots/training_curves.png"] = plot_training_curves(history, out / "curves.png")
        if samples:
            files["plots/val_samples.png"] = plot_sample_grid(samples, out / "samples.png")
        log_artifacts(run_id, files)
    return list(files)


def check_run(run_id: str, tracking_uri: str, source: Path | str) -> None:
    """HTRError unless the store holds the run that `source` (e.g. models/run.json) names."""
    from mlflow.exceptions import MlflowException

    try:
        with store_errors(tracking_uri):
            MlflowClient(tracking_uri).get_run(run_id)
    except MlflowException as err:
        raise HTRError(
            f"training run {run_id} (from {source}) is not in the MLflow store "
            f"{tracking_uri}: {err.message.splitlines()[0]}"
        ) from err


@store_errors()
def logged_model_uri(run_id: str) -> str | None:
    """The URI of the newest model the run logged, or None."""
    client = MlflowClient()
    run = client.get_run(run_id)
    logged = client.search_logged_models(
        experiment_ids=[run.info.experiment_id],
        filter_string=f"source_run_id = '{run_id}'",
        order_by=[{"field_name": "creation_timestamp", "ascending": False}],
    )
    return logged[0].model_uri if logged else None


@dataclass(frozen=True)
class RunRef:
    """Where a training run lives: what `models/run.json` records."""

    run_id: str
    experiment_id: str
    tracking_uri: str


def write_run_file(path: Path, run_id: str, experiment_id: str, tracking_uri: str) -> None:
    """Atomically write the run reference (URL passwords stripped) for later stages."""
    data = {
        "run_id": run_id,
        "experiment_id": experiment_id,
        "tracking_uri": strip_url_password(tracking_uri),
    }
    with atomic_file(Path(path), "w") as handle:
        json.dump(data, handle, indent=2)
        handle.write("\n")


def read_run_file(path: Path) -> RunRef:
    """Read `models/run.json`; a missing or malformed file is a user-facing error."""
    path = Path(path)
    if not path.is_file():
        raise HTRError(f"run file not found: {path} (run the train stage first)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return RunRef(str(data["run_id"]), str(data["experiment_id"]), str(data["tracking_uri"]))
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise HTRError(f"malformed run file {path}: {err}") from err
