"""Load a recognizer's files: the Keras model with its charset and corpus, from a local
`.keras` file (charset.json and corpus.txt beside it, as the train stage writes them) or
an MLflow model URI (they are artifacts of the run that trained the model)."""

from __future__ import annotations

import logging
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras

from pipeline.common.artifacts import CHARSET_FILE, CORPUS_FILE, PREPROCESS_FILE
from pipeline.common.charset import Charset
from pipeline.common.errors import HTRError
from pipeline.models import NO_NORMALISATION, Preprocessing
from pipeline.tracking import load_keras_model, open_store, store_errors

log = logging.getLogger(__name__)

_REGISTERED = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/]+)|/(?P<version>\d+))/?$")
_LOGGED = re.compile(r"^models:/(?P<model_id>m-[0-9a-f]+)/?$")
_RUN = re.compile(r"^runs:/(?P<run_id>[^/]+)/.+$")


@dataclass(frozen=True)
class ModelSource:
    """Where a model came from: the URI asked for and, for MLflow, what it resolved to."""

    uri: str
    load_uri: str
    run_id: str | None = None
    name: str | None = None
    version: int | None = None
    alias: str | None = None


@dataclass(frozen=True)
class ModelFiles:
    """A loaded prediction model with the charset and corpus it was trained with."""

    model: keras.Model
    charset: Charset
    corpus: list[str]
    source: ModelSource
    # how inputs are normalised for this model (none for models older than preprocess.json)
    preprocessing: Preprocessing = NO_NORMALISATION


def load_model_files(uri: str, tracking_uri: str | None = None) -> ModelFiles:
    """Load a local `.keras` file or an MLflow model URI (models:/…, runs:/…)."""
    uri = str(uri)
    if "://" not in uri and not uri.startswith(("models:/", "runs:/")):
        return _load_local(Path(uri))
    return _load_mlflow(uri, tracking_uri)


def _load_local(path: Path) -> ModelFiles:
    if path.suffix != ".keras":
        raise HTRError(f"model {path} is neither a .keras file nor an MLflow model URI")
    model = load_keras_model(path)
    charset = Charset.load(path.parent / CHARSET_FILE)
    corpus = _read_corpus(path.parent / CORPUS_FILE)
    preprocessing = Preprocessing.load(path.parent / PREPROCESS_FILE)
    source = ModelSource(uri=str(path), load_uri=str(path))
    return ModelFiles(model, charset, corpus, source, preprocessing)


def _load_mlflow(uri: str, tracking_uri: str | None) -> ModelFiles:
    from mlflow import MlflowClient

    with open_store(tracking_uri) as store, tempfile.TemporaryDirectory() as tmp:
        source = resolve_source(uri, MlflowClient(store))
        model = load_keras_model(source.load_uri)
        charset_path = _download(source.run_id, CHARSET_FILE, Path(tmp))
        if charset_path is None:
            raise HTRError(f"run {source.run_id} of model {uri} has no {CHARSET_FILE}")
        charset = Charset.load(charset_path)
        corpus_path = _download(source.run_id, CORPUS_FILE, Path(tmp))
        corpus = _read_corpus(corpus_path) if corpus_path else []
        preprocess_path = _download(source.run_id, PREPROCESS_FILE, Path(tmp))
        preprocessing = Preprocessing.load(preprocess_path) if preprocess_path else NO_NORMALISATION
    return ModelFiles(model, charset, corpus, source, preprocessing)


def _read_corpus(path: Path) -> list[str]:
    if not path.is_file():
        log.warning("no %s at %s: the wordbeam decoder will be unavailable", CORPUS_FILE, path)
        return []
    return path.read_text(encoding="utf-8").splitlines()


def resolve_source(uri: str, client: Any) -> ModelSource:
    """Resolve an MLflow model URI to the model to load and the run that trained it."""
    from mlflow.exceptions import MlflowException

    try:
        if match := _REGISTERED.match(uri):
            name, alias = match["name"], match["alias"]
            if alias is not None:
                version = client.get_model_version_by_alias(name, alias)
            else:
                version = client.get_model_version(name, match["version"])
            run_id = version.tags.get("training_run_id") or version.run_id
            return ModelSource(
                uri=uri,
                load_uri=f"models:/{name}/{version.version}",
                run_id=run_id,
                name=name,
                version=int(version.version),
                alias=alias,
            )
        if match := _LOGGED.match(uri):
            logged = client.get_logged_model(match["model_id"])
            return ModelSource(uri=uri, load_uri=uri, run_id=logged.source_run_id)
        if match := _RUN.match(uri):
            client.get_run(match["run_id"])
            return ModelSource(uri=uri, load_uri=uri, run_id=match["run_id"])
    except MlflowException as err:
        raise HTRError(f"model {uri} not found: {err.message.splitlines()[0]}") from err
    raise HTRError(
        f"unsupported model URI {uri!r}: use a .keras path, models:/<name>@<alias>, "
        "models:/<name>/<version>, models:/<model id> or runs:/<run id>/<path>"
    )


def _download(run_id: str | None, artifact: str, dst: Path) -> Path | None:
    """Download one artifact of a run, or None if the run does not have it."""
    import mlflow
    from mlflow.exceptions import MlflowException

    if run_id is None:
        return None
    try:
        with store_errors():  # a busy store is an error of its own, not a missing file
            local = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=artifact, dst_path=str(dst)
            )
    except (MlflowException, OSError):
        return None
    return Path(local) if Path(local).is_file() else None
