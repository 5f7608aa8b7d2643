"""Shared fixtures: a temporary project with a composed config."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from pipeline.common.config import compose


@pytest.fixture
def tiny_cfg(tmp_path: Path):
    """The `data=tiny` config rooted in a temporary project directory."""
    return compose(["data=tiny"], root=tmp_path)


@pytest.fixture(scope="session")
def store_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty MLflow SQLite store: its schema migrations take seconds, copies don't."""
    path = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    MlflowClient(f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def fresh_store(tmp_path: Path, store_template: Path) -> Path:
    """A project root in tmp_path holding its own copy of the empty store."""
    shutil.copyfile(store_template, tmp_path / "mlflow.db")
    return tmp_path
