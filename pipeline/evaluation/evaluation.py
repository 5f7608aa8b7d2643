"""Stage 4's library: score the trained model on the test split with every configured decoder.

Inference runs once, batched, through the shared `Recognizer`; each decoder then reads every
sample's probabilities. A sample's latency is its share of its batch's preprocessing and
inference time (batch time / batch size) plus its own decoding time, both by
`time.perf_counter`. On the sample data set digits (MNIST, ids with the digit prefix) are
scored apart from words, by each text decoder and by the digit-constrained decoder.
Results go to `models/metrics.json`, `models/predictions.csv`, two plot CSVs, the training
run in MLflow, and the model registry (`models/registration.json` says what happened); the
files replace the previous set together, once MLflow has them.
"""

from __future__ import annotations

import logging
from typing import Any

from omegaconf import DictConfig

from pipeline import tracking
from pipeline.common.artifacts import (
    MODEL_FILE,
    REGISTRATION_FILE,
    RUN_FILE,
)
from pipeline.common.atomic import atomic_files
from pipeline.common.config import project_path
from pipeline.evaluation.registration import flat_metrics, register_model
from pipeline.evaluation.reports import write_json, write_reports
from pipeline.evaluation.scoring import score
from pipeline.inference import Recognizer

log = logging.getLogger(__name__)


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """Score models/recognizer.keras on the test split, log into its training run, register it.

    The reports are written to a staging folder and move into models/ together only after
    MLflow has logged and registered them: a failure leaves the previous set in place.
    """
    models = project_path(cfg, cfg.paths.models)
    run = tracking.read_run_file(models / RUN_FILE)
    uri = tracking.configure(cfg)
    tracking.check_run(run.run_id, uri, models / RUN_FILE)
    recognizer = Recognizer.load(str(models / MODEL_FILE), cfg.decode, root=cfg.paths.root)
    metrics, test, runs = score(cfg, recognizer)
    with atomic_files(models) as staged:
        files = write_reports(staged, metrics, test, runs)
        flat = flat_metrics(metrics)
        tracking.log_metrics(run.run_id, flat)
        tracking.log_artifacts(run.run_id, {f"evaluation/{k}": v for k, v in files.items()})
        registration = register_model(cfg, run.run_id, flat, metrics)
        write_json(staged / REGISTRATION_FILE, registration)
    return {**metrics, "registration": registration}
