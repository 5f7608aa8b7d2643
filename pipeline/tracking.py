"""MLflow tracking: one experiment per data set, one run per training, secrets kept out.

Params are the composed config flattened to dotted keys. A key whose name looks secret
(password, token, secret, key, credential) is dropped, and so is any value that contains
the value of a secret-looking environment variable or a URL password: the IAM password
reaches the downloader through the environment and must never land in the tracking store.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import keras
import mlflow
import mlflow.keras
import numpy as np
from mlflow import MlflowClient
from mlflow.entities import Metric, Param
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from omegaconf import DictConfig, OmegaConf

from pipeline.atomic import atomic_file
from pipeline.charset import Charset
from pipeline.errors import HTRError

log = logging.getLogger(__name__)

MAX_PARAM_LENGTH = 500  # MLflow 3.17 accepts 6000, older tracking servers only 500
_SECRET_WORDS = {"password", "passwd", "pwd", "token", "secret", "key", "apikey", "credential"}
_SECRET_WORDS |= {w + "s" for w in _SECRET_WORDS}
_REDACTED = "***"
_FLAG_WORDS = {"true", "false", "none", "null", "auto"}
_PIP_PACKAGES = ("tensorflow-cpu", "tensorflow", "keras", "numpy", "h5py")


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


def _secret_env_values() -> set[str]:
    """Values of secret-named env vars, minus flags like "1" or "true" that are no secret."""
    return {
        value
        for name, value in os.environ.items()
        if len(value) >= 4 and value.lower() not in _FLAG_WORDS and _looks_secret(name)
    }


def _looks_secret(name: str) -> bool:
    words = re.split(r"[^a-z0-9]+", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower())
    return any(word in _SECRET_WORDS for word in words)


def _strip_url_password(value: str) -> str:
    try:
        parts = urlsplit(value)
    except ValueError:
        return value
    if not parts.scheme or parts.password is None:
        return value
    host = parts.hostname or ""
    netloc = f"{parts.username}:{_REDACTED}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _is_secret_value(value: str, secrets: set[str]) -> bool:
    """Whether `value` holds a secret (short secrets only when equal, to avoid chance hits)."""
    return any(secret in value if len(secret) >= 6 else secret == value for secret in secrets)


def redacted_config(cfg: DictConfig) -> dict[str, Any]:
    """The resolved config as plain data, with secret-looking keys and values masked."""
    secrets = _secret_env_values()

    def clean(node: Any, name: str) -> Any:
        if isinstance(node, dict):
            return {k: clean(v, str(k)) for k, v in node.items()}
        if isinstance(node, list):
            return [clean(v, name) for v in node]
        if _looks_secret(name):
            return _REDACTED
        if isinstance(node, str):
            node = _strip_url_password(node)
            return _REDACTED if _is_secret_value(node, secrets) else node
        return node

    container = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    return clean({k: v for k, v in container.items() if k != "hydra"}, "")


def flatten_params(cfg: DictConfig) -> dict[str, str]:
    """The config as dotted-key params; secrets dropped, lists as strings, values truncated."""
    params: dict[str, str] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{prefix}.{key}" if prefix else str(key))
            return
        text = json.dumps(node, ensure_ascii=False) if isinstance(node, list) else str(node)
        if _REDACTED in text:
            return
        if len(text) > MAX_PARAM_LENGTH:
            text = text[: MAX_PARAM_LENGTH - 3] + "..."
        params[prefix] = text

    walk(redacted_config(cfg), "")
    return params


def git_tags(root: str | Path) -> dict[str, str]:
    """The commit and dirty flag of the git repository at `root`, or "unknown"."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"git_commit": "unknown", "git_dirty": "unknown"}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {
        "git_commit": commit,
        "git_dirty": "unknown" if status is None else str(bool(status)).lower(),
        "mlflow.source.git.commit": commit,
    }


def start_training_run(
    cfg: DictConfig,
    fingerprint: str,
    tags: Mapping[str, str] | None = None,
    run_name: str | None = None,
) -> str:
    """Create a run in the data set's experiment with the config as params; return its id."""
    experiment_id = ensure_experiment(cfg)
    secrets = _secret_env_values()
    all_tags = {
        **git_tags(cfg.paths.root),
        "data_fingerprint": fingerprint,
        "data_name": cfg.data.name,
        **{k: str(v) for k, v in (tags or {}).items()},
    }
    all_tags = {
        k: v
        for k, v in all_tags.items()
        if not _looks_secret(k) and not _is_secret_value(v, secrets)
    }
    client = MlflowClient(tracking_uri_for(cfg))
    run = client.create_run(experiment_id, tags=all_tags, run_name=run_name)
    items = [Param(k, v) for k, v in flatten_params(cfg).items()]
    for start in range(0, len(items), 100):
        client.log_batch(run.info.run_id, params=items[start : start + 100])
    return run.info.run_id


@contextmanager
def training_run(
    cfg: DictConfig,
    fingerprint: str,
    tags: Mapping[str, str] | None = None,
    run_name: str | None = None,
) -> Iterator[str]:
    """Start a training run and keep it active; it ends FINISHED, or FAILED on an exception."""
    run_id = start_training_run(cfg, fingerprint, tags, run_name)
    with mlflow.start_run(run_id=run_id):
        yield run_id


@contextmanager
def resume_run(run_id: str, tracking_uri: str | None = None) -> Iterator[str]:
    """Reopen an existing run (e.g. the evaluate stage logging into the training run)."""
    if tracking_uri is not None:
        mlflow.set_tracking_uri(tracking_uri)
    active = mlflow.active_run()
    if active is not None and active.info.run_id == run_id:
        yield run_id
        return
    with mlflow.start_run(run_id=run_id):
        yield run_id


def log_metrics(run_id: str, metrics: Mapping[str, float], step: int = 0) -> None:
    """Log finite numeric metrics in one batch (non-numbers are skipped)."""
    now = int(time.time() * 1000)
    values = {str(k): _as_float(v) for k, v in metrics.items()}
    items = [Metric(k, v, now, step) for k, v in values.items() if v is not None]
    if items:
        MlflowClient().log_batch(run_id, metrics=items)


def _as_float(value: Any) -> float | None:
    try:
        number = float(np.asarray(value))
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def last_step(run_id: str) -> int:
    """The highest step logged for any metric of the run, or -1 for none."""
    client = MlflowClient()
    keys = client.get_run(run_id).data.metrics
    steps = [m.step for key in keys for m in client.get_metric_history(run_id, key)]
    return max(steps, default=-1)


class MlflowEpochLogger(keras.callbacks.Callback):
    """Log every metric Keras puts in `logs` at the end of each epoch, with step=epoch.

    Keras numbers epochs from `initial_epoch`, so a resumed `fit(initial_epoch=k)` goes on
    at step k; `step_offset` is for a trainer that restarts its epoch count at 0.
    """

    def __init__(self, run_id: str, step_offset: int = 0) -> None:
        super().__init__()
        self.run_id = run_id
        self.step_offset = step_offset

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        """Log the epoch's metrics (and the optimizer's learning rate if logs lack it)."""
        metrics = dict(logs or {})
        optimizer = getattr(self.model, "optimizer", None)
        if "lr" not in metrics and "learning_rate" not in metrics and optimizer is not None:
            metrics["learning_rate"] = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        log_metrics(self.run_id, metrics, step=epoch + self.step_offset)


def log_artifacts(run_id: str, files: Mapping[str, Path]) -> None:
    """Log local files under the given artifact paths (e.g. {"plots/curves.png": path})."""
    client = MlflowClient()
    with tempfile.TemporaryDirectory() as tmp:
        for artifact, source in files.items():
            target = Path(tmp) / artifact
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        client.log_artifacts(run_id, tmp)


def write_config_yaml(cfg: DictConfig, path: Path) -> Path:
    """Write the resolved, redacted config as YAML."""
    path.write_text(OmegaConf.to_yaml(OmegaConf.create(redacted_config(cfg))), encoding="utf-8")
    return path


def write_charset(chars: str, path: Path) -> Path:
    """Write the charset in `Charset.save`'s format, so the artifact loads with `Charset.load`."""
    Charset(chars).save(path)
    return path


def plot_training_curves(history: Mapping[str, Sequence[float]], path: Path) -> Path:
    """Plot per-epoch history, one panel per metric with its train and val_ curves."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bases = list(dict.fromkeys(k.removeprefix("val_") for k in history))
    fig, axes = plt.subplots(1, len(bases), figsize=(4 * len(bases), 3.2), squeeze=False)
    for ax, base in zip(axes[0], bases, strict=True):
        for key in (base, f"val_{base}"):
            if key in history:
                values = list(history[key])
                ax.plot(range(len(values)), values, marker=".", label=key)
        ax.set_title(base)
        ax.set_xlabel("epoch")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_sample_grid(
    samples: Sequence[tuple[np.ndarray, str, str]], path: Path, columns: int = 4
) -> Path:
    """Draw (image, truth, prediction) triples; titles green when right, red when wrong."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = max(1, math.ceil(len(samples) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(3 * columns, 1.3 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (image, truth, prediction) in zip(axes.flat, samples, strict=False):
        ax.imshow(np.squeeze(np.asarray(image)), cmap="gray")
        colour = "green" if truth == prediction else "red"
        ax.set_title(f"{prediction!r}\ntruth {truth!r}", fontsize=8, color=colour)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def log_run_files(
    run_id: str,
    cfg: DictConfig | None = None,
    charset: str | None = None,
    history: Mapping[str, Sequence[float]] | None = None,
    samples: Sequence[tuple[np.ndarray, str, str]] | None = None,
) -> list[str]:
    """Write and log the standard artifacts that are given; return their artifact paths."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        files: dict[str, Path] = {}
        if cfg is not None:
            files["config.yaml"] = write_config_yaml(cfg, out / "config.yaml")
        if charset is not None:
            files["charset.json"] = write_charset(charset, out / "charset.json")
        if history:
            files["plots/training_curves.png"] = plot_training_curves(history, out / "curves.png")
        if samples:
            files["plots/val_samples.png"] = plot_sample_grid(samples, out / "samples.png")
        log_artifacts(run_id, files)
    return list(files)


def pip_requirements() -> list[str]:
    """Pinned requirements of the installed model runtime (what serving must install)."""
    pins = []
    for package in _PIP_PACKAGES:
        try:
            pins.append(f"{package}=={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            continue
    return pins


def model_signature(model: keras.Model) -> ModelSignature:
    """Tensor signature: float32 images [-1, H, W, 1] to float32 [-1, T, C]."""
    from mlflow.types.schema import Schema, TensorSpec

    def spec(shape: Sequence[int | None], name: str) -> TensorSpec:
        return TensorSpec(np.dtype("float32"), tuple(-1 if d is None else d for d in shape), name)

    inputs = Schema([spec(t.shape, "image") for t in model.inputs])
    outputs = Schema([spec(t.shape, "probabilities") for t in model.outputs])
    return ModelSignature(inputs=inputs, outputs=outputs)


def log_keras_model(run_id: str, model: keras.Model, name: str = "model") -> str:
    """Log the prediction model to the run and return its model URI."""
    started = time.perf_counter()
    with resume_run(run_id):
        info = mlflow.keras.log_model(
            model,
            name=name,
            signature=model_signature(model),
            pip_requirements=pip_requirements(),
        )
    log.info("logged model %s in %.2f s", info.model_uri, time.perf_counter() - started)
    return info.model_uri


def load_keras_model(uri: str | Path) -> keras.Model:
    """Load a model from an MLflow URI or a local `.keras` file, in Keras' safe mode."""
    path = Path(uri)
    if path.suffix == ".keras":
        if not path.is_file():
            raise HTRError(f"model file not found: {path}")
        return keras.models.load_model(path, safe_mode=True)
    try:
        return mlflow.keras.load_model(str(uri), load_model_kwargs={"safe_mode": True})
    except MlflowException as err:
        raise HTRError(f"cannot load model {uri}: {err.message}") from err


@dataclass(frozen=True)
class RunRef:
    """Where a training run lives: what `models/run.json` records."""

    run_id: str
    experiment_id: str
    tracking_uri: str


def write_run_file(path: Path, run_id: str, experiment_id: str, tracking_uri: str) -> None:
    """Atomically write the run reference (URL passwords stripped) for later stages."""
    data = {
        "run_id": run_id,
        "experiment_id": experiment_id,
        "tracking_uri": _strip_url_password(tracking_uri),
    }
    with atomic_file(Path(path), "w") as handle:
        json.dump(data, handle, indent=2)
        handle.write("\n")


def read_run_file(path: Path) -> RunRef:
    """Read `models/run.json`; a missing or malformed file is a user-facing error."""
    path = Path(path)
    if not path.is_file():
        raise HTRError(f"run file not found: {path} (run the train stage first)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return RunRef(str(data["run_id"]), str(data["experiment_id"]), str(data["tracking_uri"]))
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise HTRError(f"malformed run file {path}: {err}") from err
