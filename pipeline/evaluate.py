"""Stage 4 `evaluate`: test-split metrics per decoder, MLflow, model registry (thin shell)."""

from __future__ import annotations

import logging
from typing import Any

from omegaconf import DictConfig

from pipeline.common.stage import run_stage

log = logging.getLogger(__name__)


def _evaluate(cfg: DictConfig) -> dict[str, Any]:
    # imported here so a config error is reported before TensorFlow loads (and logs)
    from pipeline.evaluation import evaluate

    result = evaluate(cfg)
    for decoder, scores in result["decoders"].items():
        shown = ", ".join(f"{k} {v:.4g}" for k, v in scores.items() if not isinstance(v, dict))
        log.info("%s: %s", decoder, shown)
    registration = result["registration"]
    log.info("best decoder %s: test CER %.4f", result["best_decoder"], result["test_cer"])
    log.info("%s: %s", registration["registered_model"], registration["reason"])
    return result


main = run_stage(_evaluate)

if __name__ == "__main__":
    main()
