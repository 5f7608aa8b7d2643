"""Artifact locations relative to the SQLite store, so a copied or moved project keeps its own.

MLflow turns a relative artifact location into an absolute one (against the working
directory) and every run, logged model and model version inherits it: a copy of the
project then writes into, and reads from, the original's `mlartifacts/`. So an experiment
created beside a SQLite store gets its location rewritten relative to the store's folder
(`mlartifacts/htr-sample`), and plain relative artifact paths are resolved against the
folder of the store in use rather than the working directory. `mlflow ui` started in the
store's folder resolves them the same way.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

from pipeline.tracking.guard import BUSY_TIMEOUT_S, sqlite_path


def store_folder(tracking_uri: str) -> Path | None:
    """The folder that relative artifact paths of a SQLite store are read against."""
    path = sqlite_path(tracking_uri)
    return None if path is None else path.resolve().parent


def relative_to_store(location: str, tracking_uri: str) -> str | None:
    """A local artifact location (path or file URI) relative to the store's folder, or None."""
    folder = store_folder(tracking_uri)
    parts = urlsplit(location)
    if folder is None or parts.scheme not in ("", "file"):
        return None
    path = Path(url2pathname(parts.path) if parts.scheme else location)
    if not path.is_absolute():
        return None
    return Path(os.path.relpath(path, folder)).as_posix()


def anchor_experiment(tracking_uri: str, experiment_id: str, location: str) -> None:
    """Store `location` (relative to the store's folder) as the experiment's artifact location.

    MLflow has no API to change it, so this is one UPDATE of MLflow's `experiments` table.
    """
    path = sqlite_path(tracking_uri)
    if path is None:
        raise ValueError(f"not a SQLite tracking URI: {tracking_uri}")
    with closing(sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)) as db, db:
        db.execute(
            "UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?",
            (location, int(experiment_id)),
        )


def _store_relative_repository(
    artifact_uri: str, tracking_uri: str | None = None, registry_uri: str | None = None
) -> Any:
    """MLflow's local artifact repository, with a relative path read against the store's folder."""
    import mlflow
    from mlflow.store.artifact.local_artifact_repo import LocalArtifactRepository

    path = artifact_uri
    if not Path(artifact_uri).is_absolute():
        folder = store_folder(tracking_uri or mlflow.get_tracking_uri())
        if folder is not None:
            path = str(folder / artifact_uri)
    return LocalArtifactRepository(path, tracking_uri=tracking_uri, registry_uri=registry_uri)


def resolve_against_store() -> None:
    """Make MLflow read plain relative artifact paths against the store's folder (idempotent)."""
    # MLflow's registry of artifact repositories by URI scheme; "" is a plain local path.
    # Registering at run time is the in-process form of MLflow's artifact-repository plugins.
    from mlflow.store.artifact.artifact_repository_registry import _artifact_repository_registry

    _artifact_repository_registry.register("", _store_relative_repository)
