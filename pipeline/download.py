"""Stage 1: put a data set in IAM format under `<paths.raw>/<data.name>/`.

`data.source` picks the filler from `pipeline.data.SOURCES` (the offline synthetic set, or
the IAM archives from `data.iam.archive_dir`, the download cache or the FKI site). The
output directory is replaced atomically, with a report describing what it holds.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from omegaconf import DictConfig

from pipeline.common.artifacts import DOWNLOAD_REPORT_FILE
from pipeline.common.atomic import atomic_dir, remove_stale_temporaries
from pipeline.common.config import project_path
from pipeline.common.stage import run_stage
from pipeline.data import fill_raw

log = logging.getLogger(__name__)


def download(cfg: DictConfig) -> Path:
    """Fill `<paths.raw>/<data.name>/` for the configured data set and return its path."""
    out = project_path(cfg, cfg.paths.raw, cfg.data.name)
    remove_stale_temporaries(out.parent)
    with atomic_dir(out) as tmp:
        report = fill_raw(cfg, tmp)
        (tmp / DOWNLOAD_REPORT_FILE).write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    log.info("wrote %s", out)
    return out


main = run_stage(download)

if __name__ == "__main__":
    main()
