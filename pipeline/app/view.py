"""What the app shows of a reading: modes, the model's-eye preview, candidates, digit chart."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.app.feedback import check_text
from pipeline.common.errors import HTRError

DIGITS = tuple("0123456789")
FRAME_GREY = 170


@dataclass(frozen=True)
class Mode:
    """An app mode: how the recognizer reads and where a correction is filed."""

    label: str
    read_mode: str
    feedback_kind: str
    hint: str


MODES = {
    "word": Mode("word", "text", "words", "Write one word."),
    "line": Mode("line", "text", "lines", "Write a few words on one line."),
    "digit": Mode("digit", "digit", "words", "Write one digit, 0 to 9."),
}


def preview(model_input: np.ndarray, scale: int, frame: int = 2) -> np.ndarray:
    """The model's input (float ink 1 on paper 0) as dark-on-white uint8, scaled up blockwise,
    in a grey frame that shows where the input (with its padding) ends."""
    ink = np.clip(np.squeeze(np.asarray(model_input, dtype=np.float32)), 0.0, 1.0)
    grey = np.round(255.0 * (1.0 - ink)).astype(np.uint8)
    scaled = np.kron(grey, np.ones((scale, scale), dtype=np.uint8))
    return np.pad(scaled, frame, constant_values=FRAME_GREY)


def candidate_table(candidates: list, probability_format: str = "{:.3g}") -> pd.DataFrame:
    """The top-k candidates as rows of rank, text and probability (formatted for display)."""
    return pd.DataFrame(
        {
            "text": [c.text for c in candidates],
            "probability": [probability_format.format(float(c.probability)) for c in candidates],
        },
        index=pd.RangeIndex(1, len(candidates) + 1, name="rank"),
    )


def digit_frame(probabilities: np.ndarray) -> pd.DataFrame:
    """The ten digit probabilities indexed by digit, for a bar chart."""
    values = np.asarray(probabilities, dtype=np.float64).reshape(-1)
    if values.shape != (10,):
        raise HTRError(f"expected 10 digit probabilities, got {values.shape}")
    return pd.DataFrame({"digit": DIGITS, "probability": values})


def check_correction(text: str, mode: Mode) -> str:
    """The correction to save for this mode, or HTRError saying why it cannot be saved."""
    text = check_text(text, mode.feedback_kind)
    if mode.read_mode == "digit" and text not in DIGITS:
        raise HTRError("in digit mode the correction is a single digit, 0 to 9")
    return text
