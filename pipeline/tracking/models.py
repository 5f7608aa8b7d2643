"""Log a Keras recognizer to MLflow and load it back (safe mode, explicit requirements)."""

from __future__ import annotations

import logging
import stat
import tempfile
import time
import zipfile
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

import keras
import mlflow
import mlflow.keras
import numpy as np
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature

from pipeline.common.errors import HTRError
from pipeline.tracking.guard import store_errors
from pipeline.tracking.locations import resolve_against_store
from pipeline.tracking.runs import resume_run

log = logging.getLogger(__name__)

_PIP_PACKAGES = ("tensorflow-cpu", "tensorflow", "keras", "numpy", "h5py")
# What Keras raises for a .keras file whose archive or contents are damaged or foreign.
_BAD_MODEL_ERRORS = (ValueError, KeyError, TypeError, OSError, zipfile.BadZipFile)


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


@store_errors()
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


@store_errors()
def load_keras_model(uri: str | Path) -> keras.Model:
    """Load a model from an MLflow URI or a local `.keras` file, in Keras' safe mode."""
    path = Path(uri)
    if path.suffix == ".keras":
        return _load_file(path)
    resolve_against_store()
    try:
        # Downloaded to a private folder: loaded in place, a registered version would get a
        # `registered_model_meta` file written into the store's artifacts by a mere read.
        with tempfile.TemporaryDirectory(prefix="htr-model-") as tmp:
            return mlflow.keras.load_model(
                str(uri), dst_path=tmp, load_model_kwargs={"safe_mode": True}
            )
    except MlflowException as err:
        raise HTRError(f"cannot load model {uri}: {err.message}") from err
    except _BAD_MODEL_ERRORS as err:
        raise HTRError(f"cannot load model {uri}: {_first_line(err)}") from err


def _load_file(path: Path) -> keras.Model:
    """A local `.keras` file; anything that is not one is named as such, in one line."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as err:
        raise HTRError(f"model file not found: {path}") from err
    except OSError as err:  # a symlink loop, an over-long name, no permission
        raise HTRError(f"cannot read model file {path}: {err.strerror or err}") from err
    if not stat.S_ISREG(mode):
        kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
        raise HTRError(f"model file {path} is {kind}, not a Keras model")
    try:
        with path.open("rb") as file:
            archive = zipfile.is_zipfile(file)
    except OSError as err:
        raise HTRError(f"cannot read model file {path}: {err.strerror or err}") from err
    if not archive:
        raise HTRError(f"model file {path} is not a valid Keras model (not a .keras zip archive)")
    try:
        return keras.models.load_model(path, safe_mode=True)
    except _BAD_MODEL_ERRORS as err:
        raise HTRError(f"model file {path} is not a valid Keras model: {_first_line(err)}") from err


def _first_line(err: Exception) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]
