"""Training for real on tiny data: learning, resumption after a kill, MLflow record, mirrored."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from pipeline.common.config import compose
from pipeline.common.metrics import cer
from pipeline.data import build_lmdb, load_charset
from pipeline.download import download
from pipeline.inference.predictor import compiled_predictor
from pipeline.models.builders import build_crnn, logits_model, time_steps
from pipeline.models.ctc import ctc_loss
from pipeline.training.batches import model_batches
from pipeline.training.monitor import validation_texts

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
TINY = ["data=tiny", "model=tiny", "train=tiny", "augment=tiny", "mlflow=tiny", "decode=tiny"]


@pytest.fixture(scope="module")
def tiny_project(tmp_path_factory) -> Path:
    """A temporary project with the tiny data set downloaded and packed into LMDB."""
    root = tmp_path_factory.mktemp("project")
    cfg = compose(TINY, root=root)
    download(cfg)
    build_lmdb(cfg)
    return root


def test_tiny_model_overfits_32_samples(tiny_project):
    cfg = compose([*TINY, "train.batch_size=8", "augment.enabled=false"], root=tiny_project)
    charset = load_charset(cfg)
    keras.utils.set_random_seed(0)
    fixed = [b for b in model_batches(cfg, "train", charset, train=False, with_text=True).take(4)]
    images = np.concatenate([x.numpy() for x, _, _ in fixed])
    assert len(images) == 32
    model = build_crnn(cfg.model, charset.num_classes)
    trainable = logits_model(model)
    trainable.compile(optimizer=keras.optimizers.Adam(3e-3), loss=ctc_loss)
    predict = compiled_predictor(model)
    before = None
    for step in range(200):
        for x, y, _ in fixed:
            trainable.train_on_batch(x, y)
        truths, hyps, _ = validation_texts(predict, fixed, charset.chars)
        score = cer(truths, hyps)
        before = score if before is None else before
        if step >= 10 and score <= 0.05:
            break
    assert score <= 0.05, f"CER {score:.3f} after {step + 1} passes (first {before:.3f})"


def test_time_steps_follow_the_width_pooling():
    cfg = compose(["model=simplehtr"])
    assert time_steps(cfg.model) == 32
    model = build_crnn(cfg.model, 10)
    assert model.output_shape == (None, 32, 10)


def _train_cli(root: Path, extra: list[str]) -> subprocess.Popen:
    args = [sys.executable, "-m", "pipeline.train", *TINY, f"paths.root={root}", *extra]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def test_killed_training_resumes_from_its_checkpoint(tiny_project):
    extra = ["train.max_epochs=6", "train.patience=50", "paths.models=models_resume"]
    state = tiny_project / "models_resume" / "checkpoint" / "state.json"
    proc = _train_cli(tiny_project, extra)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if state.is_file() and json.loads(state.read_text())["epochs_done"] >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "training ended before it could be killed:\n" + proc.stdout.read()
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    done_before = json.loads(state.read_text())["epochs_done"]
    assert 2 <= done_before < 6

    refused = _train_cli(tiny_project, [*extra, "model.rnn=transformer"])
    output, _ = refused.communicate(timeout=300)
    assert refused.returncode == 1
    assert "error: model.rnn must be lstm or gru, got 'transformer'" in output
    assert json.loads(state.read_text())["epochs_done"] == done_before, "checkpoint kept"

    rerun = _train_cli(tiny_project, extra)
    output, _ = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, output
    assert f"after epoch {done_before}" in output
    models = tiny_project / "models_resume"
    history = (models / "train_history.csv").read_text().splitlines()[1:]
    epochs = [int(line.split(",")[0]) for line in history]
    assert epochs == list(range(6)), "each epoch exactly once, continuing after the kill"
    assert not (models / "checkpoint").exists()

    run_id = json.loads((models / "run.json").read_text())["run_id"]
    client = MlflowClient(f"sqlite:///{tiny_project / 'mlflow.db'}")
    steps = [m.step for m in client.get_metric_history(run_id, "val_cer")]
    assert sorted(steps) == list(range(6)), "one MLflow run, per-epoch steps continue"


def test_training_run_is_recorded_in_mlflow(tiny_project):
    from pipeline.training.trainer import train

    cfg = compose([*TINY, "paths.models=models_mlflow", "train.max_epochs=2"], root=tiny_project)
    result = train(cfg)
    client = MlflowClient(f"sqlite:///{tiny_project / 'mlflow.db'}")
    run = client.get_run(result.run_id)
    params = run.data.params
    assert params["model.rnn_units"] == "64" and params["train.batch_size"] == "16"
    assert params["data.name"] == "tiny"
    for key in ("loss", "val_loss", "val_cer", "val_word_accuracy", "lr", "images_per_s"):
        assert [m.step for m in client.get_metric_history(result.run_id, key)] == [0, 1], key
    assert run.data.tags["data_fingerprint"] not in ("", "unknown")
    artifacts = {a.path for a in client.list_artifacts(result.run_id)}
    assert {"config.yaml", "charset.json", "corpus.txt", "plots"} <= artifacts
    plots = {a.path for a in client.list_artifacts(result.run_id, "plots")}
    assert {"plots/training_curves.png", "plots/val_samples.png"} <= plots
    logged = client.search_logged_models(experiment_ids=[run.info.experiment_id])
    assert any(m.source_run_id == result.run_id for m in logged)
    model = keras.models.load_model(result.model_path, safe_mode=True)
    assert model.output_shape[-1] == load_charset(cfg).num_classes
    metrics = json.loads((result.model_path.parent / "train_metrics.json").read_text())
    assert metrics["stop_reason"] == "training budget reached"


MIRRORED = """
import sys, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from pipeline.common.config import compose
from pipeline.training.trainer import train
cfg = compose(sys.argv[2:], root=sys.argv[1])
result = train(cfg)
import pipeline.training.strategy as s
print("REPLICAS", s.make_strategy("mirrored").num_replicas_in_sync, "EPOCHS", result.epochs)
"""


def test_mirrored_strategy_trains_one_epoch_on_two_logical_cpus(tiny_project):
    overrides = [*TINY, "train.strategy=mirrored", "train.max_epochs=1", "paths.models=m_mirror"]
    proc = subprocess.run(
        [sys.executable, "-c", MIRRORED, str(tiny_project), *overrides],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "REPLICAS 2 EPOCHS 1" in proc.stdout
    assert (tiny_project / "m_mirror" / "recognizer.keras").is_file()
