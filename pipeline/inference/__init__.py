"""Reading images with a trained model: the Recognizer, its compiled predictor, model loading."""

from pipeline.inference.loading import ModelFiles, ModelSource, load_model_files, resolve_source
from pipeline.inference.predictor import compiled_predictor
from pipeline.inference.recognizer import MODES, Reading, Recognizer

__all__ = [
    "MODES",
    "ModelFiles",
    "ModelSource",
    "Reading",
    "Recognizer",
    "compiled_predictor",
    "load_model_files",
    "resolve_source",
]
