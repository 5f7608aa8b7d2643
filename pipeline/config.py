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
    """The offline synthetic data set: rendered words, real MNIST digits, rendered lines.

    Lines (`n_lines`, data.kind=lines only) are runs of `min_line_words`..`max_line_words`
    words of real English sentences; with kind=lines, words and digits become one-word lines.
    """

    n_words: int = 6000
    n_digits: int = 2000
    n_lines: int = 0
    min_line_words: int = 3
    max_line_words: int = 10
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
    p_random: float = 0.03
    frequency_power: float = 0.5
    max_length: int = 16
    digit_scale: int = 2
    workers: int = 2


@dataclass
class IamConfig:
    """The IAM Handwriting Database: official site or archives already on disk.

    The FKI site logs in with a form (`login_url`, e-mail + password) and serves the
    archives to that session; `login_url: null` sends HTTP Basic auth instead (mirrors).
    """

    base_url: str = "https://fki.tic.heia-fr.ch/DBs/iamDB/data"
    login_url: str | None = "https://fki.tic.heia-fr.ch/login"
    archive_dir: str | None = None
    drop_err: bool = True
    timeout_s: float = 60.0
    retries: int = 3
    retry_wait_s: float = 2.0


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
class MlflowConfig:
    """MLflow tracking and registry; relative sqlite/artifact paths resolve under paths.root."""

    tracking_uri: str = "sqlite:///mlflow.db"
    artifact_location: str = "mlartifacts"
    experiment_prefix: str = "htr"
    registered_model_prefix: str = "htr"
    champion_alias: str = "champion"
    log_model: bool = True


@dataclass
class ModelConfig:
    """A CNN + BiRNN + CTC recognizer; `_target_` names the builder."""

    _target_: str = "pipeline.model.build_crnn"
    name: str = "crnn"
    height: int = 32
    width: int = 128
    # true: any input width (lines), `width` is the cap in training; see preprocess.fit_ink
    variable_width: bool = False
    conv_filters: list[int] = field(default_factory=lambda: [32, 64, 128, 128, 256])
    conv_kernels: list[int] = field(default_factory=lambda: [5, 5, 3, 3, 3])
    pool_sizes: list[list[int]] = field(
        default_factory=lambda: [[2, 2], [2, 2], [2, 1], [2, 1], [2, 1]]
    )
    batch_norm: bool = True
    bn_momentum: float = 0.9
    conv_dropout: float = 0.0
    projection_units: int = 0
    rnn: str = "lstm"
    rnn_units: int = 256
    rnn_layers: int = 2
    rnn_dropout: float = 0.0


@dataclass
class AugmentConfig:
    """On-the-fly training augmentation; `enabled: false` feeds clean images."""

    enabled: bool = True
    stretch_min: float = 0.75
    stretch_max: float = 1.25
    shear: float = 0.35
    rotation_deg: float = 3.0
    stroke_p: float = 0.3
    ink_level: float = 0.4
    noise_std: float = 0.06


@dataclass
class TrainConfig:
    """Optimisation, early stopping on validation CER, resumption and distribution."""

    batch_size: int = 16
    lr: float = 1e-3
    lr_decay_patience: int = 2
    lr_decay_factor: float = 0.5
    min_lr: float = 1e-5
    max_epochs: int = 40
    patience: int = 5
    max_minutes: float | None = None
    seed: int = 42
    shuffle_buffer: int = 4096
    strategy: str = "default"
    mixed_precision: bool = False
    val_max_samples: int | None = None
    resume: bool = True


class Decoder(StrEnum):
    """A CTC decoder: greedy best path, prefix beam search, word beam search, single digit."""

    bestpath = "bestpath"
    beam = "beam"
    wordbeam = "wordbeam"
    digit = "digit"


class WordBeamMode(StrEnum):
    """Word beam search scoring: dictionary constraint only, or plus a word-bigram LM."""

    words = "words"
    ngrams = "ngrams"


@dataclass
class DecodeConfig:
    """CTC decoding: which decoders to report, beam sizes, and the word beam search's LM.

    `prune_threshold`: a character whose probability at a time step is not above it is not
    used to extend beams at that step (0 keeps every non-zero one: exact but slow).
    `dictionary_file` / `corpus_file` (relative to paths.root) replace the training texts as
    the word beam search's dictionary and bigram corpus; `word_chars: null` means the
    letters of the charset. `lexicon_size` > 0 adds that many of the most frequent English
    words (wordfreq, offline; lower-case, Capitalised and UPPER forms) to the dictionary, so
    correct words absent from a small training split are not forced into other words.
    `batch_size`: images per inference call when many are read (the evaluate stage).
    """

    decoders: list[Decoder] = field(
        default_factory=lambda: [Decoder.bestpath, Decoder.beam, Decoder.wordbeam]
    )
    beam_width: int = 25
    top_k: int = 5
    prune_threshold: float = 1e-3
    wordbeam_mode: WordBeamMode = WordBeamMode.ngrams
    lm_smoothing: float = 0.1
    lm_weight: float = 1.0
    dictionary_file: str | None = None
    corpus_file: str | None = None
    lexicon_size: int = 0
    word_chars: str | None = None
    batch_size: int = 64


@dataclass
class AppConfig:
    """The Streamlit canvas app: upload limits, canvas size and stroke widths (pixels)."""

    max_upload_mb: float = 10.0
    max_megapixels: float = 20.0
    canvas_width: int = 600
    canvas_height: int = 200
    default_stroke_width: int = 10
    max_stroke_width: int = 40
    preview_scale: int = 4
    line_data: str = "sample_lines"


@dataclass
class Config:
    """The whole composed configuration."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    decode: DecodeConfig = field(default_factory=DecodeConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    mlflow: MlflowConfig = field(default_factory=MlflowConfig)
    app: AppConfig = field(default_factory=AppConfig)


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
