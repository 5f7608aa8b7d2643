"""Where MLflow keeps runs: the tracking URI, artifact location and experiment per data set."""

from __future__ import annotations

import logging
from pathlib import Path

import mlflow
import mlflow.keras
from mlflow import MlflowClient
from omegaconf import DictConfig

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
    """Point MLflow at the configured store and return the tracking URI."""
    uri = tracking_uri_for(cfg)
    if uri.startswith("sqlite:///"):
        Path(uri[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    return uri


def ensure_experiment(cfg: DictConfig) -> str:
    """Return the id of the data set's experiment, creating it beside the store if needed."""
    client = MlflowClient(configure(cfg))
    name = experiment_name(cfg)
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        if experiment.lifecycle_stage == "deleted":
            client.restore_experiment(experiment.experiment_id)
        return experiment.experiment_id
    local_path = "://" not in cfg.mlflow.artifact_location
    remote = _is_remote(tracking_uri_for(cfg))
    location = None if remote and local_path else artifact_location_for(cfg)
    return client.create_experiment(name, artifact_location=location)


def _is_remote(uri: str) -> bool:
    return uri.startswith(("http://", "https://", "databricks"))
