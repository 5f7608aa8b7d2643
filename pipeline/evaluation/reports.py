"""Evaluation reports: predictions CSV, metrics JSON, CER by length and confusion pairs."""

from __future__ import annotations

import csv
import json
import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.common import metrics as text_scores
from pipeline.common.artifacts import (
    CER_BY_LENGTH_FILE,
    CONFUSIONS_FILE,
    METRICS_FILE,
    PLOTS_DIR,
    PREDICTIONS_FILE,
)
from pipeline.common.atomic import atomic_file
from pipeline.decoding import DIGIT_DECODER
from pipeline.evaluation.scoring import DecoderRun, SplitSamples, round6

log = logging.getLogger(__name__)


TOP_CONFUSIONS = 30

NOTHING = "∅"


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
            row[f"cer_{run.decoder}"] = round6(
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
            rows[i][f"cer_{run.decoder}"] = round6(error)
    return rows


def write_reports(
    models: Path, metrics: dict[str, Any], test: SplitSamples, runs: Sequence[DecoderRun]
) -> dict[str, Path]:
    """Write metrics.json, predictions.csv and the plot CSVs; return artifact name -> path."""
    best = metrics["best_decoder"]
    text_runs = [run for run in runs if run.decoder != DIGIT_DECODER]
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
