"""One entry point for CTC decoding: pick a decoder by name with the `decode` config group."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pipeline.config import Decoder
from pipeline.ctc_decoders import Candidate, beam_search, best_path, decode_digit
from pipeline.errors import HTRError
from pipeline.word_beam_search import LanguageModel, load_language_model, word_beam_search

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from pipeline.config import DecodeConfig

__all__ = ["Candidate", "LanguageModel", "decode", "load_language_model"]


def decode(
    probs: np.ndarray,
    chars: str,
    decoder: str,
    cfg_decode: DecodeConfig | DictConfig,
    lm: LanguageModel | None = None,
    blank: int = 0,
) -> list[Candidate]:
    """Decode one [T, C] probability matrix with `decoder` (bestpath|beam|wordbeam|digit).

    bestpath gives one candidate (probability of its single path), beam and wordbeam up to
    `top_k`, digit all ten digits; best first. wordbeam needs `lm` (see `load_language_model`).
    """
    try:
        kind = Decoder(str(decoder))
    except ValueError as err:
        names = ", ".join(d.value for d in Decoder)
        raise HTRError(f"unknown decoder {decoder!r}; choose one of {names}") from err
    if kind is Decoder.bestpath:
        return [best_path(probs, chars, blank)]
    if kind is Decoder.digit:
        return decode_digit(probs, chars, blank)
    if kind is Decoder.beam:
        return beam_search(
            probs,
            chars,
            beam_width=cfg_decode.beam_width,
            top_k=cfg_decode.top_k,
            blank=blank,
            prune_threshold=cfg_decode.prune_threshold,
        )
    if lm is None:
        raise HTRError("the wordbeam decoder needs a language model (dictionary and corpus)")
    if lm.chars != chars:
        raise HTRError("the language model was built for another charset than the model's")
    return word_beam_search(
        probs,
        lm,
        mode=str(cfg_decode.wordbeam_mode),
        beam_width=cfg_decode.beam_width,
        top_k=cfg_decode.top_k,
        blank=blank,
        prune_threshold=cfg_decode.prune_threshold,
        lm_weight=cfg_decode.lm_weight,
    )
