"""MLflow tracking against a real SQLite store in tmp_path with a tiny real Keras model."""

from __future__ import annotations

import json
import os
import subprocess
import zipfile
from pathlib import Path

import keras
import mlflow
import numpy as np
import pytest
import yaml
from mlflow import MlflowClient
from mlflow.models import Model
from omegaconf import OmegaConf
from PIL import Image

from pipeline import tracking
from pipeline.common.charset import Charset
from pipeline.common.config import compose
from pipeline.common.errors import HTRError

SECRET = "hunter2-Zq9-not-a-real-password"


def build_tiny_model(n_chars: int = 10) -> keras.Model:
    """Image [32, 128, 1] -> per-step probabilities [32, n_chars]; no Lambda layers."""
    image = keras.Input((32, 128, 1), name="image")
    x = keras.layers.Conv2D(4, 3, strides=(32, 4), padding="same", activation="relu")(image)
    x = keras.layers.Reshape((32, 4))(x)
    out = keras.layers.Dense(n_chars, activation="softmax")(x)
    return keras.Model(image, out)


def random_data(n: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.random((n, 32, 128, 1), dtype=np.float32)
    y = keras.utils.to_categorical(rng.integers(0, 10, (n, 32)), 10)
    return x, y


class FakeCer(keras.callbacks.Callback):
    """Stands for the trainer's validation decoder: puts val_cer into the shared logs."""

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs["val_cer"] = 0.5 - 0.1 * epoch


def fit(model: keras.Model, run_id: str, epochs: int, initial_epoch: int = 0) -> dict:
    x, y = random_data()
    callbacks = [FakeCer(), tracking.MlflowEpochLogger(run_id)]
    history = model.fit(
        x,
        y,
        validation_split=0.25,
        batch_size=8,
        epochs=epochs,
        initial_epoch=initial_epoch,
        callbacks=callbacks,
        verbose=0,
    )
    return history.history


@pytest.fixture
def project(fresh_store: Path) -> Path:
    """A project root holding a fresh copy of the empty store."""
    return fresh_store


@pytest.fixture
def cfg(project: Path):
    return compose(["data=tiny"], root=project)


def steps(client: MlflowClient, run_id: str, key: str) -> list[tuple[int, float]]:
    return sorted((m.step, m.value) for m in client.get_metric_history(run_id, key))


def test_configure_puts_store_and_artifacts_under_root(cfg, tmp_path: Path) -> None:
    uri = tracking.configure(cfg)
    assert uri == f"sqlite:///{tmp_path.resolve()}/mlflow.db"
    experiment = MlflowClient(uri).get_experiment(tracking.ensure_experiment(cfg))
    assert experiment.name == "htr-tiny"
    assert experiment.artifact_location == "mlartifacts/htr-tiny"  # beside the store
    assert tracking.ensure_experiment(cfg) == experiment.experiment_id


def test_http_uri_is_used_as_is(tmp_path: Path) -> None:
    cfg = compose(["mlflow.tracking_uri=http://mlflow.example:5000"], root=tmp_path)
    assert tracking.tracking_uri_for(cfg) == "http://mlflow.example:5000"


def test_run_has_flattened_params_and_tags(cfg) -> None:
    run_id = tracking.start_training_run(cfg, "fp-123", tags={"stage": "train"})
    run = MlflowClient().get_run(run_id)
    params = run.data.params
    assert params["data.name"] == "tiny"
    assert params["data.sample.n_words"] == "48"
    assert params["mlflow.champion_alias"] == "champion"
    assert json.loads(params["data.sample.held_out_fonts"])[0] == "patrick-hand"
    assert all(len(v) <= tracking.MAX_PARAM_LENGTH for v in params.values())
    tags = run.data.tags
    assert tags["data_fingerprint"] == "fp-123"
    assert tags["data_name"] == "tiny"
    assert tags["stage"] == "train"
    assert tags["git_commit"] == "unknown"


def test_long_param_values_are_truncated(tmp_path: Path) -> None:
    cfg = compose(["data=tiny", f"data.extra=[{'w' * 700}]"], root=tmp_path)
    value = tracking.flatten_params(cfg)["data.extra"]
    assert len(value) == tracking.MAX_PARAM_LENGTH
    assert value.endswith("...")


def test_secret_names_are_matched_by_word(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MY_TOKEN_ENABLED", "1")  # flags under secret-looking names are no secret
    monkeypatch.setenv("API_KEY", "true")
    params = tracking.flatten_params(compose(["data=tiny"], root=tmp_path))
    assert (params["data.sample.workers"], params["data.fast"]) == ("1", "True")
    raw = OmegaConf.create({"svc": {"apiKey": "x", "monkey": "y", "db_password": "z"}, "n": 3})
    assert tracking.flatten_params(raw) == {"svc.monkey": "y", "n": "3"}


def test_git_tags_follow_the_repository(tmp_path: Path) -> None:
    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t", *args],
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    git("init", "-q")
    (tmp_path / "a.txt").write_text("a")
    git("add", "a.txt")
    git("commit", "-qm", "init")
    tags = tracking.git_tags(tmp_path)
    assert tags["git_commit"] == git("rev-parse", "HEAD")
    assert tags["git_dirty"] == "false"
    (tmp_path / "a.txt").write_text("changed")
    assert tracking.git_tags(tmp_path)["git_dirty"] == "true"


def test_epoch_logger_logs_each_epoch_and_resumes_at_the_right_step(cfg) -> None:
    model = build_tiny_model()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy")
    with tracking.training_run(cfg, "fp") as run_id:
        history = fit(model, run_id, epochs=2)
    client = MlflowClient()
    assert client.get_run(run_id).info.status == "FINISHED"
    for key in ("loss", "val_loss", "val_cer", "learning_rate"):
        assert [s for s, _ in steps(client, run_id, key)] == [0, 1], key
    assert [v for _, v in steps(client, run_id, "val_loss")] == pytest.approx(history["val_loss"])
    assert [v for _, v in steps(client, run_id, "val_cer")] == pytest.approx([0.5, 0.4])
    assert steps(client, run_id, "learning_rate")[0][1] == pytest.approx(1e-3)

    with tracking.resume_run(run_id):
        fit(model, run_id, epochs=3, initial_epoch=2)
    assert [s for s, _ in steps(client, run_id, "loss")] == [0, 1, 2]
    assert tracking.last_step(run_id) == 2


def test_failed_training_marks_the_run_failed(cfg) -> None:
    with pytest.raises(RuntimeError), tracking.training_run(cfg, "fp") as run_id:
        raise RuntimeError("diverged")
    assert MlflowClient().get_run(run_id).info.status == "FAILED"


def test_standard_artifacts_are_logged(cfg, tmp_path: Path) -> None:
    run_id = tracking.start_training_run(cfg, "fp")
    rng = np.random.default_rng(1)
    samples = [(rng.random((32, 128)), "cat", "cat"), (rng.random((32, 128, 1)), "dog", "dug")]
    history = {"loss": [3.0, 2.0], "val_loss": [3.5, 2.5], "val_cer": [0.9, 0.7]}
    logged = tracking.log_run_files(
        run_id, cfg=cfg, charset=" 'ab", history=history, samples=samples
    )
    out = Path(MlflowClient().download_artifacts(run_id, "", str(tmp_path / "dl")))
    found = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert (
        found
        == sorted(logged)
        == [
            "charset.json",
            "config.yaml",
            "plots/training_curves.png",
            "plots/val_samples.png",
        ]
    )
    assert Charset.load(out / "charset.json").chars == " 'ab"
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["data"]["sample"]["n_words"] == 48
    assert "hydra" not in config
    for png in ("plots/training_curves.png", "plots/val_samples.png"):
        with Image.open(out / png) as image:
            assert image.format == "PNG"
            assert min(image.size) > 100


def test_log_artifacts_uses_given_names(cfg, tmp_path: Path) -> None:
    run_id = tracking.start_training_run(cfg, "fp")
    source = tmp_path / "whatever.json"
    source.write_text("{}")
    tracking.log_artifacts(run_id, {"metrics/test.json": source})
    assert [a.path for a in MlflowClient().list_artifacts(run_id, "metrics")] == [
        "metrics/test.json"
    ]


def test_logged_model_loads_back_with_the_same_outputs(cfg, tmp_path: Path) -> None:
    model = build_tiny_model()
    run_id = tracking.start_training_run(cfg, "fp")
    uri = tracking.log_keras_model(run_id, model)
    loaded = tracking.load_keras_model(uri)
    x, _ = random_data(4, seed=3)
    np.testing.assert_allclose(loaded(x, training=False), model(x, training=False), rtol=1e-6)

    files = Path(mlflow.artifacts.download_artifacts(uri, dst_path=str(tmp_path / "dl")))
    signature = Model.load(files / "MLmodel").signature
    assert json.loads(signature.to_dict()["inputs"])[0]["tensor-spec"]["shape"] == [-1, 32, 128, 1]
    assert json.loads(signature.to_dict()["outputs"])[0]["tensor-spec"]["shape"] == [-1, 32, 10]
    requirements = files / "requirements.txt"
    assert f"keras=={keras.__version__}" in requirements.read_text().splitlines()


def test_local_keras_file_fallback(tmp_path: Path) -> None:
    model = build_tiny_model()
    path = tmp_path / "model.keras"
    model.save(path)
    x, _ = random_data(2, seed=4)
    np.testing.assert_allclose(tracking.load_keras_model(path)(x), model(x), rtol=1e-6)
    with pytest.raises(HTRError, match="not found"):
        tracking.load_keras_model(tmp_path / "missing.keras")


def _damaged(path: Path, how: str) -> Path:
    """A copy of the .keras archive at `path`, damaged in one way."""
    out = path.with_name(f"{how}.keras")
    data = path.read_bytes()
    if how == "random":
        out.write_bytes(np.random.default_rng(0).bytes(4096))
    elif how == "truncated":
        out.write_bytes(data[: len(data) // 2])
    else:
        with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w") as target:
            for name in source.namelist():
                if how == "no-config" and name == "config.json":
                    continue
                garbage = how == "bad-weights" and name.endswith(".h5")
                target.writestr(name, b"garbage" if garbage else source.read(name))
    return out


@pytest.mark.parametrize(
    ("how", "detail"),
    [
        ("random", "(not a .keras zip archive)"),
        ("truncated", "(not a .keras zip archive)"),
        ("no-config", "There is no item named 'config.json' in the archive"),
        ("bad-weights", "file signature not found"),
    ],
)
def test_a_file_that_is_not_a_keras_model_is_named_in_one_line(tmp_path, how, detail) -> None:
    good = tmp_path / "model.keras"
    build_tiny_model().save(good)
    bad = _damaged(good, how)
    with pytest.raises(HTRError) as info:
        tracking.load_keras_model(bad)
    message = str(info.value)
    assert message.startswith(f"model file {bad} is not a valid Keras model")
    assert detail in message and "\n" not in message
    assert "File not found" not in message


def test_a_model_path_that_is_not_a_file_says_what_it_is(tmp_path) -> None:
    (tmp_path / "folder.keras").mkdir()
    with pytest.raises(HTRError, match=r"folder\.keras is a directory, not a Keras model$"):
        tracking.load_keras_model(tmp_path / "folder.keras")
    loop = tmp_path / "loop.keras"
    os.symlink(loop, loop)
    with pytest.raises(HTRError, match="Too many levels of symbolic links"):
        tracking.load_keras_model(loop)


def test_run_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "models" / "run.json"
    tracking.write_run_file(path, "abc", "1", "https://bob:pw123456@mlflow.example")
    ref = tracking.read_run_file(path)
    assert (ref.run_id, ref.experiment_id) == ("abc", "1")
    assert ref.tracking_uri == "https://bob:***@mlflow.example"
    assert list(path.parent.iterdir()) == [path]
    with pytest.raises(HTRError, match="not found"):
        tracking.read_run_file(tmp_path / "nope.json")
    path.write_text("{")
    with pytest.raises(HTRError, match="malformed"):
        tracking.read_run_file(path)


def test_secret_from_the_environment_never_reaches_mlflow(
    project: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("IAM_PASSWORD", SECRET)
    caplog.set_level("DEBUG")
    cfg = compose(
        [
            "data=tiny",
            "++data.iam.base_url=https://alice:${oc.env:IAM_PASSWORD}@fki.example/data",
            "data.extra=[x${oc.env:IAM_PASSWORD}]",
        ],
        root=project,
    )
    assert SECRET in cfg.data.iam.base_url  # the composed config really holds it
    from pipeline.tracking import registry

    model = build_tiny_model()
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    with tracking.training_run(cfg, "fp", tags={"note": f"pw={SECRET}"}) as run_id:
        history = fit(model, run_id, epochs=1)
        tracking.log_run_files(run_id, cfg=cfg, charset="ab", history=history)
        uri = tracking.log_keras_model(run_id, model)
    registry.register(cfg, run_id, uri, {"test_cer": 0.1}, "fp")

    run = MlflowClient().get_run(run_id)
    assert run.data.params["data.name"] == "tiny"  # the rest of the config is still there
    assert "data.iam.base_url" not in run.data.params
    assert "note" not in run.data.tags
    texts = [*run.data.params.items(), *run.data.tags.items()]
    assert not any(SECRET in k or SECRET in v for k, v in texts)
    stored = [p for p in project.rglob("*") if p.is_file()]
    assert any(p.name == "config.yaml" for p in stored)
    assert any(p.name == "mlflow.db" for p in stored)
    leaks = [p for p in stored if SECRET.encode() in p.read_bytes()]
    assert leaks == []
    assert SECRET not in caplog.text
