"""Put a scored model in the MLflow registry; the champion alias moves only on a better CER."""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from omegaconf import DictConfig

from pipeline import tracking
from pipeline.common.errors import HTRError
from pipeline.data import read_metadata
from pipeline.decoding import DIGIT_DECODER

log = logging.getLogger(__name__)


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


def register_model(
    cfg: DictConfig, run_id: str, flat: dict[str, float], metrics: dict[str, Any]
) -> dict[str, Any]:
    """Register the training run's logged model with its test metrics; say who is champion."""
    fingerprint = str(read_metadata(cfg, "test").get("fingerprint", "unknown"))
    name = tracking.registered_model_name(cfg)
    base = {"registered_model": name, "run_id": run_id, "data_fingerprint": fingerprint}
    if not cfg.mlflow.log_model:
        reason = "not registered: mlflow.log_model is false, so the run logged no model"
        return {**base, "registered": False, "reason": reason}
    model_uri = tracking.logged_model_uri(run_id)
    if model_uri is None:
        raise HTRError(f"training run {run_id} logged no model to register: run the train stage")
    keep = ["test_cer", "test_wer", "test_word_accuracy"]
    keep += [tracking.decoder_metric(d) for d in metrics["decoders"] if d != DIGIT_DECODER]
    keep += [k for k in flat if k.startswith("test_digits_accuracy_")]
    result = tracking.register(
        cfg,
        run_id,
        model_uri,
        {k: flat[k] for k in keep},
        fingerprint,
        "test_cer",
        metrics["protocol"],
    )
    return {**base, "registered": True, "model_uri": model_uri, **asdict(result)}
