"""Stage 4: scores per decoder, report files, logging into the training run, registration."""

from __future__ import annotations

import csv
import json
from itertools import product
from pathlib import Path
from typing import TYPE_CHECKING

import editdistance
import keras
import numpy as np
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from mlflow import MlflowClient

from pipeline import tracking
from pipeline.common import metrics
from pipeline.common.config import compose
from pipeline.common.errors import HTRError
from pipeline.data import read_metadata
from pipeline.evaluation import evaluate
from pipeline.evaluation.registration import flat_metrics
from pipeline.evaluation.reports import align, cer_by_length, confusions
from pipeline.evaluation.scoring import DecoderRun, SplitSamples, score_text
from pipeline.inference import Recognizer
from pipeline.models import LOGITS_LAYER

if TYPE_CHECKING:
    from tests.model_fixtures import TinyProject

pytest_plugins = ["tests.model_fixtures"]

ROOT = Path(__file__).resolve().parents[3]


@given(st.text("abc ", max_size=7), st.text("abc ", max_size=7))
def test_alignment_is_a_minimal_edit_script(reference: str, hypothesis: str) -> None:
    pairs = align(reference, hypothesis)
    assert "".join(r for r, _ in pairs) == reference
    assert "".join(h for _, h in pairs) == hypothesis
    assert all(r or h for r, h in pairs)
    assert sum(r != h for r, h in pairs) == editdistance.eval(reference, hypothesis)


def test_alignment_matches_brute_force_distance_on_short_strings() -> None:
    def brute(a: str, b: str) -> int:
        if not a or not b:
            return len(a) + len(b)
        return min(brute(a[1:], b) + 1, brute(a, b[1:]) + 1, brute(a[1:], b[1:]) + (a[0] != b[0]))

    for a, b in product(["", "a", "ab", "ba", "abb"], ["", "b", "ab", "bba", "aab"]):
        assert sum(r != h for r, h in align(a, b)) == brute(a, b)


def test_confusions_count_substitutions_deletions_and_insertions() -> None:
    found = confusions(["cat", "cat", "dog", "ab"], ["cot", "cot", "do", "abc"])
    assert found == [("a", "o", 2), ("", "c", 1), ("g", "", 1)]
    assert confusions(["same"], ["same"]) == []
    assert len(confusions(["abcdef"], ["uvwxyz"], top=3)) == 3


def small_test_set() -> SplitSamples:
    texts = ["cat", "dog", "7", "3"]
    return SplitSamples(
        ids=["s1", "s2", "d1", "d2"],
        texts=texts,
        is_digit=[False, False, True, True],
        images=[np.zeros((4, 4, 1), np.uint8)] * 4,
    )


def test_words_and_digits_are_scored_apart() -> None:
    run = DecoderRun("beam", [0, 1, 2, 3], ["cat", "dig", "7", "8"], [1.0, 2.0, 3.0, 10.0])
    scores = score_text(run, small_test_set())
    assert scores["cer"] == pytest.approx(2 / 8, abs=1e-6)
    assert scores["word_accuracy"] == 0.5
    assert scores["words"] == {
        "cer": pytest.approx(1 / 6, abs=1e-6),
        "wer": 0.5,
        "word_accuracy": 0.5,
    }
    assert scores["digits"] == {"accuracy": 0.5, "cer": 0.5}
    assert scores["latency_ms_mean"] == 4.0
    assert scores["latency_ms_p95"] == pytest.approx(np.percentile([1, 2, 3, 10], 95))


def test_cer_by_length_groups_samples_by_their_text_length() -> None:
    test = small_test_set()
    runs = [
        DecoderRun("bestpath", [0, 1, 2, 3], ["cat", "dog", "1", "3"], [1.0] * 4),
        DecoderRun("beam", [0, 1, 2, 3], ["cut", "dog", "7", "3"], [1.0] * 4),
    ]
    rows = cer_by_length(test, runs, best="beam")
    assert rows == [
        {"length": 1, "samples": 2, "cer_bestpath": 0.5, "cer_beam": 0.0, "cer": 0.0},
        {"length": 3, "samples": 2, "cer_bestpath": 0.0, "cer_beam": 0.166667, "cer": 0.166667},
    ]


def test_flat_metric_names_carry_the_decoder() -> None:
    nested = {
        "best_decoder": "beam",
        "decoders": {
            "beam": {"cer": 0.1, "wer": 0.3, "word_accuracy": 0.7, "words": {"cer": 0.2}},
            "digit": {"digits": {"accuracy": 0.9}, "latency_ms_mean": 2.0},
        },
    }
    assert flat_metrics(nested) == {
        "test_cer_beam": 0.1,
        "test_wer_beam": 0.3,
        "test_word_accuracy_beam": 0.7,
        "test_words_cer_beam": 0.2,
        "test_digits_accuracy_digit": 0.9,
        "test_latency_ms_mean_digit": 2.0,
        "test_cer": 0.1,
        "test_wer": 0.3,
        "test_word_accuracy": 0.7,
    }


def test_evaluate_without_a_training_run_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(HTRError, match=r"run file not found: .*models/run\.json"):
        evaluate(compose(["data=tiny"], root=tmp_path))


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
def test_evaluate_scores_every_decoder_and_writes_its_reports(tiny_project: TinyProject) -> None:
    cfg, models = tiny_project.cfg, tiny_project.models
    result = tiny_project.evaluation
    written = json.loads((models / "metrics.json").read_text())
    assert written == {k: v for k, v in result.items() if k != "registration"}
    decoders = written["decoders"]
    assert list(decoders) == [str(d) for d in cfg.decode.decoders] + ["digit"]
    assert written["samples"]["digits"] > 0 and written["samples"]["words"] > 0
    text = [d for d in decoders if d != "digit"]
    assert written["best_decoder"] == min(text, key=lambda d: decoders[d]["cer"])
    assert written["test_cer"] == decoders[written["best_decoder"]]["cer"]
    for name in text:
        assert {"cer", "wer", "word_accuracy", "latency_ms_mean", "words", "digits"} <= set(
            decoders[name]
        )
        assert decoders[name]["latency_ms_p95"] > 0
    assert 0.0 <= decoders["digit"]["digits"]["accuracy"] <= 1.0

    rows = read_csv(models / "predictions.csv")
    assert len(rows) == written["samples"]["all"]
    for name in text:  # the file holds exactly the predictions that were scored
        truths = [row["truth"] for row in rows]
        cer = metrics.cer(truths, [row[f"prediction_{name}"] for row in rows])
        assert cer == pytest.approx(decoders[name]["cer"], abs=1e-6)
    digit_rows = [row for row in rows if row["kind"] == "digit"]
    assert len(digit_rows) == written["samples"]["digits"]
    assert all(row["prediction_digit"] in "0123456789" for row in digit_rows)
    assert written["protocol"] == "as-drawn"
    assert written["samples"]["no_ink_found"] == 0


@pytest.mark.slow
def test_the_test_split_is_read_as_the_app_reads_an_image(tiny_project: TinyProject) -> None:
    """Evaluation's readings are the app's (`read_batch`, foreign images: crop to the ink),
    and an image in which the app finds no ink reads as "" and is counted."""
    from pipeline.evaluation.scoring import infer, load_test_set, run_decoder

    cfg = tiny_project.cfg
    recognizer = Recognizer.load(str(tiny_project.models / "recognizer.keras"), cfg.decode)
    test = load_test_set(cfg)
    images = [*test.images[:6], np.full_like(test.images[0], 235)]  # the last: blank paper
    probs, ms = infer(recognizer, images, batch_size=4)
    assert [p is None for p in probs] == [False] * 6 + [True]
    run = run_decoder(recognizer, probs, "bestpath", list(range(7)), ms)
    app = recognizer.read_batch(images[:6], decoder="bestpath", batch_size=4)
    assert run.predictions == [r.text for r in app] + [""]


@pytest.mark.slow
def test_plot_files_have_the_columns_dvc_yaml_plots(tiny_project: TinyProject) -> None:
    stage = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]["evaluate"]
    plots = {k: v for item in stage["plots"] for k, v in item.items()}
    assert len(plots) == 2
    for path, spec in plots.items():
        with (tiny_project.root / path).open(newline="", encoding="utf-8") as handle:
            columns = next(csv.reader(handle))
        assert {spec["x"], spec["y"]} <= set(columns), path
        assert spec.get("cache") is False
    by_length = read_csv(tiny_project.models / "plots" / "cer_by_length.csv")
    samples = len(read_csv(tiny_project.models / "predictions.csv"))
    assert sum(int(row["samples"]) for row in by_length) == samples


@pytest.mark.slow
def test_evaluate_logs_into_the_training_run_and_registers_a_champion(
    tiny_project: TinyProject,
) -> None:
    client = MlflowClient(tiny_project.tracking_uri)
    run = client.get_run(tiny_project.run_id)
    written = tiny_project.evaluation
    for name in written["decoders"]:
        if name != "digit":
            assert run.data.metrics[f"test_cer_{name}"] == written["decoders"][name]["cer"]
    assert run.data.metrics["test_cer"] == written["test_cer"]
    assert "val_cer" in run.data.metrics  # the same run as training
    artifacts = {a.path for a in client.list_artifacts(tiny_project.run_id, "evaluation")}
    assert {"evaluation/metrics.json", "evaluation/predictions.csv"} <= artifacts

    registration = json.loads((tiny_project.models / "registration.json").read_text())
    assert registration["version"] == 1 and registration["is_champion"]
    assert "first version" in registration["reason"]
    name = registration["registered_model"]
    version = client.get_model_version_by_alias(name, "champion")
    assert int(version.version) == 1 and version.run_id == tiny_project.run_id
    assert float(version.tags["test_cer"]) == written["test_cer"]
    fingerprint = read_metadata(tiny_project.cfg, "test")["fingerprint"]
    assert version.tags["data_fingerprint"] == fingerprint


def blank_model_run(project: TinyProject) -> str:
    """Replace the project's model with one whose every output is the CTC blank (reads "").

    It is trained-run-shaped: a real run with the charset, corpus and logged model, and
    models/run.json pointing at it, as the train stage leaves things.
    """
    cfg, models = project.cfg, project.models
    model = keras.models.load_model(models / "recognizer.keras")
    logits = model.get_layer(LOGITS_LAYER)
    kernel, bias = logits.get_weights()
    bias = np.zeros_like(bias)
    bias[0] = 40.0
    logits.set_weights([np.zeros_like(kernel), bias])
    model.save(models / "recognizer.keras")
    fingerprint = read_metadata(cfg, "train")["fingerprint"]
    run_id = tracking.start_training_run(cfg, fingerprint, run_name="blank")
    chars = json.loads((models / "charset.json").read_text())["chars"]
    tracking.log_run_files(run_id, cfg=cfg, charset=chars)
    tracking.log_artifacts(run_id, {"corpus.txt": models / "corpus.txt"})
    tracking.log_keras_model(run_id, model)
    experiment = tracking.ensure_experiment(cfg)
    tracking.write_run_file(models / "run.json", run_id, experiment, project.tracking_uri)
    return run_id


@pytest.mark.slow
def test_a_worse_model_is_registered_but_does_not_take_the_alias(
    tiny_project: TinyProject, tmp_path: Path
) -> None:
    from tests.model_fixtures import copy_project

    assert tiny_project.evaluation["test_cer"] <= 1.0, "the tiny champion reads worse than blank"
    project = copy_project(tiny_project, tmp_path)
    run_id = blank_model_run(project)
    result = evaluate(project.cfg)
    for name, scores in result["decoders"].items():
        if name != "digit":  # reading "" everywhere: every character and word is missed
            assert (scores["cer"], scores["wer"], scores["word_accuracy"]) == (1.0, 1.0, 0.0)
    registration = result["registration"]
    assert (registration["version"], registration["is_champion"]) == (2, False)
    assert registration["previous_champion"] == 1
    assert "is not lower than" in registration["reason"]
    client = MlflowClient(project.tracking_uri)
    name = registration["registered_model"]
    assert int(client.get_model_version_by_alias(name, "champion").version) == 1
    assert client.get_model_version(name, "2").run_id == run_id
    assert client.get_run(run_id).data.metrics["test_cer"] == 1.0
