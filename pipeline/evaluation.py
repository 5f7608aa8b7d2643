"""Stage 4's library: score the trained model on the test split with every configured decoder.

Inference runs once, batched, through the shared `Recognizer`; each decoder then reads every
sample's probabilities. A sample's latency is its share of its batch's preprocessing and
inference time (batch time / batch size) plus its own decoding time, both by
`time.perf_counter`. On the sample data set digits (MNIST, ids with the digit prefix) are
scored apart from words, by each text decoder and by the digit-constrained decoder.
Results go to `models/metrics.json`, `models/predictions.csv`, two plot CSVs, the training
run in MLflow, and the model registry (`models/registration.json` says what happened).
"""

from __future__ import annotations

import csv
import json
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig
from tqdm import tqdm

from pipeline import metrics as text_scores
from pipeline import registry, tracking
from pipeline.atomic import atomic_file
from pipeline.config import Decoder, Source, project_path
from pipeline.ctc_decoders import DIGITS
from pipeline.errors import HTRError
from pipeline.loader import read_metadata, split_store
from pipeline.recognizer import TEXT_DECODERS, Recognizer
from pipeline.sample_data import DIGIT_PREFIX
from pipeline.trainer import MODEL_FILE, RUN_FILE

log = logging.getLogger(__name__)

METRICS_FILE = "metrics.json"
PREDICTIONS_FILE = "predictions.csv"
REGISTRATION_FILE = "registration.json"
PLOTS_DIR = "plots"
CER_BY_LENGTH_FILE = "cer_by_length.csv"
CONFUSIONS_FILE = "confusions.csv"
TOP_CONFUSIONS = 30
NOTHING = "∅"
DIGIT = Decoder.digit.value


@dataclass(frozen=True)
class SplitSamples:
    """The test split in store order; `is_digit` marks the sample data set's MNIST digits."""

    ids: list[str]
    texts: list[str]
    is_digit: list[bool]
    images: list[np.ndarray]


@dataclass(frozen=True)
class DecoderRun:
    """One decoder's best reading and latency (ms) per sample it read."""

    decoder: str
    indices: list[int]
    predictions: list[str]
    latency_ms: list[float]


def load_test_set(cfg: DictConfig) -> SplitSamples:
    """Every sample of the test split (HTRError when it is missing or empty)."""
    store = split_store(cfg, "test")
    if len(store) == 0:
        raise HTRError(f"the test split of {cfg.data.name!r} at {store.path} is empty")
    samples = list(tqdm(store, total=len(store), desc="load test split", unit="img"))
    digits = cfg.data.source == Source.sample
    return SplitSamples(
        ids=[s.id for s in samples],
        texts=[s.text for s in samples],
        is_digit=[digits and s.id.startswith(DIGIT_PREFIX) for s in samples],
        images=[s.image for s in samples],
    )


def infer(
    recognizer: Recognizer, images: Sequence[np.ndarray], batch_size: int
) -> tuple[list[np.ndarray], np.ndarray]:
    """Probabilities [T_i, C] of test images, and each one's share (ms) of its batch's time."""
    probs, share = [], []
    bar = tqdm(total=len(images), desc="inference", unit="img")
    for start in range(0, len(images), batch_size):
        chunk = images[start : start + batch_size]
        started = time.perf_counter()
        inputs = [recognizer.model_input(image, foreign=False) for image in chunk]
        probs += recognizer.probabilities_of(inputs)
        share += [(time.perf_counter() - started) * 1000.0 / len(chunk)] * len(chunk)
        bar.update(len(chunk))
    bar.close()
    return probs, np.array(share)


def run_decoder(
    recognizer: Recognizer,
    probs: Sequence[np.ndarray],
    decoder: str,
    indices: Sequence[int],
    inference_ms: np.ndarray,
) -> DecoderRun:
    """Decode the given samples with one decoder, timing each decoding."""
    mode = "digit" if decoder == DIGIT else "text"
    predictions, latency = [], []
    for i in tqdm(indices, desc=f"decode {decoder}", unit="img"):
        started = time.perf_counter()
        best = recognizer.decode(probs[i], decoder, mode, top_k=1)
        latency.append(inference_ms[i] + (time.perf_counter() - started) * 1000.0)
        predictions.append(best[0].text if best else "")
    return DecoderRun(decoder, list(indices), predictions, latency)


def _round(value: float) -> float:
    return round(float(value), 6)


def _latency(run: DecoderRun) -> dict[str, float]:
    values = np.asarray(run.latency_ms)
    return {
        "latency_ms_mean": _round(values.mean()),
        "latency_ms_p95": _round(np.percentile(values, 95)),
    }


def score_text(run: DecoderRun, test: SplitSamples) -> dict[str, Any]:
    """CER, WER, word accuracy and latency of a text decoder; words and digits apart if any."""
    truths = [test.texts[i] for i in run.indices]
    scores = {k: _round(v) for k, v in text_scores.text_metrics(truths, run.predictions).items()}
    scores.update(_latency(run))
    digit = [test.is_digit[i] for i in run.indices]
    if any(digit):
        words = [(t, p) for t, p, d in zip(truths, run.predictions, digit, strict=True) if not d]
        if words:
            w_truths, w_preds = zip(*words, strict=True)
            scores["words"] = {
                k: _round(v) for k, v in text_scores.text_metrics(w_truths, w_preds).items()
            }
        digits = [(t, p) for t, p, d in zip(truths, run.predictions, digit, strict=True) if d]
        d_truths, d_preds = zip(*digits, strict=True)
        scores["digits"] = {
            "accuracy": _round(text_scores.word_accuracy(d_truths, d_preds)),
            "cer": _round(text_scores.cer(d_truths, d_preds)),
        }
    return scores


def score_digits(run: DecoderRun, test: SplitSamples) -> dict[str, Any]:
    """Accuracy and latency of the digit-constrained decoder on the digit samples."""
    truths = [test.texts[i] for i in run.indices]
    accuracy = text_scores.word_accuracy(truths, run.predictions)
    return {"digits": {"accuracy": _round(accuracy)}, **_latency(run)}


def align(reference: str, hypothesis: str) -> list[tuple[str, str]]:
    """A minimal Levenshtein alignment as (reference char, hypothesis char) pairs, "" for a gap.

    The pairs that differ number exactly `editdistance.eval(reference, hypothesis)`.
    """
    n, m = len(reference), len(hypothesis)
    cost = np.zeros((n + 1, m + 1), dtype=np.int32)
    cost[:, 0] = np.arange(n + 1)
    cost[0, :] = np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost[i, j] = min(
                cost[i - 1, j - 1] + (reference[i - 1] != hypothesis[j - 1]),
                cost[i - 1, j] + 1,
                cost[i, j - 1] + 1,
            )
    pairs: list[tuple[str, str]] = []
    i, j = n, m
    while i > 0 or j > 0:
        if (
            i > 0
            and j > 0
            and cost[i, j] == cost[i - 1, j - 1] + (reference[i - 1] != hypothesis[j - 1])
        ):
            pairs.append((reference[i - 1], hypothesis[j - 1]))
            i, j = i - 1, j - 1
        elif i > 0 and cost[i, j] == cost[i - 1, j] + 1:
            pairs.append((reference[i - 1], ""))
            i -= 1
        else:
            pairs.append(("", hypothesis[j - 1]))
            j -= 1
    return pairs[::-1]


def confusions(
    references: Sequence[str], hypotheses: Sequence[str], top: int = TOP_CONFUSIONS
) -> list[tuple[str, str, int]]:
    """The `top` most frequent (truth, prediction) character errors; "" marks a gap."""
    counts: Counter[tuple[str, str]] = Counter()
    for reference, hypothesis in zip(references, hypotheses, strict=True):
        counts.update(pair for pair in align(reference, hypothesis) if pair[0] != pair[1])
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [(truth, prediction, count) for (truth, prediction), count in ranked[:top]]


def _shown(char: str) -> str:
    return NOTHING if char == "" else "␣" if char == " " else char


def cer_by_length(
    test: SplitSamples, runs: Sequence[DecoderRun], best: str
) -> list[dict[str, float | int]]:
    """Per text length: sample count, the best decoder's CER and every text decoder's CER."""
    rows = []
    for length in sorted({len(text) for text in test.texts}):
        chosen = [i for i, text in enumerate(test.texts) if len(text) == length]
        row: dict[str, float | int] = {"length": length, "samples": len(chosen)}
        for run in runs:
            predicted = dict(zip(run.indices, run.predictions, strict=True))
            truths = [test.texts[i] for i in chosen]
            row[f"cer_{run.decoder}"] = _round(
                text_scores.cer(truths, [predicted[i] for i in chosen])
            )
        rows.append({**row, "cer": row[f"cer_{best}"]})
    return rows


def write_csv(path: Path, rows: Sequence[dict[str, Any]], fields: Sequence[str]) -> Path:
    """Atomically write dict rows as CSV with the given column order."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path, "w") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(fields), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_json(path: Path, data: Any) -> Path:
    """Atomically write JSON (indented, for DVC and people)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path, "w") as handle:
        json.dump(data, handle, indent=2, ensure_ascii=False)
        handle.write("\n")
    return path


def prediction_rows(test: SplitSamples, runs: Sequence[DecoderRun]) -> list[dict[str, Any]]:
    """One row per test sample: id, kind, truth, and each decoder's prediction and CER."""
    rows: list[dict[str, Any]] = [
        {"id": sid, "kind": "digit" if digit else "text", "truth": text}
        for sid, text, digit in zip(test.ids, test.texts, test.is_digit, strict=True)
    ]
    for run in runs:
        for i, prediction in zip(run.indices, run.predictions, strict=True):
            rows[i][f"prediction_{run.decoder}"] = prediction
            error = text_scores.sample_cer(test.texts[i], prediction)
            rows[i][f"cer_{run.decoder}"] = _round(error)
    return rows


def flat_metrics(metrics: dict[str, Any], prefix: str = "test") -> dict[str, float]:
    """MLflow metric names: `test_<key>_<decoder>` (e.g. test_cer_beam, test_words_cer_beam)."""
    flat: dict[str, float] = {}
    for decoder, scores in metrics["decoders"].items():
        for key, value in scores.items():
            if isinstance(value, dict):
                for sub, number in value.items():
                    flat[f"{prefix}_{key}_{sub}_{decoder}"] = number
            else:
                flat[f"{prefix}_{key}_{decoder}"] = value
    best = metrics["decoders"][metrics["best_decoder"]]
    for key in ("cer", "wer", "word_accuracy"):
        flat[f"{prefix}_{key}"] = best[key]
    return flat


def training_model_uri(run_id: str) -> str | None:
    """The URI of the newest model the training run logged, or None."""
    from mlflow import MlflowClient

    client = MlflowClient()
    run = client.get_run(run_id)
    logged = client.search_logged_models(
        experiment_ids=[run.info.experiment_id],
        filter_string=f"source_run_id = '{run_id}'",
        order_by=[{"field_name": "creation_timestamp", "ascending": False}],
    )
    return logged[0].model_uri if logged else None


def _decoders(
    cfg: DictConfig, recognizer: Recognizer, test: SplitSamples
) -> tuple[list[str], bool]:
    """The text decoders to report, and whether the digit decoder runs too."""
    names = [str(d) for d in cfg.decode.decoders]
    text = [d for d in dict.fromkeys(names) if d in TEXT_DECODERS]
    if not text:
        raise HTRError(f"decode.decoders {names} names no text decoder ({TEXT_DECODERS})")
    missing = [d for d in DIGITS if d not in recognizer.charset.chars]
    if missing and any(test.is_digit):
        log.warning("digit decoder skipped: the charset lacks digits %s", "".join(missing))
    elif DIGIT in names and not any(test.is_digit):
        log.warning("digit decoder skipped: the test split has no digit samples")
    return text, bool(any(test.is_digit) and not missing)


def score(
    cfg: DictConfig, recognizer: Recognizer
) -> tuple[dict[str, Any], SplitSamples, list[DecoderRun]]:
    """Read the test split once and score every decoder; returns (metrics, test set, runs)."""
    test = load_test_set(cfg)
    text_decoders, with_digits = _decoders(cfg, recognizer, test)
    probs, inference_ms = infer(recognizer, test.images, cfg.decode.batch_size)
    every = list(range(len(test.ids)))
    runs = [run_decoder(recognizer, probs, d, every, inference_ms) for d in text_decoders]
    decoders = {run.decoder: score_text(run, test) for run in runs}
    best = min(text_decoders, key=lambda d: decoders[d]["cer"])
    if with_digits:
        digit_indices = [i for i in every if test.is_digit[i]]
        runs.append(run_decoder(recognizer, probs, DIGIT, digit_indices, inference_ms))
        decoders[DIGIT] = score_digits(runs[-1], test)
    n_digits = sum(test.is_digit)
    metrics = {
        "samples": {"all": len(every), "words": len(every) - n_digits, "digits": n_digits},
        "best_decoder": best,
        "test_cer": decoders[best]["cer"],
        "inference_ms_per_image": _round(inference_ms.mean()),
        "decoders": decoders,
    }
    return metrics, test, runs


def write_reports(
    models: Path, metrics: dict[str, Any], test: SplitSamples, runs: Sequence[DecoderRun]
) -> dict[str, Path]:
    """Write metrics.json, predictions.csv and the plot CSVs; return artifact name -> path."""
    best = metrics["best_decoder"]
    text_runs = [run for run in runs if run.decoder != DIGIT]
    rows = prediction_rows(test, runs)
    fields = ["id", "kind", "truth"]
    for run in runs:
        fields += [f"prediction_{run.decoder}", f"cer_{run.decoder}"]
    by_length = cer_by_length(test, text_runs, best)
    best_run = next(run for run in runs if run.decoder == best)
    truths = [test.texts[i] for i in best_run.indices]
    pairs = [
        {"pair": f"{_shown(t)}→{_shown(p)}", "truth": t, "prediction": p, "count": n}
        for t, p, n in confusions(truths, best_run.predictions)
    ]
    plots = models / PLOTS_DIR
    return {
        METRICS_FILE: write_json(models / METRICS_FILE, metrics),
        PREDICTIONS_FILE: write_csv(models / PREDICTIONS_FILE, rows, fields),
        f"{PLOTS_DIR}/{CER_BY_LENGTH_FILE}": write_csv(
            plots / CER_BY_LENGTH_FILE, by_length, list(by_length[0])
        ),
        f"{PLOTS_DIR}/{CONFUSIONS_FILE}": write_csv(
            plots / CONFUSIONS_FILE, pairs, ["pair", "truth", "prediction", "count"]
        ),
    }


def register_model(
    cfg: DictConfig, run_id: str, flat: dict[str, float], metrics: dict[str, Any]
) -> dict[str, Any]:
    """Register the training run's logged model with its test metrics; say who is champion."""
    fingerprint = str(read_metadata(cfg, "test").get("fingerprint", "unknown"))
    name = registry.registered_model_name(cfg)
    base = {"registered_model": name, "run_id": run_id, "data_fingerprint": fingerprint}
    if not cfg.mlflow.log_model:
        reason = "not registered: mlflow.log_model is false, so the run logged no model"
        return {**base, "registered": False, "reason": reason}
    model_uri = training_model_uri(run_id)
    if model_uri is None:
        raise HTRError(f"training run {run_id} logged no model to register: run the train stage")
    keep = ["test_cer", "test_wer", "test_word_accuracy"]
    keep += [registry.decoder_metric(d) for d in metrics["decoders"] if d != DIGIT]
    keep += [k for k in flat if k.startswith("test_digits_accuracy_")]
    result = registry.register(
        cfg, run_id, model_uri, {k: flat[k] for k in keep}, fingerprint, "test_cer"
    )
    return {**base, "registered": True, "model_uri": model_uri, **asdict(result)}


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """Score models/recognizer.keras on the test split, log into its training run, register it."""
    models = project_path(cfg, cfg.paths.models)
    run = tracking.read_run_file(models / RUN_FILE)
    tracking.configure(cfg)
    _check_run(run.run_id, tracking.tracking_uri_for(cfg))
    recognizer = Recognizer.load(str(models / MODEL_FILE), cfg.decode, root=cfg.paths.root)
    metrics, test, runs = score(cfg, recognizer)
    files = write_reports(models, metrics, test, runs)
    flat = flat_metrics(metrics)
    tracking.log_metrics(run.run_id, flat)
    tracking.log_artifacts(run.run_id, {f"evaluation/{k}": v for k, v in files.items()})
    registration = register_model(cfg, run.run_id, flat, metrics)
    write_json(models / REGISTRATION_FILE, registration)
    return {**metrics, "registration": registration}


def _check_run(run_id: str, tracking_uri: str) -> None:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    try:
        MlflowClient(tracking_uri).get_run(run_id)
    except MlflowException as err:
        raise HTRError(
            f"training run {run_id} (from {RUN_FILE}) is not in the MLflow store "
            f"{tracking_uri}: {err.message.splitlines()[0]}"
        ) from err
