"""Stage entry points: Hydra CLI, config checked first, every user error as one line.

`python -m pipeline.<stage> key=value ...` composes `conf/`; DVC runs
`python -m pipeline.<stage> -cd . -cn params` so the stage reads the composed `params.yaml`
that `dvc exp run -S ...` wrote. Before Hydra runs, the same composition is tried once so
that a bad file, key or choice is reported as one `error:` line instead of Hydra's
multi-line message; `HTR_DEBUG=1` shows tracebacks instead.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from omegaconf import DictConfig

from pipeline.common.config import CONF_DIR, compose_raw, source_name, validate
from pipeline.common.errors import HTRError

T = TypeVar("T")
_VALUE_FLAGS = {"-cd": "dir", "--config-dir": "dir", "-cn": "name", "--config-name": "name"}
DEBUG_ENV = "HTR_DEBUG"


def run_stage(task: Callable[[DictConfig], T]) -> Callable[[], None]:
    """Wrap a stage function as its CLI: check the config, run, turn HTRError into one line."""
    import hydra

    @hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")
    def _main(raw: DictConfig) -> Any:
        with reported_errors():
            return task(validate(raw, source=_config_source()))

    def main() -> None:
        if os.environ.get(DEBUG_ENV) == "1":
            os.environ.setdefault("HYDRA_FULL_ERROR", "1")
        with reported_errors():
            preflight(sys.argv[1:])
        _main()

    return main


class reported_errors:
    """Turn an HTRError into `error: <message>` on stderr and exit status 1."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type | None, err: BaseException | None, tb: Any) -> bool:
        if not isinstance(err, HTRError):
            return False
        if os.environ.get(DEBUG_ENV) == "1":
            traceback.print_exception(err)
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)


def preflight(argv: Sequence[str]) -> None:
    """Compose what Hydra will compose and raise HTRError for a bad file, key or choice.

    Sweeps (`-m`) and Hydra's own flags are left to Hydra.
    """
    options: dict[str, str] = {}
    overrides: list[str] = []
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg in _VALUE_FLAGS and args:
            options[_VALUE_FLAGS[arg]] = args.pop(0)
        elif arg.startswith("-"):
            return  # --multirun, --help, --cfg, ...: Hydra's business
        elif not arg.startswith(("hydra.", "hydra/", "+hydra", "~hydra")):
            overrides.append(arg)
    config_dir = Path(options.get("dir", CONF_DIR)).resolve()
    name = options.get("name", "config")
    name = name.removesuffix(".yaml")
    _check_yaml(config_dir / f"{name}.yaml")
    validate(compose_raw(config_dir, name, overrides), source=source_name(config_dir, name))


def _check_yaml(path: Path) -> None:
    """A config file that is not YAML, named with its line and column."""
    if not path.is_file():
        raise HTRError(f"config file not found: {path}")
    try:
        yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise HTRError(f"invalid YAML in {path}{where}: {problem}") from err


def _config_source() -> str:
    """The file a Hydra stage composed from, for error messages (`params.yaml` under DVC)."""
    from hydra.core.hydra_config import HydraConfig

    name = HydraConfig.get().job.config_name
    return "conf/" if name == "config" else f"{name}.yaml"
