"""Train the recognizer from the LMDB store: the library behind the `train` stage."""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import math
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import keras
from hydra.utils import get_method
from omegaconf import DictConfig, OmegaConf

from pipeline import tracking
from pipeline.common.artifacts import (
    CHARSET_FILE,
    CHECKPOINT_BEST_FILE,
    CHECKPOINT_DIR,
    CHECKPOINT_STATE_FILE,
    CHECKPOINT_WEIGHTS_FILE,
    CORPUS_FILE,
    HISTORY_FILE,
    MODEL_FILE,
    PREPROCESS_FILE,
    RUN_FILE,
    TRAIN_METRICS_FILE,
)
from pipeline.common.atomic import atomic_file
from pipeline.common.config import project_path
from pipeline.common.errors import HTRError
from pipeline.data import load_charset, read_metadata, split_store
from pipeline.inference import compiled_predictor
from pipeline.models import Preprocessing, check_label_length, ctc_loss, logits_model
from pipeline.training.batches import model_batches
from pipeline.training.init import initialise
from pipeline.training.monitor import Checkpointer, MonitorState, TrainingMonitor
from pipeline.training.strategy import make_strategy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainResult:
    """What a finished training produced."""

    model_path: Path
    run_id: str
    best_val_cer: float
    best_epoch: int
    epochs: int
    seconds: float


def config_hash(cfg: DictConfig) -> str:
    """Hash of everything that shapes the weights, so a checkpoint of another config is ignored."""
    relevant = {k: cfg[k] for k in ("data", "model", "augment", "train")}
    text = json.dumps(OmegaConf.to_container(OmegaConf.create(relevant)), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _load_state(checkpoint: Path, cfg: DictConfig, digest: str) -> MonitorState:
    state_path = checkpoint / CHECKPOINT_STATE_FILE
    if cfg.train.resume and state_path.is_file():
        state = MonitorState.load(state_path)
        if state.config_hash == digest and (checkpoint / CHECKPOINT_WEIGHTS_FILE).is_file():
            log.info("resuming from %s after epoch %d", checkpoint, state.epochs_done)
            return state
        log.info("ignoring checkpoint in %s: it belongs to another config", checkpoint)
    shutil.rmtree(checkpoint, ignore_errors=True)
    checkpoint.mkdir(parents=True, exist_ok=True)
    return MonitorState(config_hash=digest, lr=cfg.train.lr)


def _history_columns(history: list[dict]) -> dict[str, list[float]]:
    keys = [k for k in history[0] if k != "epoch"] if history else []
    return {k: [row.get(k, float("nan")) for row in history] for k in keys}


def write_corpus(cfg: DictConfig, path: Path) -> Path:
    """The training split's transcriptions, one per line: the word beam search's dictionary
    and bigram corpus, shipped beside the model so predict and the app decode alike."""
    with atomic_file(path, "w") as handle:
        for record in split_store(cfg, "train").records():
            handle.write(record.text + "\n")
    return path


def _write_outputs(
    models: Path, model: keras.Model, charset, preprocessing: Preprocessing, state: MonitorState
) -> None:
    models.mkdir(parents=True, exist_ok=True)
    tmp = models / f".{MODEL_FILE}.tmp.keras"
    model.save(tmp)
    tmp.replace(models / MODEL_FILE)
    charset.save(models / CHARSET_FILE)
    preprocessing.save(models / PREPROCESS_FILE)
    best = state.history[state.best_epoch] if state.history else {}
    metrics = {
        "best_val_cer": state.best_cer,
        "best_val_word_accuracy": best.get("val_word_accuracy"),
        "best_epoch": state.best_epoch + 1,
        "epochs": state.epochs_done,
        "train_minutes": round(state.seconds / 60, 2),
        "stop_reason": state.stop_reason or "training budget reached",
        "images_per_s": best.get("images_per_s"),
    }
    with atomic_file(models / TRAIN_METRICS_FILE, "w") as handle:
        json.dump(metrics, handle, indent=2)
    with atomic_file(models / HISTORY_FILE, "w") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(state.history[0]))
        writer.writeheader()
        writer.writerows(state.history)


def budget_epochs(cfg: DictConfig, n_train: int) -> int:
    """Epochs to train: `train.max_samples` training images in whole epochs, capped by
    `train.max_epochs`; a budget in samples gives the same model on a fast or a slow machine."""
    if cfg.train.max_samples is None:
        return cfg.train.max_epochs
    return min(cfg.train.max_epochs, max(1, math.ceil(cfg.train.max_samples / max(n_train, 1))))


def train(cfg: DictConfig) -> TrainResult:
    """Fit the configured recognizer with early stopping on validation CER; resumable."""
    keras.utils.set_random_seed(cfg.train.seed)
    if cfg.train.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
    charset = load_charset(cfg)
    longest = max((len(r.text) for r in split_store(cfg, "train").records()), default=0)
    # read (and so checksum) val up front too: inside tf.data a corrupt record is a traceback
    for _ in split_store(cfg, "val").records():
        pass
    check_label_length(cfg.model, longest)
    fingerprint = str(read_metadata(cfg, "train").get("fingerprint", "unknown"))
    models = project_path(cfg, cfg.paths.models)
    checkpoint = models / CHECKPOINT_DIR
    # build first: a config the builder refuses must not cost an interrupted run's checkpoint
    strategy = make_strategy(cfg.train.strategy)
    with strategy.scope():
        model = get_method(cfg.model._target_)(cfg.model, charset.num_classes)
        initialise(model, charset, cfg)
        trainable = logits_model(model)
    state = _load_state(checkpoint, cfg, config_hash(cfg))
    with strategy.scope():
        trainable.compile(optimizer=keras.optimizers.Adam(state.lr), loss=ctc_loss)
    if state.epochs_done:
        trainable.optimizer.build(trainable.trainable_variables)
        trainable.load_weights(checkpoint / CHECKPOINT_WEIGHTS_FILE)
        trainable.optimizer.learning_rate.assign(state.lr)
    epochs = budget_epochs(cfg, int(read_metadata(cfg, "train")["count"]))
    if state.epochs_done >= epochs or state.wait >= cfg.train.patience:
        raise HTRError(f"checkpoint in {checkpoint} is already complete; delete it to retrain")

    distributed = strategy.num_replicas_in_sync > 1
    train_data = model_batches(cfg, "train", charset, train=True, drop_remainder=distributed)
    val_limit = cfg.train.val_max_samples
    val_loss_data = model_batches(
        cfg, "val", charset, train=False, limit=val_limit, drop_remainder=distributed
    )
    n_val = min(int(read_metadata(cfg, "val")["count"]), val_limit or sys.maxsize)
    if distributed and n_val < cfg.train.batch_size:
        log.warning(
            "val split (%d) smaller than one batch: no val_loss under %s", n_val, cfg.train.strategy
        )
        val_loss_data = None
    val_text_data = model_batches(cfg, "val", charset, False, limit=val_limit, with_text=True)

    tracking.configure(cfg)
    if state.run_id is None:
        state.run_id = tracking.start_training_run(cfg, fingerprint)
    monitor = TrainingMonitor(
        compiled_predictor(model),
        val_text_data,
        charset.chars,
        cfg.train,
        state,
        checkpoint / CHECKPOINT_BEST_FILE,
        epochs,
    )
    callbacks = [
        monitor,
        tracking.MlflowEpochLogger(state.run_id),
        Checkpointer(
            state, checkpoint / CHECKPOINT_STATE_FILE, checkpoint / CHECKPOINT_WEIGHTS_FILE
        ),
    ]
    log.info("training %s on %s (%d classes)", cfg.model.name, cfg.data.name, charset.num_classes)
    started = time.monotonic()
    trainable.fit(
        train_data,
        validation_data=val_loss_data,
        epochs=epochs,
        initial_epoch=state.epochs_done,
        callbacks=callbacks,
        verbose=1 if sys.stdout.isatty() else 2,
    )
    reason = state.stop_reason or (
        f"training budget reached: {state.epochs_done} epochs "
        f"(train.max_samples={cfg.train.max_samples}, train.max_epochs={cfg.train.max_epochs})"
    )
    log.info("stopped after %.1f s: %s", time.monotonic() - started, reason)
    if state.best_epoch < 0:
        raise HTRError("training produced no epoch (train.max_epochs must be > 0)")
    trainable.load_weights(checkpoint / CHECKPOINT_BEST_FILE)
    _write_outputs(models, model, charset, Preprocessing.of_model(cfg.model), state)
    write_corpus(cfg, models / CORPUS_FILE)
    tracking.log_run_files(
        state.run_id,
        cfg=cfg,
        charset=charset.chars,
        history=_history_columns(state.history),
        samples=monitor.samples,
    )
    tracking.log_artifacts(
        state.run_id,
        {
            f"training/{TRAIN_METRICS_FILE}": models / TRAIN_METRICS_FILE,
            CORPUS_FILE: models / CORPUS_FILE,
            PREPROCESS_FILE: models / PREPROCESS_FILE,
        },
    )
    if cfg.mlflow.log_model:
        tracking.log_keras_model(state.run_id, model)
    experiment_id = tracking.ensure_experiment(cfg)
    tracking.write_run_file(
        models / RUN_FILE, state.run_id, experiment_id, tracking.tracking_uri_for(cfg)
    )
    shutil.rmtree(checkpoint, ignore_errors=True)
    return TrainResult(
        model_path=models / MODEL_FILE,
        run_id=state.run_id,
        best_val_cer=state.best_cer,
        best_epoch=state.best_epoch + 1,
        epochs=state.epochs_done,
        seconds=state.seconds,
    )
