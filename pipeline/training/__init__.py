"""Training: tf.data batches with augmentation, the trainer, its monitor and strategies."""

from pipeline.training.batches import label_encoder, model_batches
from pipeline.training.dataset import make_dataset
from pipeline.training.trainer import TrainResult, train

__all__ = ["TrainResult", "label_encoder", "make_dataset", "model_batches", "train"]
