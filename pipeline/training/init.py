"""Start a training from a trained model's weights (`train.init`) instead of from scratch.

`train.init: pretrained` is the base model the frozen `pretrain` stage wrote to
`paths.pretrained`; any other value is a `.keras` file. Every layer is copied as it is,
except the output layer, whose rows are copied per character: a character both charsets
share keeps what the base learned of it, a new one starts fresh, so a base trained on
one data set fine-tunes on another (IAM, the app's corrections) with its own charset.
"""

from __future__ import annotations

import logging
from pathlib import Path

import keras
import numpy as np
from omegaconf import DictConfig

from pipeline.common.artifacts import MODEL_FILE, PRETRAIN_COMMAND
from pipeline.common.charset import Charset
from pipeline.common.config import project_path
from pipeline.common.errors import HTRError
from pipeline.inference import load_model_files
from pipeline.models import LOGITS_LAYER, Preprocessing

log = logging.getLogger(__name__)
PRETRAINED = "pretrained"


def init_path(cfg: DictConfig) -> Path | None:
    """The model file `train.init` names, or None for a training from scratch."""
    init = cfg.train.init
    if init is None:
        return None
    if init == PRETRAINED:
        return project_path(cfg, cfg.paths.pretrained) / MODEL_FILE
    return project_path(cfg, init)


def initialise(model: keras.Model, charset: Charset, cfg: DictConfig) -> Path | None:
    """Copy the `train.init` model's weights into `model`; return where they came from."""
    path = init_path(cfg)
    if path is None:
        return None
    if not path.is_file():
        hint = f" (run `{PRETRAIN_COMMAND}` to make it)" if cfg.train.init == PRETRAINED else ""
        raise HTRError(f"train.init={cfg.train.init}: no model file {path}{hint}")
    base = load_model_files(str(path))
    # deslanting changes every stroke, so base and fine-tuning must agree on it; cropping
    # only changes the framing, which a fine-tuning adapts to (the default base was trained
    # uncropped and is fine-tuned cropped)
    if base.preprocessing.deslant != Preprocessing.of_model(cfg.model).deslant:
        raise HTRError(
            f"train.init model {path} was trained with {base.preprocessing}, but model.deslant="
            f"{cfg.model.deslant}: a fine-tuned model must see strokes deslanted alike"
        )
    _copy_weights(base.model, model, path)
    _copy_output_rows(base.model, base.charset, model, charset)
    shared = len(set(base.charset.chars) & set(charset.chars))
    log.info(
        "initialised from %s: %d of %d characters keep their output weights",
        path,
        shared,
        len(charset.chars),
    )
    return path


def _copy_weights(base: keras.Model, model: keras.Model, path: Path) -> None:
    base_layers = [layer for layer in base.layers if layer.name != LOGITS_LAYER]
    layers = [layer for layer in model.layers if layer.name != LOGITS_LAYER]
    if len(base_layers) != len(layers):
        raise HTRError(
            f"train.init model {path} has {len(base_layers)} layers, model {model.name!r} "
            f"{len(layers)}: the model config must match the one it was trained with"
        )
    for source, target in zip(base_layers, layers, strict=True):
        weights = source.get_weights()
        shapes = [w.shape for w in weights]
        expected = [tuple(w.shape) for w in target.weights]
        if shapes != expected:
            raise HTRError(
                f"train.init model {path}: layer {source.name} has weights {shapes}, model "
                f"{model.name!r} wants {expected} at {target.name}: the model config differs"
            )
        target.set_weights(weights)


def _copy_output_rows(
    base: keras.Model, base_charset: Charset, model: keras.Model, charset: Charset
) -> None:
    """Output weights per class: the blank and every shared character keep the base's."""
    kernel, bias = base.get_layer(LOGITS_LAYER).get_weights()
    target = model.get_layer(LOGITS_LAYER)
    new_kernel, new_bias = (w.copy() for w in target.get_weights())
    if kernel.shape[0] != new_kernel.shape[0]:
        raise HTRError("train.init model's recurrent output differs from the model config's")
    source_index = {char: i + 1 for i, char in enumerate(base_charset.chars)}
    pairs = [(0, 0)] + [
        (i + 1, source_index[char]) for i, char in enumerate(charset.chars) if char in source_index
    ]
    to, frm = (np.array(side) for side in zip(*pairs, strict=True))
    new_kernel[:, to] = kernel[:, frm]
    new_bias[to] = bias[frm]
    target.set_weights([new_kernel, new_bias])
