"""Lines end to end on tiny data: the real stages with a variable-width model.

download (synthetic lines) → build_lmdb → train (width-bucketed batches) → evaluate
(CER/WER on lines, registered as its own model) → the registered model reads lines of
different widths. A few epochs only: this checks the path, `dvc exp run -S
data=sample_lines -S model=crnn_line` measures the accuracy (README).
"""

from __future__ import annotations

import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient

from pipeline.common.errors import HTRError
from pipeline.data import load_charset, split_store
from pipeline.inference.recognizer import Recognizer
from pipeline.models.preprocess import WIDTH_BUCKET
from pipeline.tracking.registry import DATA_NAME_TAG, registered_model_name
from pipeline.training.batches import model_batches
from pipeline.training.trainer import train
from tests.model_fixtures import TinyProject, build_tiny_project, tiny_config

pytestmark = pytest.mark.slow
LINES = (
    "data=tiny_lines",
    "data.sample.n_digits=0",
    "data.sample.n_lines=24",
    "model.variable_width=true",
    "model.width=768",
    "train.max_epochs=2",
    "train.batch_size=4",
)


@pytest.fixture(scope="module")
def lines_project(tmp_path_factory: pytest.TempPathFactory) -> TinyProject:
    return build_tiny_project(tmp_path_factory.mktemp("lines-project"), LINES)


def test_training_batches_hold_lines_of_similar_width(lines_project):
    cfg = lines_project.cfg
    charset = load_charset(cfg)
    widths_seen = set()
    for x, labels in model_batches(cfg, "train", charset, train=True):
        batch_width = x.shape[2]
        assert batch_width % WIDTH_BUCKET == 0 and batch_width <= cfg.model.width
        ink_columns = np.flatnonzero(x.numpy().max(axis=(1, 3)).max(axis=0) > 0)
        assert ink_columns[-1] >= batch_width - WIDTH_BUCKET  # the widest line fills it
        for sample in x.numpy():
            own = np.flatnonzero(sample.max(axis=(0, 2)) > 0)[-1] + 1
            assert own > batch_width - 2 * WIDTH_BUCKET, "a short line in a wide batch"
        assert labels.shape[0] <= cfg.train.batch_size
        widths_seen.add(batch_width)
    assert len(widths_seen) > 1  # lines really come in different widths


def test_lines_are_scored_and_registered_as_their_own_model(lines_project):
    evaluation = lines_project.evaluation
    cfg = lines_project.cfg
    name = registered_model_name(cfg)
    assert name == "htr-tiny-tiny_lines"
    test_lines = len(split_store(cfg, "test"))
    assert evaluation["samples"] == {
        "all": test_lines,
        "words": test_lines,
        "digits": 0,
        "no_ink_found": 0,
    }
    for decoder in cfg.decode.decoders:
        scores = evaluation["decoders"][decoder]
        assert {"cer", "wer", "word_accuracy"} <= set(scores) and 0.0 <= scores["cer"] <= 1.5
    client = MlflowClient(lines_project.tracking_uri)
    champion = client.get_model_version_by_alias(name, cfg.mlflow.champion_alias)
    assert int(champion.version) == 1 and champion.tags[DATA_NAME_TAG] == "tiny_lines"


def test_the_registered_line_model_reads_lines_of_any_width(lines_project):
    cfg = lines_project.cfg
    mlflow.set_tracking_uri(lines_project.tracking_uri)
    recognizer = Recognizer.load(lines_project.champion_uri, cfg.decode)
    assert recognizer.width is None and recognizer.info["input_width"] is None
    # test lines plus some training lines: a tiny test split may hold one width bucket only
    images = [r.image for split in ("test", "train") for r in list(split_store(cfg, split))[:16]]
    inputs = [recognizer.model_input(image, foreign=False) for image in images]
    assert len({x.shape[1] for x in inputs}) > 1
    probs = recognizer.probabilities_of(inputs)
    for x, p in zip(inputs, probs, strict=True):
        assert p.shape == (x.shape[1] // 4, recognizer.charset.num_classes)
    readings = recognizer.read_batch(images, decoder="bestpath", foreign=False)
    assert len(readings) == len(images)
    assert all(reading.model_input.shape[0] == cfg.model.height for reading in readings)


def test_a_model_too_narrow_for_the_longest_line_is_refused_before_training(lines_project):
    cfg = tiny_config(lines_project.root, [*LINES, "model.width=128"])
    with pytest.raises(HTRError, match=r"need at least \d+ CTC time steps"):
        train(cfg)
