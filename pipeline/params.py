"""Write `params.yaml`, the composed default config that plain `dvc repro` reads.

Run `python -m pipeline.params` after changing `conf/` (a test fails while they differ).
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml
from omegaconf import OmegaConf

from pipeline.common.config import CONF_DIR, validate


def composed_default() -> dict:
    """The default composition of `conf/` exactly as DVC's Hydra support writes it.

    Raw (not merged with the schema), so `dvc exp run` without `-S` rewrites an identical
    file and no stage reruns for nothing; the stages validate it when they load it.
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = hydra_compose(config_name="config")
    composed = OmegaConf.to_container(cfg, resolve=True)
    validate(composed)
    return composed


def write_params(path: Path = CONF_DIR.parent / "params.yaml") -> Path:
    """Write the composed default to `path` (DVC's params file)."""
    text = yaml.safe_dump(composed_default(), sort_keys=False)
    Path(path).write_text(text, encoding="utf-8")
    return Path(path)


if __name__ == "__main__":
    print(write_params(Path(sys.argv[1]) if len(sys.argv) > 1 else CONF_DIR.parent / "params.yaml"))
