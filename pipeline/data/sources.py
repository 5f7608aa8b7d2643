"""Data sources: how each `data.source` fills a raw IAM-format folder; one entry per source.

A new source is one function `(cfg, out_dir) -> report dict` plus one entry in SOURCES
(and its value in the `Source` enum of the config schema, which the schema test checks).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from omegaconf import DictConfig

from pipeline.common.errors import HTRError
from pipeline.data.iam.unpack import unpack_iam
from pipeline.data.synthetic.sample_data import build_sample

Filler = Callable[[DictConfig, Path], dict]
SAMPLE_SOURCE = "sample"  # the offline set, whose ids tell digits (DIGIT_PREFIX) from words

SOURCES: dict[str, Filler] = {
    SAMPLE_SOURCE: build_sample,
    "iam": unpack_iam,
}


def fill_raw(cfg: DictConfig, out_dir: Path) -> dict:
    """Write the configured source's samples into `out_dir`; return its report."""
    source = str(cfg.data.source)
    if source not in SOURCES:
        raise HTRError(f"unknown data.source {source!r}; choose one of {', '.join(SOURCES)}")
    if cfg.data.get(source) is None:
        raise HTRError(f"data.source={source} needs a data.{source} block in the data config")
    return SOURCES[source](cfg, out_dir)
