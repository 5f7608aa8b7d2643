"""The line model: wide input, and a CTC output long enough for the longest line."""

from __future__ import annotations

import numpy as np
import pytest
from omegaconf import OmegaConf

from pipeline.common.config import compose
from pipeline.common.errors import HTRError
from pipeline.data.synthetic import sentences
from pipeline.data.synthetic.sample_data import plan_lines
from pipeline.models.builders import build_crnn, check_label_length, time_steps, width_pooling
from pipeline.models.preprocess import WIDTH_BUCKET


@pytest.fixture(scope="module")
def cfg():
    return compose(["data=sample_lines", "model=crnn_line"])


def test_line_model_reads_any_width_with_four_columns_per_time_step(cfg):
    model = build_crnn(cfg.model, n_classes=80)
    assert model.input_shape == (None, cfg.model.height, None, 1)
    assert cfg.model.variable_width and cfg.model.width >= 8 * cfg.model.height
    for width in (WIDTH_BUCKET, 5 * WIDTH_BUCKET, cfg.model.width):
        probs = model(np.zeros((2, cfg.model.height, width, 1), np.float32))
        assert probs.shape == (2, width // width_pooling(cfg.model), 80)
        np.testing.assert_allclose(np.sum(probs, axis=-1), 1.0, rtol=1e-4)
    assert time_steps(cfg.model) == cfg.model.width // width_pooling(cfg.model)


def test_variable_width_needs_a_cap_on_the_width_bucket(cfg):
    odd = OmegaConf.merge(cfg.model, {"width": cfg.model.width + WIDTH_BUCKET // 2})
    with pytest.raises(HTRError, match=rf"model.width={odd.width} to be a multiple"):
        build_crnn(odd, n_classes=10)


def test_time_steps_cover_twice_the_longest_line_the_generator_can_write(cfg):
    sample = cfg.data.sample
    corpus = sentences.load_sentences()
    longest = sentences.longest_line(corpus, sample.max_line_words)
    drawn = [text for text, _ in plan_lines(sample, 0, 3000, ["caveat"])]
    assert max(map(len, drawn)) <= longest  # the bound really bounds what is drawn
    assert max(map(len, drawn)) >= 0.7 * longest  # and is not loose
    assert time_steps(cfg.model) >= 2 * longest
    check_label_length(cfg.model, longest)


def test_a_label_longer_than_half_the_time_steps_is_rejected(cfg):
    steps = time_steps(cfg.model)
    check_label_length(cfg.model, steps // 2)
    with pytest.raises(HTRError, match=rf"{steps // 2 + 1} characters.*model.width"):
        check_label_length(cfg.model, steps // 2 + 1)
    word_model = compose(["model=crnn"]).model
    longest = sentences.longest_line(sentences.load_sentences(), 10)
    with pytest.raises(HTRError, match=r"widen model\.width"):
        check_label_length(word_model, longest)  # the word model cannot read these lines


def test_more_words_per_line_need_a_wider_model(cfg):
    corpus = sentences.load_sentences()
    lengths = [sentences.longest_line(corpus, n) for n in (3, 10, 20)]
    assert lengths == sorted(lengths) and lengths[0] < lengths[-1]
    narrow = OmegaConf.merge(cfg.model, {"width": 512})
    with pytest.raises(HTRError, match="need at least"):
        check_label_length(narrow, lengths[1])
