"""Model registry: register each trained model, move the champion alias only to a better one.

Versions carry their test metrics, data fingerprint and data name as tags. A new version
becomes champion when its primary metric (lower is better) is strictly lower than the
champion's on the same data fingerprint. A champion measured on a different fingerprint
is not comparable (the test set changed), so the new version, the only one measured on
the current data, is promoted and the reason says so; so is one scored by another evaluation
protocol (how the test images were read).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import mlflow
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from omegaconf import DictConfig

from pipeline.common.errors import HTRError
from pipeline.tracking.guard import check_store, sqlite_path, store_errors
from pipeline.tracking.store import configure

FINGERPRINT_TAG = "data_fingerprint"
DATA_NAME_TAG = "data_name"
PRIMARY_METRIC_TAG = "primary_metric"
PROTOCOL_TAG = "eval_protocol"
# versions registered before the protocol tag read the stored test images as they were
LEGACY_PROTOCOL = "stored"
_NON_METRIC_TAGS = {FINGERPRINT_TAG, DATA_NAME_TAG, PRIMARY_METRIC_TAG, PROTOCOL_TAG}


@dataclass(frozen=True)
class RegistrationResult:
    """What registering a model did, and why the champion alias moved or stayed."""

    version: int
    is_champion: bool
    reason: str
    previous_champion: int | None


@dataclass(frozen=True)
class VersionInfo:
    """One registered version: where it came from, its aliases and test metrics."""

    version: int
    run_id: str | None
    source: str
    aliases: tuple[str, ...]
    metrics: dict[str, float]
    fingerprint: str | None
    data_name: str | None


@dataclass(frozen=True)
class ModelInfo:
    """A registered model with its aliases (alias -> version) and versions, newest first."""

    name: str
    aliases: dict[str, int]
    versions: list[VersionInfo] = field(default_factory=list)


def model_name(prefix: str, data_name: str) -> str:
    """The registered model of a data set: `<prefix>-<data>` (e.g. htr-sample_lines)."""
    return f"{prefix}-{data_name}"


def registered_model_name(cfg: DictConfig) -> str:
    """One registered model per data set."""
    return model_name(cfg.mlflow.registered_model_prefix, cfg.data.name)


def decoder_metric(decoder: str, metric: str = "test_cer") -> str:
    """The tag (and MLflow metric) of one decoder's score, e.g. test_cer_wordbeam."""
    return f"{metric}_{decoder}"


def metric_label(name: str) -> str:
    """Human form of a metric key: "test_cer" -> "test CER"."""
    upper = {"cer", "wer"}
    return " ".join(w.upper() if w in upper else w for w in name.split("_"))


def _champion(client: MlflowClient, name: str, alias: str) -> ModelVersion | None:
    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def _decide(
    version: int,
    value: float,
    metric: str,
    fingerprint: str,
    champion: ModelVersion | None,
    protocol: str = LEGACY_PROTOCOL,
) -> tuple[bool, str]:
    """Whether the new version takes the alias, and the sentence that says why."""
    label = metric_label(metric)
    if not math.isfinite(value):
        return False, f"version {version} is not champion: {label} is {value}"
    if champion is None:
        return True, f"version {version} is champion: first version ({label} {value:.4g})"
    old = champion.version

    def not_comparable(change: str, detail: str) -> tuple[bool, str]:
        """Measured another way, the old champion's number says nothing: the new one wins."""
        return True, (
            f"version {version} is champion: {change} changed ({detail} of version {old}), "
            f"so {label} {value:.4g} is not comparable with the old champion's"
        )

    old_fingerprint = champion.tags.get(FINGERPRINT_TAG)
    if old_fingerprint != fingerprint:
        detail = f"data fingerprint {fingerprint[:12]} vs {str(old_fingerprint)[:12]}"
        return not_comparable("test set", detail)
    old_protocol = champion.tags.get(PROTOCOL_TAG, LEGACY_PROTOCOL)
    if old_protocol != protocol:
        return not_comparable("evaluation protocol", f"{protocol!r} vs {old_protocol!r}")
    try:
        best = float(champion.tags[metric])
    except (KeyError, ValueError):
        return True, f"version {version} is champion: version {old} has no {label} tag"
    if value < best:
        return (
            True,
            f"version {version} is champion: {label} {value:.4g} < {best:.4g} of version {old}",
        )
    return False, (
        f"version {version} is not champion: {label} {value:.4g} is not lower than "
        f"{best:.4g} of champion version {old}"
    )


@store_errors()
def register(
    cfg: DictConfig,
    run_id: str,
    model_uri: str,
    metrics: Mapping[str, float],
    fingerprint: str,
    primary_metric: str = "test_cer",
    protocol: str = LEGACY_PROTOCOL,
) -> RegistrationResult:
    """Register a new version with its test metrics and move the champion alias if better
    (`protocol`: how the test images were read; see `_decide`)."""
    if primary_metric not in metrics:
        raise HTRError(f"cannot register: metric {primary_metric!r} missing from {list(metrics)}")
    client = MlflowClient(configure(cfg))
    name = registered_model_name(cfg)
    alias = cfg.mlflow.champion_alias
    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(name, description=f"HTR models for data set {cfg.data.name}")
    champion = _champion(client, name, alias)
    tags = {
        **{k: repr(float(v)) for k, v in metrics.items()},
        FINGERPRINT_TAG: fingerprint,
        DATA_NAME_TAG: cfg.data.name,
        PRIMARY_METRIC_TAG: primary_metric,
        PROTOCOL_TAG: protocol,
    }
    created = mlflow.register_model(model_uri, name, tags=tags)
    if created.run_id != run_id:
        client.set_model_version_tag(name, created.version, "training_run_id", run_id)
    version = int(created.version)
    promote, reason = _decide(
        version, float(metrics[primary_metric]), primary_metric, fingerprint, champion, protocol
    )
    if promote:
        client.set_registered_model_alias(name, alias, str(version))
    previous = int(champion.version) if champion is not None else None
    return RegistrationResult(version, promote, reason, previous)


def _as_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def list_models(tracking_uri: str) -> list[ModelInfo]:
    """Every registered model with its versions, aliases and test metric tags (for pickers)."""
    path = sqlite_path(tracking_uri)
    if path is not None and not path.exists():
        return []
    check_store(tracking_uri, create=False)
    with store_errors(tracking_uri):
        return _read_models(MlflowClient(tracking_uri))


def _read_models(client: MlflowClient) -> list[ModelInfo]:
    models = []
    token = None
    while True:
        page = client.search_registered_models(max_results=100, page_token=token)
        for registered in page:
            aliases = {a: int(v) for a, v in registered.aliases.items()}
            by_version: dict[int, list[str]] = {}
            for a, v in aliases.items():
                by_version.setdefault(v, []).append(a)
            versions = [
                VersionInfo(
                    version=int(mv.version),
                    run_id=mv.run_id,
                    source=mv.source,
                    aliases=tuple(sorted(by_version.get(int(mv.version), []))),
                    metrics={
                        k: f
                        for k, v in mv.tags.items()
                        if k not in _NON_METRIC_TAGS and (f := _as_float(v)) is not None
                    },
                    fingerprint=mv.tags.get(FINGERPRINT_TAG),
                    data_name=mv.tags.get(DATA_NAME_TAG),
                )
                for mv in client.search_model_versions(f"name='{registered.name}'")
            ]
            versions.sort(key=lambda v: v.version, reverse=True)
            models.append(ModelInfo(registered.name, aliases, versions))
        token = page.token
        if not token:
            return models


def resolve_model_uri(name: str, alias: str = "champion", tracking_uri: str | None = None) -> str:
    """The `models:/<name>/<version>` URI the alias points at; HTRError if there is none."""
    with store_errors(tracking_uri):
        champion = _champion(MlflowClient(tracking_uri), name, alias)
    if champion is None:
        raise HTRError(f"no version of model {name!r} has alias {alias!r} (train one first)")
    return f"models:/{name}/{champion.version}"
