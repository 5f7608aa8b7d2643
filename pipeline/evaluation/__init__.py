"""Evaluation: score every decoder on the test split, write reports, register the model."""

from pipeline.evaluation.evaluation import evaluate
from pipeline.evaluation.scoring import score

__all__ = ["evaluate", "score"]
