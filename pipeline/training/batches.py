"""tf.data batches for the recognizer: samples → preprocessing (+ augmentation) → CTC labels."""

from __future__ import annotations

import tensorflow as tf
from omegaconf import DictConfig

from pipeline.common.charset import Charset
from pipeline.models import WIDTH_BUCKET, Preprocessing, fit_ink, normalise
from pipeline.training import augment
from pipeline.training.dataset import make_dataset


def label_encoder(charset: Charset) -> tf.keras.layers.StringLookup:
    """Map characters to 1..N (0 stays the CTC blank, also used as label padding).

    A character outside the charset (possible in val/test) maps to 0 and so drops out of
    the loss target; CER is always computed on the true text, not on these labels.
    """
    return tf.keras.layers.StringLookup(
        vocabulary=list(charset.chars), num_oov_indices=1, oov_token="[UNK]"
    )


def _model_input(cfg: DictConfig, image: tf.Tensor, train: bool) -> tf.Tensor:
    preprocessing = Preprocessing.of_model(cfg.model)
    ink = normalise(image, preprocessing)
    if train and cfg.augment.enabled:
        ink = augment.geometric(ink, cfg.augment)
    ink = fit_ink(ink, cfg.model.height, cfg.model.width, cfg.model.variable_width, preprocessing)
    if train and cfg.augment.enabled:
        ink = augment.photometric(augment.elastic(ink, cfg.augment), cfg.augment)
    return ink


def model_batches(
    cfg: DictConfig,
    split: str,
    charset: Charset,
    train: bool,
    limit: int | None = None,
    with_text: bool = False,
    drop_remainder: bool = False,
) -> tf.data.Dataset:
    """Batches of (image [B, H, W, 1], labels [B, L] padded with 0) for fit/evaluate.

    With `with_text`, batches are (image, labels, text) so callers can score real strings;
    `drop_remainder` keeps every batch full, which tf.distribute replicas need.
    """
    lookup = label_encoder(charset)
    data = make_dataset(cfg, split)
    if limit:
        data = data.take(limit)
    if train:
        data = data.shuffle(
            cfg.train.shuffle_buffer, seed=cfg.train.seed, reshuffle_each_iteration=True
        )

    def to_example(image: tf.Tensor, text: tf.Tensor):
        labels = tf.cast(lookup(tf.strings.unicode_split(text, "UTF-8")), tf.int32)
        labels = tf.boolean_mask(labels, labels > 0)
        x = _model_input(cfg, image, train)
        return (x, labels, text) if with_text else (x, labels)

    data = data.map(to_example, num_parallel_calls=tf.data.AUTOTUNE, deterministic=not train)
    shapes = ([None, None, 1], [None], []) if with_text else ([None, None, 1], [None])
    shapes = tuple(tf.TensorShape(s) for s in shapes)
    if train and cfg.model.variable_width:
        data = _width_buckets(data, cfg, shapes, drop_remainder)
    else:
        data = data.padded_batch(
            cfg.train.batch_size, padded_shapes=shapes, drop_remainder=drop_remainder
        )
    return data.prefetch(tf.data.AUTOTUNE)


def _width_buckets(
    data: tf.data.Dataset, cfg: DictConfig, shapes: tuple, drop_remainder: bool
) -> tf.data.Dataset:
    """Batch training lines of similar width together (at most one bucket of padding each).

    Widths are already multiples of WIDTH_BUCKET; grouping every two of them keeps the
    number of distinct batch shapes (traces of the train step) small.
    """
    step = 2 * WIDTH_BUCKET
    boundaries = list(range(step + 1, cfg.model.width + 1, step))
    return data.bucket_by_sequence_length(
        element_length_func=lambda x, *_: tf.shape(x)[1],
        bucket_boundaries=boundaries,
        bucket_batch_sizes=[cfg.train.batch_size] * (len(boundaries) + 1),
        padded_shapes=shapes,
        drop_remainder=drop_remainder,
    )
