"""The decoder registry: one entry makes a decoder available to every consumer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import pytest
from omegaconf import OmegaConf

from pipeline.app import catalogue
from pipeline.common.errors import HTRError
from pipeline.decoding import (
    DECODERS,
    Candidate,
    DecoderSpec,
    best_path,
    check_decoders,
    decode,
    register,
    text_decoders,
)
from pipeline.predict import parse_args
from tests.unit.decoding.configs import decode_config

if TYPE_CHECKING:
    from tests.model_fixtures import TinyProject

pytest_plugins = ["tests.model_fixtures"]


def upper_best_path(probs, chars, cfg, lm, blank) -> list[Candidate]:
    """A toy decoder: best path, upper-cased."""
    best = best_path(probs, chars, blank)
    return [Candidate(best.text.upper(), best.probability)]


@pytest.fixture
def toy_decoder() -> Iterator[str]:
    register(DecoderSpec("toy", upper_best_path))
    yield "toy"
    del DECODERS["toy"]


def test_a_registered_decoder_decodes(toy_decoder: str) -> None:
    probs = np.array([[0.1, 0.9, 0.0], [0.8, 0.1, 0.1], [0.1, 0.0, 0.9]])
    assert [c.text for c in decode(probs, "ab", toy_decoder, decode_config())] == ["AB"]
    assert toy_decoder in text_decoders()


def test_unknown_and_duplicate_names_are_refused(toy_decoder: str) -> None:
    with pytest.raises(HTRError, match="already registered"):
        register(DecoderSpec(toy_decoder, upper_best_path))
    with pytest.raises(HTRError, match=r"unknown decoder 'greedy'; choose one of .*toy"):
        check_decoders(["bestpath", "greedy"])
    with pytest.raises(HTRError, match="names no text decoder"):
        check_decoders(["digit"])


def test_predict_and_the_app_offer_a_registered_decoder(toy_decoder: str) -> None:
    assert parse_args(["word.png", "--decoder", toy_decoder]).decoder == toy_decoder
    cfg = OmegaConf.create({"decode": {"decoders": ["bestpath", "digit", toy_decoder]}})
    assert catalogue.offered_decoders(cfg) == ["bestpath", toy_decoder]


@pytest.mark.slow
def test_evaluation_scores_a_registered_decoder(
    toy_decoder: str, tiny_project: TinyProject
) -> None:
    from pipeline.evaluation import score
    from pipeline.inference import Recognizer

    cfg = OmegaConf.merge(tiny_project.cfg, {"decode": {"decoders": ["bestpath", toy_decoder]}})
    recognizer = Recognizer.load(str(tiny_project.model_path), cfg.decode, root=tiny_project.root)
    metrics, _, _ = score(cfg, recognizer)
    assert {"bestpath", toy_decoder} <= set(metrics["decoders"])
    assert 0.0 <= metrics["decoders"][toy_decoder]["cer"] <= 1.0
