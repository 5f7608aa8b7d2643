"""Where MLflow keeps runs: the tracking URI, artifact location and experiment per data set.

A SQLite store is checked before MLflow opens it (`guard`), and its experiments keep their
artifact location relative to the store's folder (`locations`), so a project directory
can be copied or moved with its `mlflow.db` and `mlartifacts/`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import mlflow
import mlflow.keras
from mlflow import MlflowClient
from omegaconf import DictConfig

from pipeline.tracking.guard import check_store, store_errors
from pipeline.tracking.locations import anchor_experiment, relative_to_store, resolve_against_store

log = logging.getLogger(__name__)


def tracking_uri_for(cfg: DictConfig) -> str:
    """The tracking URI of `cfg`: a relative sqlite path resolved under paths.root."""
    uri = cfg.mlflow.tracking_uri
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not Path(uri[len(prefix) :]).is_absolute():
        return prefix + str(Path(cfg.paths.root).resolve() / uri[len(prefix) :])
    return uri


def artifact_location_for(cfg: DictConfig) -> str:
    """Where the experiment keeps artifacts: `<artifact_location>/<experiment>`, under root."""
    location = cfg.mlflow.artifact_location.rstrip("/")
    if "://" in location:
        return f"{location}/{experiment_name(cfg)}"
    base = Path(location)
    if not base.is_absolute():
        base = Path(cfg.paths.root).resolve() / base
    return (base / experiment_name(cfg)).as_uri()


def experiment_name(cfg: DictConfig) -> str:
    """One experiment per data set."""
    return f"{cfg.mlflow.experiment_prefix}-{cfg.data.name}"


def configure(cfg: DictConfig) -> str:
    """Point MLflow at the configured store (checked: not busy, an MLflow one); return its URI."""
    uri = tracking_uri_for(cfg)
    check_store(uri, create=True)
    if uri.startswith("sqlite:///"):
        Path(uri[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    resolve_against_store()
    mlflow.set_tracking_uri(uri)
    return uri


@contextmanager
def open_store(tracking_uri: str | None) -> Iterator[str]:
    """Read an existing store: checked first, artifacts found beside it, errors one line."""
    uri = tracking_uri or mlflow.get_tracking_uri()
    with store_errors(uri):
        if tracking_uri is not None:
            check_store(uri, create=False)
            mlflow.set_tracking_uri(uri)
        resolve_against_store()
        yield uri


@store_errors()
def ensure_experiment(cfg: DictConfig) -> str:
    """Return the id of the data set's experiment, creating it beside the store if needed."""
    uri = configure(cfg)
    client = MlflowClient(uri)
    name = experiment_name(cfg)
    local_path = "://" not in cfg.mlflow.artifact_location
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        if experiment.lifecycle_stage == "deleted":
            client.restore_experiment(experiment.experiment_id)
        if experiment.artifact_location == artifact_location_for(cfg):
            _anchor(cfg, uri, experiment.experiment_id)  # made before locations were relative
        return experiment.experiment_id
    remote = _is_remote(uri)
    location = None if remote and local_path else artifact_location_for(cfg)
    experiment_id = client.create_experiment(name, artifact_location=location)
    _anchor(cfg, uri, experiment_id)
    return experiment_id


def _anchor(cfg: DictConfig, uri: str, experiment_id: str) -> None:
    """Keep a relative configured artifact location relative to the store (moves with it)."""
    configured = cfg.mlflow.artifact_location
    if "://" in configured or Path(configured).is_absolute():
        return
    relative = relative_to_store(artifact_location_for(cfg), uri)
    if relative is not None:
        anchor_experiment(uri, experiment_id, relative)


def _is_remote(uri: str) -> bool:
    return uri.startswith(("http://", "https://", "databricks"))
