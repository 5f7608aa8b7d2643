"""The one compiled inference path: image batch → per-step probabilities, traced once."""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf


def compiled_predictor(model: keras.Model) -> Callable[[np.ndarray], np.ndarray]:
    """Wrap `model(x, training=False)` in a tf.function (~6x faster than `predict` at batch 1).

    A variable-width model (input width None) is traced once for any width.
    """
    height, width = model.input_shape[1], model.input_shape[2]
    spec = tf.TensorSpec([None, height, width, 1], tf.float32)

    @tf.function(input_signature=[spec], reduce_retracing=True)
    def forward(images: tf.Tensor) -> tf.Tensor:
        return model(images, training=False)

    def predict(images: np.ndarray) -> np.ndarray:
        return forward(tf.convert_to_tensor(images, tf.float32)).numpy()

    return predict
