"""Recognizer architectures: CNN feature extractor + bidirectional RNN + per-step softmax.

The prediction model maps a float32 [batch, height, width, 1] ink image to per-time-step
character probabilities [batch, T, n_classes] (class 0 = CTC blank). Training wraps the
pre-softmax `logits` layer with the CTC loss; what is saved, served and logged is the
prediction model, which contains only stock Keras layers (loads with safe_mode=True).
"""

from __future__ import annotations

import math

import keras
from keras import layers
from omegaconf import DictConfig

from pipeline.common.errors import HTRError
from pipeline.models.preprocess import WIDTH_BUCKET

LOGITS_LAYER = "logits"


def width_pooling(cfg: DictConfig) -> int:
    """How many input columns make one CTC time step."""
    return math.prod(pool[1] for pool in cfg.pool_sizes)


def time_steps(cfg: DictConfig) -> int:
    """CTC output steps of the widest input: `model.width` / the pooling along the width."""
    return cfg.width // width_pooling(cfg)


def check_label_length(cfg: DictConfig, longest: int) -> None:
    """Reject labels too long for the model's CTC output (`cfg` is the model group).

    CTC needs one step per character plus a blank between repeated ones; the safe rule
    used here is time_steps >= 2 x the longest label.
    """
    steps = time_steps(cfg)
    if 2 * longest > steps:
        raise HTRError(
            f"labels of up to {longest} characters need at least {2 * longest} CTC time steps, "
            f"but model {cfg.name!r} has {steps} (model.width={cfg.width} / width pooling "
            f"{cfg.width // steps}): widen model.width or pool less along the width"
        )


def _check(cfg: DictConfig) -> None:
    n = len(cfg.conv_filters)
    if not (len(cfg.conv_kernels) == len(cfg.pool_sizes) == n):
        raise HTRError(
            "model.conv_filters, model.conv_kernels and model.pool_sizes must have the same "
            f"length, got {n}, {len(cfg.conv_kernels)}, {len(cfg.pool_sizes)}"
        )
    h_pool = math.prod(pool[0] for pool in cfg.pool_sizes)
    w_pool = math.prod(pool[1] for pool in cfg.pool_sizes)
    if cfg.height % h_pool or cfg.width % w_pool:
        raise HTRError(
            f"model.height={cfg.height} / model.width={cfg.width} must be divisible by the "
            f"total pooling {h_pool} x {w_pool} (model.pool_sizes)"
        )
    if cfg.variable_width and (WIDTH_BUCKET % w_pool or cfg.width % WIDTH_BUCKET):
        raise HTRError(
            f"a variable-width model needs model.width={cfg.width} to be a multiple of the "
            f"width bucket {WIDTH_BUCKET}, itself a multiple of the width pooling {w_pool}"
        )
    if cfg.rnn not in ("lstm", "gru"):
        raise HTRError(f"model.rnn must be lstm or gru, got {cfg.rnn!r}")


def _conv_block(x, filters: int, kernel: int, pool: tuple[int, int], cfg: DictConfig):
    x = layers.Conv2D(filters, kernel, padding="same", use_bias=not cfg.batch_norm)(x)
    if cfg.batch_norm:
        x = layers.BatchNormalization(momentum=cfg.bn_momentum)(x)
    x = layers.ReLU()(x)
    if tuple(pool) != (1, 1):
        x = layers.MaxPooling2D(pool_size=tuple(pool), strides=tuple(pool))(x)
    if cfg.conv_dropout > 0:
        x = layers.SpatialDropout2D(cfg.conv_dropout)(x)
    return x


def _recurrent(x, cfg: DictConfig):
    cell = layers.LSTM if cfg.rnn == "lstm" else layers.GRU
    for _ in range(cfg.rnn_layers):
        x = layers.Bidirectional(cell(cfg.rnn_units, return_sequences=True))(x)
        if cfg.rnn_dropout > 0:
            x = layers.Dropout(cfg.rnn_dropout)(x)
    return x


def build_crnn(cfg: DictConfig, n_classes: int) -> keras.Model:
    """Build the prediction model described by the `model` config group."""
    _check(cfg)
    width = None if cfg.variable_width else cfg.width
    inputs = keras.Input(shape=(cfg.height, width, 1), name="image", dtype="float32")
    x = inputs
    for filters, kernel, pool in zip(
        cfg.conv_filters, cfg.conv_kernels, cfg.pool_sizes, strict=True
    ):
        x = _conv_block(x, filters, kernel, pool, cfg)
    _, feat_h, _, channels = x.shape
    x = layers.Permute((2, 1, 3))(x)
    x = layers.Reshape((-1, feat_h * channels))(x)
    if cfg.projection_units:
        x = layers.Dense(cfg.projection_units, activation="relu")(x)
    x = _recurrent(x, cfg)
    logits = layers.Dense(n_classes, name=LOGITS_LAYER, dtype="float32")(x)
    probs = layers.Softmax(name="probs", dtype="float32")(logits)
    return keras.Model(inputs, probs, name=cfg.name)


def logits_model(prediction_model: keras.Model) -> keras.Model:
    """The same layers up to the pre-softmax logits, which the CTC loss wants."""
    return keras.Model(
        prediction_model.input, prediction_model.get_layer(LOGITS_LAYER).output, name="train"
    )
