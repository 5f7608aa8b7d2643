"""The training budget is a number of samples, not minutes: the same epochs on any machine."""

from __future__ import annotations

import pytest

from pipeline.common.config import compose
from pipeline.training.trainer import budget_epochs


@pytest.mark.parametrize(
    ("overrides", "n_train", "epochs"),
    [
        (["train.max_samples=96000", "train.max_epochs=40"], 6400, 15),
        (["train.max_samples=96001", "train.max_epochs=40"], 6400, 16),  # whole epochs, up
        (["train.max_samples=96000", "train.max_epochs=10"], 6400, 10),  # capped
        (["train.max_samples=10", "train.max_epochs=10"], 6400, 1),  # at least one
        (["train.max_samples=null", "train.max_epochs=7"], 6400, 7),
    ],
)
def test_budget_in_samples_becomes_whole_epochs(overrides, n_train, epochs) -> None:
    assert budget_epochs(compose(overrides), n_train) == epochs


def test_the_default_budget_does_not_depend_on_the_clock() -> None:
    cfg = compose()
    assert cfg.train.max_samples is not None
    assert cfg.train.max_minutes is None or cfg.train.max_minutes >= 10, "a safety cap only"
