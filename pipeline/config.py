"""Config schema (one dataclass per Hydra group), validation, composition and stage entry.

The YAML files under `conf/` stay plain so DVC's own Hydra composition (`dvc exp run -S`)
can compose them without importing this package; every stage validates the composed
config against these dataclasses, so a misspelt key or a wrong type stops with an error
naming the key.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from pipeline.errors import HTRError

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
log = logging.getLogger(__name__)


class Source(StrEnum):
    """Where a data set comes from."""

    sample = "sample"
    iam = "iam"


class Kind(StrEnum):
    """Granularity of the samples: single words or whole text lines."""

    words = "words"
    lines = "lines"


@dataclass
class SampleConfig:
    """The offline synthetic data set: rendered words plus real MNIST digits."""

    n_words: int = 6000
    n_digits: int = 2000
    n_lines: int = 0
    vocabulary_size: int = 20000
    fonts: list[str] = field(default_factory=list)
    held_out_fonts: list[str] = field(
        default_factory=lambda: ["patrick-hand", "zeyada", "nothing-you-could-do", "short-stack"]
    )
    render_height: int = 64
    p_capitalised: float = 0.2
    p_upper: float = 0.03
    p_number: float = 0.05
    p_punctuation: float = 0.1
    workers: int = 2


@dataclass
class IamConfig:
    """The IAM Handwriting Database: official site or archives already on disk."""

    base_url: str = "https://fki.tic.heia-fr.ch/DBs/iamDB/data"
    archive_dir: str | None = None
    drop_err: bool = True
    timeout_s: float = 60.0
    retries: int = 3


@dataclass
class SplitConfig:
    """Seeded random fractions, or IAM's split lists when `lists_dir` is given."""

    train: float = 0.8
    val: float = 0.1
    test: float = 0.1
    lists_dir: str | None = None


@dataclass
class DataConfig:
    """One data set: where it comes from, how it is split and fed."""

    name: str = "sample"
    source: Source = Source.sample
    kind: Kind = Kind.words
    seed: int = 42
    fast: bool = True
    max_samples: int | None = None
    extra: list[str] = field(default_factory=list)
    sample: SampleConfig = field(default_factory=SampleConfig)
    iam: IamConfig = field(default_factory=IamConfig)
    split: SplitConfig = field(default_factory=SplitConfig)


@dataclass
class PathsConfig:
    """Artifact locations, relative to `root` (the project directory)."""

    root: str = "."
    raw: str = "data/raw"
    lmdb: str = "data/lmdb"
    models: str = "models"
    feedback: str = "data/feedback"


@dataclass
class Config:
    """The whole composed configuration."""

    data: DataConfig = field(default_factory=DataConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)


def validate(cfg: DictConfig | dict) -> DictConfig:
    """Merge onto the schema; unknown keys and wrong types raise HTRError naming the key."""
    container = cfg if isinstance(cfg, dict) else OmegaConf.to_container(cfg, resolve=False)
    container = {k: v for k, v in container.items() if k != "hydra"}
    try:
        merged = OmegaConf.merge(OmegaConf.structured(Config), container)
        OmegaConf.resolve(merged)
    except OmegaConfBaseException as err:
        raise HTRError(f"invalid config: {_one_line(err)}") from err
    OmegaConf.set_readonly(merged, True)
    return merged


def _one_line(err: Exception) -> str:
    lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
    keep = [ln for ln in lines if not ln.startswith(("object_type", "    "))]
    return "; ".join(keep)


def compose(overrides: list[str] | None = None, root: str | Path | None = None) -> DictConfig:
    """Compose `conf/` with Hydra overrides (as tests and tools do) and validate it."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import HydraException

    overrides = list(overrides or [])
    if root is not None:
        overrides.append(f"paths.root={root}")
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = hydra_compose(config_name="config", overrides=overrides)
    except (HydraException, OmegaConfBaseException) as err:
        raise HTRError(f"invalid config: {_one_line(err)}") from err
    return validate(cfg)


def load_params(path: str | Path) -> DictConfig:
    """Load a composed config file such as DVC's `params.yaml` and validate it."""
    path = Path(path)
    if not path.is_file():
        raise HTRError(f"params file not found: {path}")
    return validate(OmegaConf.load(path))


def project_path(cfg: DictConfig, *parts: str) -> Path:
    """Resolve a path below the project root given by `paths.root`."""
    return Path(cfg.paths.root).joinpath(*parts)


T = TypeVar("T")


def run_stage(task: Callable[[DictConfig], T]) -> Callable[[], None]:
    """Wrap a stage function as a Hydra CLI that turns HTRError into one line and exit 1.

    `python -m pipeline.<stage> key=value ...` composes `conf/`; DVC runs
    `python -m pipeline.<stage> -cd . -cn params` so the stage reads the composed
    `params.yaml` that `dvc exp run -S ...` wrote.
    """
    import hydra

    @hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")
    def _main(raw: DictConfig) -> Any:
        try:
            return task(validate(raw))
        except HTRError as err:
            log.error("%s", err)
            print(f"error: {err}", file=sys.stderr)
            sys.exit(1)

    return _main
