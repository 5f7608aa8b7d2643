"""The pretrain stage end to end on tiny data, and a training that starts from its model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from pipeline.common.config import compose
from pipeline.models.builders import build_crnn
from pipeline.training.trainer import train

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
TINY = ["data=tiny", "model=tiny", "augment=tiny", "mlflow=tiny", "decode=tiny"]


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory) -> Path:
    """A project whose models/pretrained was written by `python -m pipeline.pretrain`."""
    root = tmp_path_factory.mktemp("pretrain")
    args = [
        *TINY,
        "train.max_epochs=3",
        "train.max_samples=null",
        "train.batch_size=16",
        f"paths.root={root}",
    ]
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.pretrain", "-cn", "pretrain", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return root


def test_pretrain_writes_the_model_and_its_card(pretrained):
    out = pretrained / "models" / "pretrained"
    for name in ("recognizer.keras", "charset.json", "preprocess.json", "MODEL_CARD.md"):
        assert (out / name).is_file(), name
    card = json.loads((out / "card.json").read_text())
    assert card["data"]["name"] == "tiny" and len(card["data"]["fingerprint"]) == 64
    assert card["training"]["epochs"] == 3
    assert card["training"]["samples_seen"] == 3 * card["data"]["train_samples"]
    assert set(card["test"]) >= {"bestpath", "beam", "wordbeam"}
    assert card["test"]["bestpath"]["cer"] >= 0.0
    markdown = (out / "MODEL_CARD.md").read_text()
    assert card["data"]["fingerprint"] in markdown and "| bestpath |" in markdown


def test_training_from_the_pretrained_model_starts_from_its_weights(pretrained):
    base = keras.models.load_model(pretrained / "models/pretrained/recognizer.keras")
    cfg = compose(
        [
            *TINY,
            "train=tiny",
            "train.init=pretrained",
            "train.lr=1e-9",  # one step that cannot move the weights: what remains is the init
            "train.max_epochs=1",
            "train.max_samples=16",
            "train.batch_size=16",
            "augment.enabled=false",
            "paths.models=models_ft",
        ],
        root=pretrained,
    )
    result = train(cfg)
    tuned = keras.models.load_model(result.model_path)
    fresh = build_crnn(cfg.model, base.output_shape[-1])
    # Adam moves a weight by about lr per step: the trained weights are still the base's
    for tuned_w, base_w in zip(tuned.trainable_weights, base.trainable_weights, strict=True):
        np.testing.assert_allclose(tuned_w.numpy(), base_w.numpy(), atol=1e-6, err_msg=base_w.path)
    kernels = [(f.numpy(), b.numpy()) for f, b in zip(fresh.weights, base.weights, strict=True)]
    assert any(not np.allclose(f, b, atol=1e-3) for f, b in kernels if f.ndim > 1)
