"""The per-epoch training callback: validation CER, early stopping, LR schedule, time budget.

Its state (best CER, epochs without improvement, history) is saved after every epoch so a
killed run resumes where it stopped, with the same patience count.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from pipeline.common.atomic import atomic_file
from pipeline.common.config import LrSchedule
from pipeline.common.metrics import cer, word_accuracy
from pipeline.decoding import best_path

log = logging.getLogger(__name__)


@dataclass
class MonitorState:
    """What survives a restart: progress of early stopping and the per-epoch history."""

    config_hash: str = ""
    epochs_done: int = 0
    best_cer: float = float("inf")
    best_epoch: int = -1
    wait: int = 0
    lr: float = 0.0
    seconds: float = 0.0
    run_id: str | None = None
    stop_reason: str | None = None  # set when training stops before its sample budget
    history: list[dict] = field(default_factory=list)

    def save(self, path: Path) -> None:
        with atomic_file(path, "w") as handle:
            json.dump(asdict(self), handle, indent=1)

    @classmethod
    def load(cls, path: Path) -> MonitorState:
        return cls(**json.loads(Path(path).read_text()))


def validation_texts(
    predict, batches: tf.data.Dataset, chars: str
) -> tuple[list[str], list[str], list[np.ndarray]]:
    """Best-path transcriptions, truths and images of a `with_text` batch stream."""
    truths, hyps, images = [], [], []
    for x, _, text in batches:
        probs = predict(x.numpy())
        for row, truth, image in zip(probs, text.numpy(), x.numpy(), strict=True):
            hyps.append(best_path(row, chars).text)
            truths.append(truth.decode("utf-8"))
            images.append(image)
    return truths, hyps, images


def save_weights_atomically(model: keras.Model, path: Path) -> None:
    """Write weights (with optimizer state) beside `path`, then rename: a kill never leaves
    a half-written file where a resume would read it."""
    tmp = path.with_name(f"tmp-{path.name}")
    model.save_weights(tmp)
    os.replace(tmp, path)


def learning_rate_of(model: keras.Model) -> float:
    """The rate the model's optimizer applies now, as a Python float."""
    return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))


def cosine_lr(epoch: int, epochs: int, lr: float, min_lr: float) -> float:
    """Epoch `epoch` (0-based) of `epochs` on a half cosine from `lr` down towards `min_lr`:
    the rate anneals over the whole budget instead of waiting for val CER to stall."""
    return min_lr + (lr - min_lr) * (1 + math.cos(math.pi * epoch / max(epochs, 1))) / 2


class Checkpointer(keras.callbacks.Callback):
    """Last in the callback list: weights first, then the state file as the commit point."""

    def __init__(self, state: MonitorState, state_path: Path, weights_path: Path) -> None:
        super().__init__()
        self.state = state
        self.state_path = Path(state_path)
        self.weights_path = Path(weights_path)

    def on_epoch_end(self, epoch, logs=None):
        save_weights_atomically(self.model, self.weights_path)
        self.state.save(self.state_path)


class TrainingMonitor(keras.callbacks.Callback):
    """Adds val_cer, val_word_accuracy, lr and images_per_s to the epoch logs; stops early."""

    def __init__(self, predict, val_batches, chars, cfg_train, state, best_path_, epochs):
        super().__init__()
        self.epochs = epochs
        self.predict = predict
        self.val_batches = val_batches
        self.chars = chars
        self.cfg = cfg_train
        self.state = state
        self.best_weights_path = Path(best_path_)
        self.samples: list[tuple[np.ndarray, str, str]] = []
        self._epoch_start = 0.0
        self._images = 0
        self._started = time.monotonic() - state.seconds

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.monotonic()
        self._images = 0
        if self.cfg.lr_schedule == LrSchedule.cosine:
            rate = cosine_lr(epoch, self.epochs, self.cfg.lr, self.cfg.min_lr)
            self.model.optimizer.learning_rate.assign(rate)

    def on_train_batch_end(self, batch, logs=None):
        self._images += self.cfg.batch_size

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        train_seconds = time.monotonic() - self._epoch_start
        truths, hyps, images = validation_texts(self.predict, self.val_batches, self.chars)
        self.samples = list(zip(images[:24], truths[:24], hyps[:24], strict=True))
        val_cer = cer(truths, hyps)
        lr = learning_rate_of(self.model)
        logs.update(
            val_cer=val_cer,
            val_word_accuracy=word_accuracy(truths, hyps),
            lr=lr,
            images_per_s=self._images / max(train_seconds, 1e-9),
        )
        self._update_early_stopping(epoch, val_cer)
        self.state.epochs_done = epoch + 1
        self.state.seconds = time.monotonic() - self._started
        self.state.lr = learning_rate_of(self.model)
        self.state.history.append({"epoch": epoch, **{k: float(v) for k, v in logs.items()}})
        log.info(
            "epoch %d: loss %.3f val_cer %.4f word_acc %.3f %.0f img/s",
            epoch + 1,
            logs.get("loss", float("nan")),
            val_cer,
            logs["val_word_accuracy"],
            logs["images_per_s"],
        )
        self._check_budget(time.monotonic() - self._epoch_start)

    def _update_early_stopping(self, epoch: int, val_cer: float) -> None:
        if val_cer < self.state.best_cer - 1e-9:
            self.state.best_cer, self.state.best_epoch, self.state.wait = val_cer, epoch, 0
            save_weights_atomically(self.model, self.best_weights_path)
            return
        self.state.wait += 1
        stalled = self.state.wait % self.cfg.lr_decay_patience == 0
        if stalled and self.cfg.lr_schedule == LrSchedule.plateau:
            old = learning_rate_of(self.model)
            new = max(old * self.cfg.lr_decay_factor, self.cfg.min_lr)
            self.model.optimizer.learning_rate.assign(new)
            log.info(
                "val CER stalled for %d epochs: learning rate %.2e -> %.2e",
                self.state.wait,
                old,
                new,
            )
        if self.state.wait >= self.cfg.patience:
            self.state.stop_reason = (
                f"early stopping: no val CER improvement for {self.state.wait} epochs"
            )
            self.model.stop_training = True

    def _check_budget(self, epoch_seconds: float) -> None:
        """Stop when another epoch like the last one would overrun `train.max_minutes`.

        A safety cap only: the default budget is `train.max_samples`, which does not depend on
        how fast the machine is.
        """
        limit = self.cfg.max_minutes
        if limit is not None and self.state.seconds + epoch_seconds > limit * 60:
            self.state.stop_reason = f"time cap: another epoch would pass train.max_minutes={limit}"
            self.model.stop_training = True
