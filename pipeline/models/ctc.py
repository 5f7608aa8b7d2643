"""CTC loss for Keras `compile`: dense labels padded with 0 (the blank) against logits."""

from __future__ import annotations

from keras import ops


def ctc_loss(y_true, y_pred):
    """Per-sample CTC negative log-likelihood; `y_pred` are pre-softmax logits [B, T, C]."""
    labels = ops.cast(y_true, "int32")
    label_length = ops.sum(ops.cast(ops.not_equal(labels, 0), "int32"), axis=1)
    batch, steps = ops.shape(y_pred)[0], ops.shape(y_pred)[1]
    logit_length = ops.full((batch,), steps, dtype="int32")
    return ops.ctc_loss(labels, y_pred, label_length, logit_length, mask_index=0)
