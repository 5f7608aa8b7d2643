"""The app's view of the project: its config, and the registered models it can serve.

The app composes the same `conf/` as the pipeline, so it finds the MLflow store the
pipeline registered models in. Three environment variables point it elsewhere (tests
use them to serve a temporary project):

- `HTR_PROJECT_ROOT`: the project directory (`paths.root`; relative store paths resolve here);
- `HTR_TRACKING_URI`: an MLflow tracking URI that replaces the configured one;
- `HTR_OVERRIDES`: Hydra overrides separated by spaces, e.g. `app=tiny decode=tiny`.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping, Sequence

from omegaconf import DictConfig

from pipeline.common.config import compose
from pipeline.decoding import text_decoders
from pipeline.tracking import (
    ModelInfo,
    VersionInfo,
    decoder_metric,
    metric_label,
    model_name,
    registered_model_name,
    tracking_uri_for,
)

ENV_ROOT = "HTR_PROJECT_ROOT"
ENV_TRACKING_URI = "HTR_TRACKING_URI"
ENV_OVERRIDES = "HTR_OVERRIDES"
PRIMARY_METRIC = "test_cer"


def app_config(environ: Mapping[str, str] = os.environ) -> DictConfig:
    """The composed config, rooted and overridden as the environment says."""
    overrides = shlex.split(environ.get(ENV_OVERRIDES, ""))
    return compose(overrides, root=environ.get(ENV_ROOT) or None)


def app_tracking_uri(cfg: DictConfig, environ: Mapping[str, str] = os.environ) -> str:
    """The MLflow store to read models from: the env override or the config's."""
    return environ.get(ENV_TRACKING_URI) or tracking_uri_for(cfg)


def offered_models(models: list[ModelInfo], prefix: str) -> list[ModelInfo]:
    """The project's registered models (named `<prefix>-<data>`) that have any version."""
    return [m for m in models if m.name.startswith(f"{prefix}-") and m.versions]


def preferred_model(cfg: DictConfig, reads_lines: bool) -> str:
    """The registered model to preselect: the line data set's in line mode, else data.name's."""
    if reads_lines:
        return model_name(cfg.mlflow.registered_model_prefix, cfg.app.line_data)
    return registered_model_name(cfg)


def default_model(models: list[ModelInfo], preferred: str) -> int:
    """Index of the model to preselect: the configured data set's model if offered."""
    names = [m.name for m in models]
    return names.index(preferred) if preferred in names else 0


def default_version(model: ModelInfo, alias: str) -> int:
    """Index (in `model.versions`, newest first) of the alias's version, else the newest."""
    numbers = [v.version for v in model.versions]
    wanted = model.aliases.get(alias)
    return numbers.index(wanted) if wanted in numbers else 0


def version_label(version: VersionInfo, metric: str = PRIMARY_METRIC) -> str:
    """One line for a picker: "version 3 · champion · test CER 0.0412"."""
    parts = [f"version {version.version}", *version.aliases]
    value = version.metrics.get(metric)
    parts.append(f"{metric_label(metric)} {value:.4f}" if value is not None else "no test CER")
    return " · ".join(parts)


def metric_lines(version: VersionInfo, names: Sequence[str] | None = None) -> list[str]:
    """The version's test metrics (all, sorted, or those named) as "test CER: 0.0412" lines."""
    keys = sorted(version.metrics) if names is None else [k for k in names if k in version.metrics]
    return [f"{metric_label(k)}: {version.metrics[k]:.4g}" for k in keys]


def model_uri(name: str, version: int) -> str:
    """The MLflow URI of one registered version."""
    return f"models:/{name}/{version}"


def default_decoder(version: VersionInfo, decoders: Sequence[str]) -> int:
    """Index of the decoder to preselect: the one with this version's lowest test CER.

    Evaluation tags each version with `test_cer_<decoder>`; a version without them
    (registered by hand) starts on beam search, else the first decoder offered.
    """
    keys = [decoder_metric(d, PRIMARY_METRIC) for d in decoders]
    scored = [(version.metrics[k], i) for i, k in enumerate(keys) if k in version.metrics]
    if scored:
        return min(scored)[1]
    return list(decoders).index("beam") if "beam" in decoders else 0


def offered_decoders(cfg: DictConfig) -> list[str]:
    """The configured free-text decoders (the registry says which are text), for the picker."""
    text = set(text_decoders())
    return [str(d) for d in cfg.decode.decoders if str(d) in text] or ["bestpath"]
