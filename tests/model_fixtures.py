"""A small real trained recognizer for tests: the pipeline's own stages on tiny data.

`build_tiny_project(root)` runs download → build_lmdb → train (→ evaluate) with the tiny
variants of every config group in a temporary project, so `models/recognizer.keras`,
charset.json, corpus.txt, run.json, metrics.json and the MLflow store (SQLite under
`root`, version 1 of `htr-tiny-tiny` registered as champion) are exactly what the real
stages write. It takes about half a minute on two busy cores, so share one per session:

    pytest_plugins = ["tests.model_fixtures"]   # in a test module or the root conftest

    @pytest.mark.slow
    def test_something(tiny_project: TinyProject) -> None:
        recognizer = Recognizer.load(str(tiny_project.model_path), tiny_project.cfg.decode)
        champion = Recognizer.load(tiny_project.champion_uri, tiny_project.cfg.decode,
                                   tracking_uri=tiny_project.tracking_uri)

Treat the session project as read-only; a test that changes models or the registry works
on `copy_project(tiny_project, tmp_path)`. The tiny model barely learns in its few
epochs: use it for plumbing (loading, shapes, files, MLflow), not for accuracy.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from omegaconf import DictConfig

from pipeline.common.config import compose, project_path

TINY_OVERRIDES = (
    "data=tiny",
    "model=tiny",
    "train=tiny",
    "augment=tiny",
    "mlflow=tiny",
    "decode=tiny",
)
# 40 digits (4 per class) so the training charset holds all ten digits: digit mode works.
TINY_EXTRA = ("train.max_epochs=12", "data.sample.n_digits=40")


@dataclass(frozen=True)
class TinyProject:
    """A temporary project holding the outputs of a real tiny training."""

    root: Path
    cfg: DictConfig
    run_id: str
    evaluation: dict[str, Any] | None = None

    @property
    def models(self) -> Path:
        """The project's models directory (what the train stage wrote)."""
        return project_path(self.cfg, self.cfg.paths.models)

    @property
    def model_path(self) -> Path:
        """models/recognizer.keras, with charset.json and corpus.txt beside it."""
        return self.models / "recognizer.keras"

    @property
    def tracking_uri(self) -> str:
        """The project's MLflow store (sqlite under root)."""
        from pipeline.tracking import tracking_uri_for

        return tracking_uri_for(self.cfg)

    @property
    def champion_uri(self) -> str:
        """`models:/htr-tiny-tiny@champion` (registered once the project is evaluated)."""
        from pipeline.tracking.registry import registered_model_name

        return f"models:/{registered_model_name(self.cfg)}@{self.cfg.mlflow.champion_alias}"


def tiny_config(root: Path, overrides: Sequence[str] = ()) -> DictConfig:
    """The all-tiny config rooted at `root` (later overrides win)."""
    return compose([*TINY_OVERRIDES, *TINY_EXTRA, *overrides], root=root)


def build_tiny_project(
    root: Path, overrides: Sequence[str] = (), evaluate: bool = True
) -> TinyProject:
    """Run the real download, build_lmdb, train (and evaluate) stages on tiny data at `root`."""
    from pipeline.data import build_lmdb
    from pipeline.download import download
    from pipeline.evaluation import evaluate as evaluate_stage
    from pipeline.training import train

    cfg = tiny_config(root, overrides)
    download(cfg)
    build_lmdb(cfg)
    result = train(cfg)
    evaluation = evaluate_stage(cfg) if evaluate else None
    return TinyProject(Path(root), cfg, result.run_id, evaluation)


def copy_project(project: TinyProject, root: Path, overrides: Sequence[str] = ()) -> TinyProject:
    """A private copy of a project (data, models, MLflow store and artifacts) a test may change.

    The store's artifact locations are relative to its folder, so the copy reads and
    writes its own `mlartifacts/`; the original's database and files stay untouched.
    """
    for name in ("data", "models", "mlflow.db", "mlartifacts"):
        source = project.root / name
        if source.is_dir():
            shutil.copytree(source, root / name)
        elif source.is_file():
            shutil.copy2(source, root / name)
    cfg = tiny_config(root, overrides)
    return TinyProject(Path(root), cfg, project.run_id, project.evaluation)


@pytest.fixture(scope="session")
def tiny_project(tmp_path_factory: pytest.TempPathFactory) -> TinyProject:
    """One real tiny trained and evaluated project per test session (read-only for users)."""
    return build_tiny_project(tmp_path_factory.mktemp("tiny-project"))
