"""The `decode` group as the decoders see it, composed from conf/ (the only source of defaults)."""

from __future__ import annotations

from omegaconf import DictConfig

from pipeline.common.config import compose


def decode_config(**values: object) -> DictConfig:
    """decode=tiny (no English lexicon) with `values` overridden."""
    overrides = [f"decode.{k}={'null' if v is None else v}" for k, v in values.items()]
    return compose(["decode=tiny", *overrides]).decode
