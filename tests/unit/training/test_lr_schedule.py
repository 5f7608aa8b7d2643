"""The learning-rate schedules: halving on a stall (plateau) or a cosine over the budget."""

from __future__ import annotations

import itertools
import math

import keras
import numpy as np
import pytest

from pipeline.common.config import compose
from pipeline.common.errors import HTRError
from pipeline.training.monitor import MonitorState, TrainingMonitor, cosine_lr, learning_rate_of


def test_cosine_starts_at_the_rate_and_falls_every_epoch_towards_the_floor() -> None:
    rates = [cosine_lr(epoch, 6, 5e-4, 1e-5) for epoch in range(6)]
    assert rates[0] == pytest.approx(5e-4)
    assert all(later < earlier for earlier, later in itertools.pairwise(rates))
    assert rates[3] == pytest.approx(1e-5 + (5e-4 - 1e-5) / 2)  # halfway: halfway down
    assert rates[-1] > 1e-5  # the floor is where a budget of E epochs would end, at epoch E
    assert cosine_lr(6, 6, 5e-4, 1e-5) == pytest.approx(1e-5)


def _monitor(tmp_path, schedule: str, epochs: int) -> tuple[TrainingMonitor, keras.Model]:
    cfg = compose([f"train.lr_schedule={schedule}", "train.lr=0.001", "train.min_lr=0.0001"])
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(cfg.train.lr), loss="mse")
    monitor = TrainingMonitor(
        predict=lambda x: np.zeros((len(x), 1, 1)),
        val_batches=[],
        chars="",
        cfg_train=cfg.train,
        state=MonitorState(lr=cfg.train.lr),
        best_path_=tmp_path / "best.weights.h5",
        epochs=epochs,
    )
    monitor.set_model(model)
    return monitor, model


def test_cosine_sets_each_epochs_rate_and_ignores_stalls(tmp_path) -> None:
    monitor, model = _monitor(tmp_path, "cosine", epochs=4)
    monitor.on_epoch_begin(2)
    assert learning_rate_of(model) == pytest.approx(1e-4 + 9e-4 * (1 + math.cos(math.pi / 2)) / 2)
    monitor.state.best_cer = 0.1
    for epoch in range(2):  # two epochs without improvement: plateau would halve here
        monitor._update_early_stopping(epoch, val_cer=0.2)
    assert learning_rate_of(model) == pytest.approx(5.5e-4)


def test_plateau_halves_after_a_stall_and_leaves_epoch_starts_alone(tmp_path) -> None:
    monitor, model = _monitor(tmp_path, "plateau", epochs=4)
    monitor.on_epoch_begin(2)
    assert learning_rate_of(model) == pytest.approx(1e-3)
    monitor.state.best_cer = 0.1
    for epoch in range(2):
        monitor._update_early_stopping(epoch, val_cer=0.2)
    assert learning_rate_of(model) == pytest.approx(5e-4)


def test_an_unknown_schedule_is_refused_by_name() -> None:
    with pytest.raises(HTRError, match="lr_schedule"):
        compose(["train.lr_schedule=linear"])
