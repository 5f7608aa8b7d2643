"""Where each data set lives on disk: raw IAM-format folders and per-split LMDB stores."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from pipeline.common.config import project_path


def ids_path(out_dir: Path, split: str) -> Path:
    """The file listing `<source>/<id>` of each sample of a split, in store order."""
    return Path(out_dir) / f"{split}.ids"


FEEDBACK = "feedback"


def raw_dir(cfg: DictConfig, source: str) -> Path:
    """The raw IAM-format directory of a data set name (data.name or one of data.extra).

    `feedback` is the app's correction set at `paths.feedback`, outside the DVC-managed
    `paths.raw`, so `data.extra=[feedback]` trains on what people corrected in the app.
    """
    if source == FEEDBACK:
        return project_path(cfg, cfg.paths.feedback)
    return project_path(cfg, cfg.paths.raw, source)


def lmdb_dir(cfg: DictConfig) -> Path:
    """The build_lmdb output directory of `data.name`."""
    return project_path(cfg, cfg.paths.lmdb, cfg.data.name)
