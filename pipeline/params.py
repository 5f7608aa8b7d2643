"""Write `params.yaml`, the composed default config that plain `dvc repro` reads.

Run `python -m pipeline.params` after changing `conf/` (a test fails while they differ).
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml
from omegaconf import OmegaConf

from pipeline.config import CONF_DIR, compose


def composed_default() -> dict:
    """The default composition of `conf/` as plain data."""
    return OmegaConf.to_container(compose(), resolve=True, enum_to_str=True)


def write_params(path: Path = CONF_DIR.parent / "params.yaml") -> Path:
    """Write the composed default to `path` (DVC's params file)."""
    text = yaml.safe_dump(composed_default(), sort_keys=False)
    Path(path).write_text(text, encoding="utf-8")
    return Path(path)


if __name__ == "__main__":
    print(write_params(Path(sys.argv[1]) if len(sys.argv) > 1 else CONF_DIR.parent / "params.yaml"))
