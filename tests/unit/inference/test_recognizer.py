"""The shared Recognizer: preprocessing, decoding modes, loading from files and from MLflow."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import keras
import numpy as np
import pytest
import tensorflow as tf
from omegaconf import OmegaConf

from pipeline.common.charset import Charset
from pipeline.common.config import compose
from pipeline.common.errors import HTRError
from pipeline.decoding.ctc_decoders import digit_probabilities
from pipeline.inference.recognizer import Recognizer, decode_config
from pipeline.models.preprocess import fit_to_input, prepare_foreign

if TYPE_CHECKING:
    from tests.model_fixtures import TinyProject

pytest_plugins = ["tests.model_fixtures"]

DIGITS = "0123456789"


def small_model(n_classes: int, seed: int = 0) -> keras.Model:
    """A real (untrained, seeded) image [32, 128, 1] -> softmax [32, n_classes] model."""
    keras.utils.set_random_seed(seed)
    image = keras.Input((32, 128, 1), name="image")
    x = keras.layers.Conv2D(8, 3, strides=(32, 4), padding="same", activation="relu")(image)
    x = keras.layers.Reshape((32, 8))(x)
    out = keras.layers.Dense(n_classes, activation="softmax")(x)
    return keras.Model(image, out)


def word_image(width: int = 90, height: int = 30, seed: int = 1) -> np.ndarray:
    """Dark random strokes on light paper, uint8 [h, w, 1] like pipeline.common.images returns."""
    rng = np.random.default_rng(seed)
    image = np.full((height, width), 235, np.uint8)
    for _ in range(6):
        row, col = rng.integers(5, height - 5), rng.integers(5, width - 25)
        image[row - 2 : row + 2, col : col + 20] = 20
    return image[..., None]


@pytest.fixture(scope="module")
def digits() -> Recognizer:
    cfg = compose(["decode=tiny"])
    return Recognizer(small_model(11), Charset(DIGITS), ["12 34", "5"], cfg.decode)


def test_model_input_is_the_pipeline_preprocessing(digits: Recognizer) -> None:
    image = word_image()
    expected = fit_to_input(tf.constant(prepare_foreign(image)), 32, 128).numpy()
    np.testing.assert_allclose(digits.model_input(image), expected, atol=1e-6)
    plain = fit_to_input(tf.constant(image), 32, 128).numpy()
    np.testing.assert_allclose(digits.model_input(image, foreign=False), plain, atol=1e-6)
    reading = digits.read(image)
    assert reading.model_input.shape == (32, 128) and reading.model_input.dtype == np.float32
    np.testing.assert_allclose(reading.model_input, expected[..., 0], atol=1e-6)


def test_read_batch_matches_single_reads(digits: Recognizer) -> None:
    images = [word_image(seed=s, width=60 + 20 * s) for s in range(3)]
    batch = digits.read_batch(images, decoder="beam", top_k=3, batch_size=2)
    for image, reading in zip(images, batch, strict=True):
        single = digits.read(image, decoder="beam", top_k=3)
        assert [c.text for c in reading.candidates] == [c.text for c in single.candidates]
        assert reading.probability == pytest.approx(single.probability, rel=1e-4)
        assert reading.latency_ms > 0


def test_text_decoders_return_best_first_within_top_k(digits: Recognizer) -> None:
    image = word_image()
    for decoder in ("bestpath", "beam", "wordbeam"):
        reading = digits.read(image, decoder=decoder, top_k=2)
        assert 1 <= len(reading.candidates) <= 2
        assert reading.text == reading.candidates[0].text
        probabilities = [c.probability for c in reading.candidates]
        assert probabilities == sorted(probabilities, reverse=True)
        assert reading.digit_probabilities is None


def test_digit_mode_gives_ten_probabilities_from_the_ctc_forward_pass(digits: Recognizer) -> None:
    image = word_image()
    reading = digits.read(image, mode="digit", top_k=3)
    assert reading.digit_probabilities.shape == (10,)
    assert math.isclose(reading.digit_probabilities.sum(), 1.0, rel_tol=1e-9)
    x = digits.model_input(image)
    probs = digits.probabilities(x[None])[0]
    np.testing.assert_allclose(reading.digit_probabilities, digit_probabilities(probs, DIGITS))
    assert reading.text == str(int(np.argmax(reading.digit_probabilities)))
    assert [c.text for c in reading.candidates] == [
        str(d) for d in np.argsort(-reading.digit_probabilities, kind="stable")[:3]
    ]


def test_blank_and_malformed_images_are_user_errors(digits: Recognizer) -> None:
    with pytest.raises(HTRError, match="blank"):
        digits.read(np.full((40, 100, 1), 255, np.uint8))
    with pytest.raises(HTRError, match="uint8 grey image"):
        digits.read(np.zeros((40, 100, 3), np.uint8))
    with pytest.raises(HTRError, match="uint8 grey image"):
        digits.read(np.zeros((40, 100, 1), np.float32))


def test_unknown_decoder_mode_and_top_k_are_refused(digits: Recognizer) -> None:
    image = word_image()
    with pytest.raises(HTRError, match="unknown text decoder 'greedy'"):
        digits.read(image, decoder="greedy")
    with pytest.raises(HTRError, match="unknown mode 'line'"):
        digits.read(image, mode="line")
    with pytest.raises(HTRError, match="top_k"):
        digits.read(image, top_k=0)


def test_wordbeam_without_a_corpus_names_the_missing_file() -> None:
    cfg = compose(["decode=tiny"])
    recognizer = Recognizer(small_model(11), Charset(DIGITS), [], cfg.decode)
    assert recognizer.read(word_image(), decoder="beam").candidates
    with pytest.raises(HTRError, match=r"corpus\.txt"):
        recognizer.read(word_image(), decoder="wordbeam")


def test_charset_of_another_model_is_refused() -> None:
    with pytest.raises(HTRError, match="12 classes but the charset has 10 characters"):
        Recognizer(small_model(12), Charset(DIGITS), [], compose().decode)


def test_decode_config_is_validated() -> None:
    full = OmegaConf.to_container(compose().decode)
    assert decode_config({**full, "beam_width": 3}).beam_width == 3
    with pytest.raises(HTRError, match="beam_wdth"):
        decode_config({**full, "beam_wdth": 3})
    with pytest.raises(HTRError, match="missing mandatory value: decoders"):
        decode_config({"beam_width": 3})


def test_local_load_needs_a_keras_file_with_its_charset(tmp_path) -> None:
    with pytest.raises(HTRError, match=r"neither a \.keras file"):
        Recognizer.load(str(tmp_path / "model.h5"), compose().decode)
    with pytest.raises(HTRError, match="model file not found"):
        Recognizer.load(str(tmp_path / "model.keras"), compose().decode)
    small_model(11).save(tmp_path / "model.keras")
    with pytest.raises(HTRError, match="charset file not found"):
        Recognizer.load(str(tmp_path / "model.keras"), compose().decode)
    Charset(DIGITS).save(tmp_path / "charset.json")
    recognizer = Recognizer.load(str(tmp_path / "model.keras"), compose().decode)
    assert recognizer.corpus_texts == []
    assert recognizer.info["num_classes"] == 11
    assert (recognizer.info["input_height"], recognizer.info["input_width"]) == (32, 128)


def test_a_missing_sqlite_store_is_not_created(tmp_path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with pytest.raises(HTRError, match="no MLflow store"):
        Recognizer.load("models:/htr-sample@champion", compose().decode, tracking_uri=uri)
    assert not (tmp_path / "mlflow.db").exists()


@pytest.mark.slow
def test_every_kind_of_uri_loads_the_same_model(tiny_project: TinyProject) -> None:
    from mlflow import MlflowClient

    cfg = tiny_project.cfg
    uri = tiny_project.tracking_uri
    local = Recognizer.load(str(tiny_project.model_path), cfg.decode)
    champion = Recognizer.load(tiny_project.champion_uri, cfg.decode, tracking_uri=uri)
    assert champion.info["version"] == 1 and champion.info["alias"] == "champion"
    assert champion.info["run_id"] == tiny_project.run_id
    assert champion.charset == local.charset
    assert champion.corpus_texts == local.corpus_texts and local.corpus_texts
    version = MlflowClient(uri).get_model_version(champion.info["name"], "1")
    others = [
        Recognizer.load(f"models:/{champion.info['name']}/1", cfg.decode, tracking_uri=uri),
        Recognizer.load(version.source, cfg.decode, tracking_uri=uri),
        Recognizer.load(f"runs:/{tiny_project.run_id}/model", cfg.decode, tracking_uri=uri),
    ]
    image = word_image(width=140, height=40)
    expected = local.read(image, decoder="beam", mode="text", top_k=3)
    for recognizer in [champion, *others]:
        reading = recognizer.read(image, decoder="beam", mode="text", top_k=3)
        assert [c.text for c in reading.candidates] == [c.text for c in expected.candidates]
        assert reading.probability == pytest.approx(expected.probability, rel=1e-5)
        digit = recognizer.read(image, mode="digit").digit_probabilities
        np.testing.assert_allclose(digit, local.read(image, mode="digit").digit_probabilities)


@pytest.mark.slow
def test_missing_versions_and_aliases_are_user_errors(tiny_project: TinyProject) -> None:
    name = tiny_project.champion_uri.removesuffix("@champion")
    uri = tiny_project.tracking_uri
    for missing in (f"{name}@staging", f"{name}/99", "models:/m-0123abcd", "runs:/nope/model"):
        with pytest.raises(HTRError, match="not found"):
            Recognizer.load(missing, tiny_project.cfg.decode, tracking_uri=uri)
    with pytest.raises(HTRError, match="unsupported model URI"):
        Recognizer.load(f"{name}/latest", tiny_project.cfg.decode, tracking_uri=uri)
