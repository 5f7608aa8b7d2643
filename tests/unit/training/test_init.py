"""Starting a training from a saved model (`train.init`): every layer copied, output rows
matched by character, and a clear error for a missing or incompatible base."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from pipeline.common.artifacts import PRETRAIN_COMMAND
from pipeline.common.charset import Charset
from pipeline.common.config import compose
from pipeline.common.errors import HTRError
from pipeline.inference import load_model_files
from pipeline.models import LOGITS_LAYER, Preprocessing, build_crnn
from pipeline.training.init import initialise

ROOT = Path(__file__).resolve().parents[3]

TINY = ["data=tiny", "model=tiny", "train=tiny"]


def _save_base(folder: Path, cfg, chars: str, deslant: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    model = build_crnn(cfg.model, len(chars) + 1)
    model.save(folder / "recognizer.keras")
    Charset(chars).save(folder / "charset.json")
    Preprocessing(deslant=deslant).save(folder / "preprocess.json")
    return folder / "recognizer.keras"


def test_weights_are_copied_and_output_rows_follow_the_characters(tmp_path):
    base_cfg = compose(TINY, root=tmp_path)
    path = _save_base(tmp_path / "base", base_cfg, "abcx")
    cfg = compose([*TINY, f"train.init={path}"], root=tmp_path)
    saved = load_model_files(str(path)).model
    target_charset = Charset("abyz")  # a, b shared; y, z new; c, x dropped
    model = build_crnn(cfg.model, target_charset.num_classes)
    fresh_kernel = model.get_layer(LOGITS_LAYER).get_weights()[0].copy()
    assert initialise(model, target_charset, cfg) == path
    for source, target in zip(saved.layers, model.layers, strict=True):
        if source.name == LOGITS_LAYER:
            continue
        for a, b in zip(source.get_weights(), target.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)
    base_kernel, base_bias = saved.get_layer(LOGITS_LAYER).get_weights()
    kernel, bias = model.get_layer(LOGITS_LAYER).get_weights()
    # class 0 blank, then a b y z here; blank a b c x in the base
    for new, old in ((0, 0), (1, 1), (2, 2)):
        np.testing.assert_array_equal(kernel[:, new], base_kernel[:, old])
        assert bias[new] == base_bias[old]
    np.testing.assert_array_equal(kernel[:, 3:], fresh_kernel[:, 3:])


def test_scratch_when_init_is_null(tmp_path):
    cfg = compose([*TINY, "train.init=null"], root=tmp_path)
    model = build_crnn(cfg.model, 5)
    assert initialise(model, Charset("abcd"), cfg) is None


def test_missing_base_names_the_file_and_the_stage(tmp_path):
    cfg = compose([*TINY, "train.init=pretrained"], root=tmp_path)
    model = build_crnn(cfg.model, 5)
    stage = r"python -m pipeline.pretrain -cn pretrain .* && dvc commit -f pretrain"
    with pytest.raises(HTRError, match=rf"models/pretrained/recognizer.keras.*{stage}"):
        initialise(model, Charset("abcd"), cfg)


def test_another_architecture_is_refused(tmp_path):
    path = _save_base(tmp_path / "base", compose(TINY, root=tmp_path), "abcd")
    cfg = compose([*TINY, f"train.init={path}", "model.rnn_units=24"], root=tmp_path)
    model = build_crnn(cfg.model, 5)
    with pytest.raises(HTRError, match="model config"):
        initialise(model, Charset("abcd"), cfg)


def test_other_normalisation_is_refused(tmp_path):
    path = _save_base(tmp_path / "base", compose(TINY, root=tmp_path), "abcd", deslant=False)
    cfg = compose([*TINY, f"train.init={path}", "model.deslant=true"], root=tmp_path)
    model = build_crnn(cfg.model, 5)
    with pytest.raises(HTRError, match="deslant"):
        initialise(model, Charset("abcd"), cfg)
    # cropping only reframes the ink: a base trained uncropped fine-tunes cropped
    cropped = compose([*TINY, f"train.init={path}", "model.deslant=false"], root=tmp_path)
    assert cropped.model.crop_to_ink
    assert initialise(build_crnn(cropped.model, 5), Charset("abcd"), cropped) == path


def test_pretrain_command_runs_the_stage_command_of_dvc_yaml():
    """The documented command must be the frozen stage's own, which DVC itself never runs."""
    stage = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]["pretrain"]
    assert stage["frozen"] is True
    assert f"{stage['cmd']} && dvc commit -f pretrain" == PRETRAIN_COMMAND
