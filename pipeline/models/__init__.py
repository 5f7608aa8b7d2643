"""Keras recognizers: one builder per architecture, the CTC loss, and image preprocessing.

Keras only, no MLflow: what is built here is logged and served by other roles.
"""

from pipeline.models.builders import (
    LOGITS_LAYER,
    build_crnn,
    check_label_length,
    logits_model,
    time_steps,
    width_pooling,
)
from pipeline.models.ctc import ctc_loss
from pipeline.models.preprocess import (
    MAX_INFERENCE_ASPECT,
    NO_NORMALISATION,
    WIDTH_BUCKET,
    BlankImageError,
    Preprocessing,
    deslant,
    fit_ink,
    fit_to_input,
    normalise,
    pad_batch,
    prepare_foreign,
    to_ink,
)

__all__ = [
    "LOGITS_LAYER",
    "MAX_INFERENCE_ASPECT",
    "NO_NORMALISATION",
    "WIDTH_BUCKET",
    "BlankImageError",
    "Preprocessing",
    "build_crnn",
    "check_label_length",
    "ctc_loss",
    "deslant",
    "fit_ink",
    "fit_to_input",
    "logits_model",
    "normalise",
    "pad_batch",
    "prepare_foreign",
    "time_steps",
    "to_ink",
    "width_pooling",
]
