"""CTC decoding: best path, prefix beam search, word beam search, single digit; one registry."""

from pipeline.decoding.ctc_decoders import DIGITS, Candidate, best_path
from pipeline.decoding.registry import (
    DECODERS,
    DIGIT_DECODER,
    DecoderSpec,
    check_decoders,
    decode,
    get_decoder,
    register,
    text_decoders,
)
from pipeline.decoding.word_beam_search import (
    LanguageModel,
    build_language_model,
    load_language_model,
)

__all__ = [
    "DECODERS",
    "DIGITS",
    "DIGIT_DECODER",
    "Candidate",
    "DecoderSpec",
    "LanguageModel",
    "best_path",
    "build_language_model",
    "check_decoders",
    "decode",
    "get_decoder",
    "load_language_model",
    "register",
    "text_decoders",
]
