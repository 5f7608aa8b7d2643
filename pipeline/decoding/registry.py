"""The decoder registry: one table of name -> decoder that every consumer reads.

predict's `--decoder` choices, the app's decoder picker, the evaluate stage and config
checks all list `DECODERS`; a new decoder is one function plus one `register` call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline.common.errors import HTRError
from pipeline.decoding.ctc_decoders import Candidate, beam_search, best_path, decode_digit
from pipeline.decoding.word_beam_search import LanguageModel, word_beam_search

# (probs [T, C], chars, the `decode` config group, language model or None, blank index)
DecodeFn = Callable[[np.ndarray, str, Any, LanguageModel | None, int], list[Candidate]]


@dataclass(frozen=True)
class DecoderSpec:
    """A registered decoder: how it decodes, and what it reads.

    `text`: it reads free text, so it is offered for words and lines and scored on the whole
    test split (a non-text decoder such as `digit` is scored on digit samples only).
    `needs_language_model`: it is handed the word beam search's dictionary/LM.
    """

    name: str
    decode: DecodeFn
    text: bool = True
    needs_language_model: bool = False


DECODERS: dict[str, DecoderSpec] = {}
DIGIT_DECODER = "digit"  # what the digit mode of the app and predict uses


def register(spec: DecoderSpec) -> DecoderSpec:
    """Add a decoder to the table (a name registered twice is an error, not an override)."""
    if spec.name in DECODERS:
        raise HTRError(f"decoder {spec.name!r} is already registered")
    DECODERS[spec.name] = spec
    return spec


def text_decoders() -> tuple[str, ...]:
    """Names of the free-text decoders, in registration order."""
    return tuple(name for name, spec in DECODERS.items() if spec.text)


def get_decoder(name: str) -> DecoderSpec:
    """The registered decoder called `name`; HTRError listing the choices otherwise."""
    try:
        return DECODERS[str(name)]
    except KeyError:
        raise HTRError(f"unknown decoder {name!r}; choose one of {', '.join(DECODERS)}") from None


def check_decoders(names: list[str]) -> list[str]:
    """Validate `decode.decoders`: every name registered, at least one text decoder."""
    names = [str(get_decoder(name).name) for name in names]
    if not any(DECODERS[name].text for name in names):
        raise HTRError(
            f"decode.decoders {names} names no text decoder ({', '.join(text_decoders())})"
        )
    return names


def decode(
    probs: np.ndarray,
    chars: str,
    decoder: str,
    cfg_decode: Any,
    lm: LanguageModel | None = None,
    blank: int = 0,
) -> list[Candidate]:
    """Decode one [T, C] probability matrix with the registered decoder `decoder`.

    bestpath gives one candidate (probability of its single path), beam and wordbeam up to
    `top_k`, digit all ten digits; best first. wordbeam needs `lm` (see `load_language_model`).
    """
    spec = get_decoder(decoder)
    if spec.needs_language_model:
        if lm is None:
            raise HTRError(f"the {spec.name} decoder needs a language model (dictionary, corpus)")
        if lm.chars != chars:
            raise HTRError("the language model was built for another charset than the model's")
    return spec.decode(probs, chars, cfg_decode, lm, blank)


def _best_path(probs, chars, cfg, lm, blank) -> list[Candidate]:
    return [best_path(probs, chars, blank)]


def _beam(probs, chars, cfg, lm, blank) -> list[Candidate]:
    return beam_search(
        probs,
        chars,
        beam_width=cfg.beam_width,
        top_k=cfg.top_k,
        blank=blank,
        prune_threshold=cfg.prune_threshold,
    )


def _word_beam(probs, chars, cfg, lm, blank) -> list[Candidate]:
    return word_beam_search(
        probs,
        lm,
        mode=str(cfg.wordbeam_mode),
        beam_width=cfg.beam_width,
        top_k=cfg.top_k,
        blank=blank,
        prune_threshold=cfg.prune_threshold,
        lm_weight=cfg.lm_weight,
    )


def _digit(probs, chars, cfg, lm, blank) -> list[Candidate]:
    return decode_digit(probs, chars, blank)


register(DecoderSpec("bestpath", _best_path))
register(DecoderSpec("beam", _beam))
register(DecoderSpec("wordbeam", _word_beam, needs_language_model=True))
register(DecoderSpec(DIGIT_DECODER, _digit, text=False))
