"""The shared recognizer: one loaded model with its charset and decoders, for every reader.

predict, the evaluate stage and the app all read images through `Recognizer`, so an image
reaches the model the same way everywhere: `prepare_foreign` (drawn or uploaded images
only), `fit_to_input`, the compiled predictor, then a CTC decoder. `loading` finds the
model and its charset and corpus (a local `.keras` file or an MLflow URI).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from pipeline.common.artifacts import CORPUS_FILE
from pipeline.common.charset import Charset
from pipeline.common.config import DecodeConfig
from pipeline.common.errors import HTRError
from pipeline.decoding import (
    DIGIT_DECODER,
    DIGITS,
    Candidate,
    LanguageModel,
    decode,
    get_decoder,
    load_language_model,
    text_decoders,
)
from pipeline.inference.loading import ModelSource, load_model_files
from pipeline.inference.predictor import compiled_predictor
from pipeline.models import (
    MAX_INFERENCE_ASPECT,
    NO_NORMALISATION,
    Preprocessing,
    fit_to_input,
    pad_batch,
    prepare_foreign,
)

log = logging.getLogger(__name__)

MODES = ("text", "digit")


@dataclass
class Reading:
    """What the recognizer read in one image, with what the model saw (for display)."""

    text: str
    probability: float
    candidates: list[Candidate]
    model_input: np.ndarray
    digit_probabilities: np.ndarray | None
    latency_ms: float


def decode_config(cfg_decode: DecodeConfig | DictConfig | dict) -> DecodeConfig:
    """The `decode` group as a validated DecodeConfig (unknown keys raise HTRError)."""
    if isinstance(cfg_decode, DecodeConfig):
        return cfg_decode
    try:
        merged = OmegaConf.merge(OmegaConf.structured(DecodeConfig), cfg_decode)
        return OmegaConf.to_object(merged)
    except OmegaConfBaseException as err:
        raise HTRError(f"invalid decode config: {err}".splitlines()[0]) from err


class Recognizer:
    """A prediction model (image → per-step softmax, class 0 blank) with charset and decoders.

    Build it once (`Recognizer.load`) and reuse it: preprocessing (`fit_to_input`, ~5x
    faster traced than eager) and the predictor are traced on construction, and the word
    beam search's language model is built on its first use.
    """

    def __init__(
        self,
        model: keras.Model,
        charset: Charset,
        corpus_texts: list[str],
        cfg_decode: DecodeConfig | DictConfig,
        *,
        source: ModelSource | None = None,
        root: str | Path = ".",
        preprocessing: Preprocessing = NO_NORMALISATION,
    ) -> None:
        classes = model.output_shape[-1]
        if classes != charset.num_classes:
            raise HTRError(
                f"model outputs {classes} classes but the charset has {len(charset.chars)} "
                f"characters + blank = {charset.num_classes}: they belong to different models"
            )
        self.model = model
        self.charset = charset
        self.corpus_texts = list(corpus_texts)
        self.cfg_decode = decode_config(cfg_decode)
        self.source = source
        self.root = Path(root)
        self.preprocessing = preprocessing
        self.height = int(model.input_shape[1])
        # None: a variable-width (line) model, fed each image at its own width
        self.width: int | None = model.input_shape[2]
        variable = self.width is None
        cap = MAX_INFERENCE_ASPECT * self.height if variable else self.width
        self._predict = compiled_predictor(model)
        self._fit = tf.function(
            lambda image: fit_to_input(image, self.height, cap, variable, preprocessing),
            input_signature=[tf.TensorSpec([None, None, 1], tf.uint8)],
        )
        self._predict(self._fit(tf.zeros((2, 2, 1), tf.uint8)).numpy()[None])
        self._lm: LanguageModel | None = None

    @classmethod
    def load(
        cls,
        uri: str,
        cfg_decode: DecodeConfig | DictConfig,
        tracking_uri: str | None = None,
        *,
        root: str | Path = ".",
    ) -> Recognizer:
        """Load a local `.keras` file or an MLflow model URI (models:/…, runs:/…) once."""
        files = load_model_files(uri, tracking_uri)
        return cls(
            files.model,
            files.charset,
            files.corpus,
            cfg_decode,
            source=files.source,
            root=root,
            preprocessing=files.preprocessing,
        )

    @property
    def info(self) -> dict[str, Any]:
        """Where the model came from and its shape, for display and logs."""
        source = self.source or ModelSource(uri="<in memory>", load_uri="<in memory>")
        return {
            "uri": source.uri,
            "name": source.name,
            "version": source.version,
            "alias": source.alias,
            "run_id": source.run_id,
            "input_height": self.height,
            "input_width": self.width,
            "time_steps": self.model.output_shape[1],
            "num_classes": self.charset.num_classes,
        }

    @property
    def language_model(self) -> LanguageModel:
        """The word beam search's language model, built on first use."""
        if self._lm is None:
            if not self.corpus_texts and not self.cfg_decode.corpus_file:
                raise HTRError(
                    f"the wordbeam decoder needs {CORPUS_FILE} beside the model (or "
                    "decode.corpus_file); this model has none"
                )
            started = time.perf_counter()
            self._lm = load_language_model(
                self.cfg_decode, self.charset.chars, self.corpus_texts, self.root
            )
            log.info("built the word beam language model in %.2f s", time.perf_counter() - started)
        return self._lm

    def model_input(self, image: np.ndarray, foreign: bool = True) -> np.ndarray:
        """The float32 [H, W, 1] input of a uint8 grey [h, w, 1] image (foreign: crop to ink)."""
        array = _check_image(image)
        if foreign:
            array = prepare_foreign(array)
        return self._fit(tf.constant(array)).numpy()

    def probabilities(self, inputs: np.ndarray) -> np.ndarray:
        """Per-step softmax [n, T, C] of a float32 input batch [n, H, W, 1], compiled path."""
        return self._predict(inputs)

    def probabilities_of(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Per-step softmax [T_i, C] of each float32 input [H, w_i, 1], run as one batch.

        Inputs of a variable-width model are padded to the widest, and each output is cut
        back to the steps of its own width, so padding never reaches the decoder.
        """
        batch = pad_batch(list(inputs))
        probs = self._predict(batch)
        steps_per_column = probs.shape[1] / batch.shape[2]
        return [
            p[: round(x.shape[1] * steps_per_column)] for x, p in zip(inputs, probs, strict=True)
        ]

    def decode(
        self, probs: np.ndarray, decoder: str = "beam", mode: str = "text", top_k: int = 5
    ) -> list[Candidate]:
        """Candidates (best first, at most `top_k`) for one [T, C] matrix."""
        if top_k < 1:
            raise HTRError(f"top_k must be at least 1, got {top_k}")
        if mode not in MODES:
            raise HTRError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
        if mode == "digit":
            decoder = DIGIT_DECODER
        elif str(decoder) not in text_decoders():
            raise HTRError(
                f"unknown text decoder {decoder!r}; choose one of {', '.join(text_decoders())}"
            )
        cfg = dataclasses.replace(self.cfg_decode, top_k=top_k)
        lm = self.language_model if get_decoder(decoder).needs_language_model else None
        return decode(probs, self.charset.chars, str(decoder), cfg, lm)[:top_k]

    def read(
        self,
        image: np.ndarray,
        decoder: str = "beam",
        mode: str = "text",
        top_k: int = 5,
        foreign: bool = True,
    ) -> Reading:
        """Read one uint8 grey [h, w, 1] image; HTRError for a blank one (when foreign)."""
        started = time.perf_counter()
        x = self.model_input(image, foreign)
        probs = self._predict(x[None])[0]
        return self._reading(x, probs, decoder, mode, top_k, started, 0.0)

    def read_batch(
        self,
        images: Sequence[np.ndarray],
        decoder: str = "beam",
        mode: str = "text",
        top_k: int = 5,
        foreign: bool = True,
        batch_size: int | None = None,
    ) -> list[Reading]:
        """Read many images with batched inference; a latency is its batch share + its decoding."""
        size = batch_size or self.cfg_decode.batch_size
        readings: list[Reading] = []
        for start in range(0, len(images), size):
            started = time.perf_counter()
            chunk = images[start : start + size]
            inputs = [self.model_input(image, foreign) for image in chunk]
            probs = self.probabilities_of(inputs)
            share = (time.perf_counter() - started) / len(chunk)
            for x, p in zip(inputs, probs, strict=True):
                readings.append(
                    self._reading(x, p, decoder, mode, top_k, time.perf_counter(), share)
                )
        return readings

    def _reading(
        self,
        x: np.ndarray,
        probs: np.ndarray,
        decoder: str,
        mode: str,
        top_k: int,
        started: float,
        extra_s: float,
    ) -> Reading:
        digit_p = None
        if mode == "digit":
            ten = self.decode(probs, mode="digit", top_k=len(DIGITS))
            digit_p = np.zeros(len(DIGITS))
            for candidate in ten:
                digit_p[DIGITS.index(candidate.text)] = candidate.probability
            candidates = ten[:top_k]
        else:
            candidates = self.decode(probs, decoder, mode, top_k)
        best = candidates[0] if candidates else Candidate("", 0.0)
        return Reading(
            text=best.text,
            probability=best.probability,
            candidates=candidates,
            model_input=x[..., 0],
            digit_probabilities=digit_p,
            latency_ms=(time.perf_counter() - started + extra_s) * 1000.0,
        )


def _check_image(image: np.ndarray) -> np.ndarray:
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[..., None]
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 1 or 0 in array.shape:
        raise HTRError(
            f"expected a uint8 grey image [h, w, 1] (pipeline.common.images), got {array.dtype} "
            f"{array.shape}"
        )
    return array
