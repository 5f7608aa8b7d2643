"""Every config file composes and validates; params.yaml is the composed default."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipeline.config import CONF_DIR, compose, load_params
from pipeline.errors import HTRError
from pipeline.params import composed_default

GROUPS = sorted(p.name for p in CONF_DIR.iterdir() if p.is_dir())


def test_every_group_has_a_tiny_variant_or_is_paths():
    for group in GROUPS:
        names = {p.stem for p in (CONF_DIR / group).glob("*.yaml")}
        assert "tiny" in names or group == "paths", group


@pytest.mark.parametrize(
    "override",
    [f"{g}={p.stem}" for g in GROUPS for p in sorted((CONF_DIR / g).glob("*.yaml"))],
)
def test_every_config_file_composes(override, tmp_path):
    cfg = compose([override], root=tmp_path)
    group, choice = override.split("=")
    assert cfg[group] is not None
    assert cfg.paths.root == str(tmp_path)
    if group == "data":
        assert cfg.data.name.startswith(choice.split("_")[0])


def test_params_yaml_is_the_composed_default():
    committed = yaml.safe_load((CONF_DIR.parent / "params.yaml").read_text())
    assert committed == composed_default(), "run `python -m pipeline.params` after editing conf/"
    assert load_params(CONF_DIR.parent / "params.yaml").data.name == "sample"


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("train.lerning_rate=1e-3", "train.lerning_rate"),
        ("data.seed=abc", "data.seed"),
        ("data.source=ftp", "data.source"),
        ("data=nonexistent", "nonexistent"),
    ],
)
def test_bad_keys_and_values_are_named(override, named):
    with pytest.raises(HTRError, match=named.replace(".", r"\.")):
        compose([override])


def test_unknown_key_in_a_params_file_is_named(tmp_path: Path):
    params = composed_default()
    params["train"]["batchsize"] = 3
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    with pytest.raises(HTRError, match="batchsize"):
        load_params(path)
