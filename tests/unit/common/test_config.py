"""Every config file composes and validates; params.yaml is the composed default."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipeline.common.config import CONF_DIR, compose, load_params
from pipeline.common.errors import HTRError
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


def test_an_unknown_data_source_names_the_registered_ones(tmp_path: Path):
    from pipeline.data import fill_raw

    with pytest.raises(HTRError, match=r"unknown data\.source .ftp.; choose one of sample, iam"):
        fill_raw(compose(["data.source=ftp"], root=tmp_path), tmp_path)


def test_the_schema_has_no_defaults_of_its_own(tmp_path: Path):
    path = tmp_path / "params.yaml"
    path.write_text("")
    with pytest.raises(HTRError, match=r"^invalid config .*params\.yaml: it is empty"):
        load_params(path)
    params = composed_default()
    del params["train"]
    del params["model"]["rnn_units"]
    path.write_text(yaml.safe_dump(params))
    with pytest.raises(
        HTRError, match=r"params\.yaml: missing keys model\.rnn_units, train\.batch_size"
    ):
        load_params(path)


@pytest.mark.parametrize("stage", ["download", "build_lmdb", "train", "evaluate"])
def test_every_stage_stops_on_an_empty_params_file_with_one_line(stage: str, tmp_path: Path):
    (tmp_path / "params.yaml").write_text("")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            f"pipeline.{stage}",
            "-cd",
            str(tmp_path),
            "-cn",
            "params",
            f"hydra.run.dir={tmp_path / 'logs'}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=CONF_DIR.parent,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: invalid config params.yaml: it is empty; compose it from conf/"
    ]
