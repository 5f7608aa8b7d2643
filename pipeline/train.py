"""Stage 3 `train`: LMDB store → models/recognizer.keras, metrics, MLflow run (thin shell)."""

from __future__ import annotations

import logging

from omegaconf import DictConfig

from pipeline.common.stage import run_stage

log = logging.getLogger(__name__)


def _train(cfg: DictConfig) -> object:
    # imported here so a config error is reported before TensorFlow loads (and logs)
    from pipeline.training import train

    result = train(cfg)
    log.info(
        "best val CER %.4f at epoch %d of %d (%.1f min); model %s; MLflow run %s",
        result.best_val_cer,
        result.best_epoch,
        result.epochs,
        result.seconds / 60,
        result.model_path,
        result.run_id,
    )
    return result


main = run_stage(_train)

if __name__ == "__main__":
    main()
