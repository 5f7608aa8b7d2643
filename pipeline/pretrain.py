"""The frozen `pretrain` stage: the base model every default training starts from.

`python -m pipeline.pretrain -cn pretrain` renders the large synthetic set (`data=pretrain`),
packs it into LMDB, trains the default architecture on it for a long budget
(`train=pretrain`), scores it on that set's test split and writes the model with its card
to `models/pretrained/` (committed to git). The stage is frozen and DVC never runs a frozen
stage, not even `dvc repro -f`: `PRETRAIN_COMMAND` remakes it and records it in dvc.lock. Resumable:
an interrupted run continues from its last epoch when started again.
"""

from __future__ import annotations

import json
import logging

from omegaconf import DictConfig

from pipeline.common.artifacts import (
    DOWNLOAD_REPORT_FILE,
    MODEL_FILE,
    PRETRAIN_COMMAND,
    TRAIN_METRICS_FILE,
)
from pipeline.common.config import project_path
from pipeline.common.stage import run_stage
from pipeline.data import build_lmdb, read_metadata
from pipeline.download import download

log = logging.getLogger(__name__)


def _pretrain(cfg: DictConfig) -> dict:
    from pipeline.evaluation import card, scoring
    from pipeline.inference import Recognizer
    from pipeline.training import train

    raw = project_path(cfg, cfg.paths.raw, cfg.data.name)
    if (raw / DOWNLOAD_REPORT_FILE).is_file():
        log.info("reusing the rendered set in %s (delete it to render again)", raw)
    else:
        download(cfg)
    build_lmdb(cfg)
    result = train(cfg)
    models = project_path(cfg, cfg.paths.models)
    recognizer = Recognizer.load(str(models / MODEL_FILE), cfg.decode, root=cfg.paths.root)
    metrics, _, _ = scoring.score(cfg, recognizer)
    summary = json.loads((models / TRAIN_METRICS_FILE).read_text(encoding="utf-8"))
    training = {
        "epochs": result.epochs,
        "best_epoch": result.best_epoch,
        "best_val_cer": result.best_val_cer,
        "hours": result.seconds / 3600,
        "stop_reason": summary["stop_reason"],
    }
    meta = read_metadata(cfg, "train")
    facts = card.card_facts(
        cfg, PRETRAIN_COMMAND, str(meta.get("fingerprint")), training, metrics, int(meta["count"])
    )
    card.write_card(models, facts)
    log.info(
        "base model in %s: test CER %.4f (%s)", models, metrics["test_cer"], metrics["best_decoder"]
    )
    return facts


main = run_stage(_pretrain)

if __name__ == "__main__":
    main()
