"""The shared preprocessing: aspect-preserving fit, normalisation, foreign-image preparation."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from pipeline.common.errors import HTRError
from pipeline.models.preprocess import (
    WIDTH_BUCKET,
    Preprocessing,
    core_band,
    crop_ink,
    deslant,
    estimate_slant,
    fit_to_input,
    normalise,
    pad_batch,
    prepare_foreign,
    to_ink,
)


def _bar(height: int, width: int, ink_box: tuple[int, int, int, int], paper=230, ink=20):
    image = np.full((height, width, 1), paper, np.uint8)
    top, bottom, left, right = ink_box
    image[top:bottom, left:right] = ink
    return image


def test_fit_keeps_aspect_ratio_and_centres():
    # a 40x400 strip (aspect 10) is scaled by 0.32 to 128 wide; its 20-row ink band
    # becomes ~6.4 rows, vertically centred, and reaches both side edges
    image = _bar(40, 400, (10, 30, 0, 400))
    out = fit_to_input(tf.constant(image), 32, 128).numpy()[..., 0]
    assert out.shape == (32, 128)
    rows = np.flatnonzero(out.max(axis=1) > 0.5)
    assert 5 <= len(rows) <= 8
    assert abs((rows[0] + rows[-1]) / 2 - 15.5) <= 1
    assert out[:, 0].max() > 0.5 and out[:, -1].max() > 0.5


def test_tall_image_is_not_stretched():
    image = _bar(100, 40, (0, 100, 10, 30))
    out = fit_to_input(tf.constant(image), 32, 128).numpy()[..., 0]
    cols = np.flatnonzero(out.max(axis=0) > 0.5)
    assert 5 <= len(cols) <= 8  # 20 ink columns * 32/100 = 6.4 columns, centred
    assert abs((cols[0] + cols[-1]) / 2 - 63.5) <= 1.5


@pytest.mark.parametrize(
    ("width", "expected_ink", "expected_width"),
    [
        (400, 256, 256),  # 50x400 scaled by 32/50: 256 columns, already a bucket multiple
        (150, 96, 128),  # short: its own width, rounded up to the bucket, not the cap
        (2000, 768, 768),  # longer than the cap: shrunk to the cap
    ],
)
def test_variable_fit_keeps_the_line_own_width_left_aligned(width, expected_ink, expected_width):
    image = _bar(50, width, (10, 40, 0, width))
    out = fit_to_input(tf.constant(image), 32, 768, variable=True).numpy()[..., 0]
    assert out.shape[0] == 32 and out.shape[1] == expected_width
    assert out.shape[1] % WIDTH_BUCKET == 0
    cols = np.flatnonzero(out.max(axis=0) > 0.5)
    assert cols[0] == 0 and abs(len(cols) - min(expected_ink, 768)) <= 1
    assert not out[:, cols[-1] + 1 :].any()  # padding only on the right


def test_pad_batch_pads_paper_on_the_right():
    narrow, wide = np.ones((32, 64, 1), np.float32), np.ones((32, 192, 1), np.float32)
    batch = pad_batch([narrow, wide])
    assert batch.shape == (2, 32, 192, 1)
    assert batch[0, :, :64].all() and not batch[0, :, 64:].any() and batch[1].all()


def test_ink_is_one_and_paper_zero_whatever_the_levels():
    image = _bar(32, 128, (8, 24, 30, 90), paper=180, ink=120)
    ink = to_ink(tf.constant(image)).numpy()
    assert ink.max() == pytest.approx(1.0) and ink.min() == pytest.approx(0.0)
    assert ink[16, 60, 0] == pytest.approx(1.0) and ink[0, 0, 0] == pytest.approx(0.0)


def test_foreign_light_on_dark_is_inverted_and_cropped():
    image = _bar(300, 400, (100, 160, 50, 350), paper=0, ink=255)
    out = prepare_foreign(image)
    assert out.shape[2] == 1
    assert out[0, 0, 0] > 200  # paper is light now
    assert out[out.shape[0] // 2, out.shape[1] // 2, 0] < 50  # ink dark
    assert 60 <= out.shape[0] <= 75 and 300 <= out.shape[1] <= 315  # crop + small margin


def test_foreign_blank_canvas_is_an_error_not_a_guess():
    with pytest.raises(HTRError, match="blank"):
        prepare_foreign(np.full((200, 300, 1), 255, np.uint8))


def _slanted_word(shear: float) -> np.ndarray:
    """Three vertical strokes (like 'lil') leaning by `shear` px per px of height, top right."""
    image = np.full((60, 120, 1), 235, np.uint8)
    for x0 in (30, 50, 70):
        for y in range(8, 52):
            x = round(x0 + shear * (30 - y))
            image[y, x - 2 : x + 2] = 25
    return image


@pytest.mark.parametrize("shear", [0.0, 0.3, 0.6, -0.4])
def test_slant_estimate_undoes_the_slant(shear):
    ink = to_ink(tf.constant(_slanted_word(shear)))
    assert float(estimate_slant(ink)) == pytest.approx(-shear, abs=0.11)


def test_deslant_makes_strokes_upright_and_crops_to_ink():
    ink = to_ink(tf.constant(_slanted_word(0.5)))
    upright = deslant(ink).numpy()[..., 0]
    inked_columns = int((upright.max(axis=0) > 0.5).sum())
    slanted_columns = int((ink.numpy()[..., 0].max(axis=0) > 0.5).sum())
    assert inked_columns <= 18 < slanted_columns  # 3 strokes of ~4-6 columns each
    assert upright.max(axis=0)[0] > 0.05 and upright.max(axis=0)[-1] > 0.05  # no empty sides


def test_deslant_leaves_a_blank_input_alone():
    blank = tf.zeros((20, 50, 1))
    np.testing.assert_array_equal(deslant(blank).numpy(), blank.numpy())


def test_fit_to_input_deslants_only_when_the_model_was_trained_so():
    image = tf.constant(_slanted_word(0.5))
    plain = fit_to_input(image, 32, 128).numpy()
    same = fit_to_input(image, 32, 128, preprocessing=Preprocessing(deslant=False)).numpy()
    upright = fit_to_input(image, 32, 128, preprocessing=Preprocessing(deslant=True)).numpy()
    np.testing.assert_array_equal(plain, same)
    assert np.abs(plain - upright).max() > 0.5


def test_preprocessing_file_round_trip_and_errors(tmp_path):
    path = tmp_path / "preprocess.json"
    assert Preprocessing.load(path) == Preprocessing()  # older models: no file, no deslant
    Preprocessing(deslant=True, crop_to_ink=True, smooth_upscale=True).save(path)
    assert Preprocessing.load(path) == Preprocessing(
        deslant=True, crop_to_ink=True, smooth_upscale=True
    )
    path.write_text('{"deslant": true}')  # written before crop_to_ink existed
    assert Preprocessing.load(path) == Preprocessing(deslant=True, crop_to_ink=False)
    path.write_text('{"deslant": true, "sharpen": 2}')
    with pytest.raises(HTRError, match=r"preprocess\.json"):
        Preprocessing.load(path)


def test_crop_to_ink_frames_a_lone_mark_as_prepare_foreign_does():
    # a comma-sized mark low in a word-height crop, as the renderers store punctuation
    image = _bar(64, 90, (44, 56, 40, 46))
    cropped = crop_ink(to_ink(tf.constant(image))).numpy()
    assert cropped.shape == prepare_foreign(image).shape == (14, 8, 1)  # 12 rows + 8% margin
    kept = normalise(tf.constant(image), Preprocessing(crop_to_ink=False)).numpy()
    assert kept.shape == (64, 90, 1)
    # graph mode (tf.data) gives the same crop, and blank ink comes back whole
    in_graph = tf.function(lambda x: normalise(x, Preprocessing(crop_to_ink=True)))
    assert in_graph(tf.constant(image)).shape == (14, 8, 1)
    blank = tf.zeros((20, 50, 1))
    np.testing.assert_array_equal(crop_ink(blank).numpy(), blank.numpy())


def test_model_config_names_the_preprocessing():
    from pipeline.common.config import compose

    cfg = compose(["model.crop_to_ink=false"])
    assert Preprocessing.of_model(cfg.model) == Preprocessing(
        deslant=True, crop_to_ink=False, smooth_upscale=True
    )
    cfg = compose(["model.smooth_upscale=false"])
    assert not Preprocessing.of_model(cfg.model).smooth_upscale
    assert Preprocessing.of_model(cfg.model).core_height == 0.0
    cfg = compose(["model.core_height=0.5", "model.normalise_ink=false"])
    assert Preprocessing.of_model(cfg.model).core_height == 0.5
    assert not Preprocessing.of_model(cfg.model).normalise_ink
    with pytest.raises(HTRError, match=r"model\.core_height.*1\.5"):
        Preprocessing.of_model(compose(["model.core_height=1.5"]).model)


def test_small_images_are_enlarged_smoothly_only_when_the_model_says_so():
    """A 16-px-high scan enlarged to 32: area repeats each pixel in 2x2 blocks, bilinear
    interpolates between them; images taller than the input shrink the same either way."""
    small = _bar(16, 16, (4, 12, 7, 9))
    blocky = fit_to_input(tf.constant(small), 32, 128).numpy()[..., 0]
    smooth = fit_to_input(
        tf.constant(small), 32, 128, preprocessing=Preprocessing(smooth_upscale=True)
    ).numpy()[..., 0]
    assert np.array_equal(blocky[::2, ::2], blocky[1::2, 1::2])  # 2x2 blocks
    assert len(np.unique(np.round(blocky, 4))) <= 2  # paper and ink, no edge in between
    assert len(np.unique(np.round(smooth, 4))) > 2  # a soft edge
    assert abs(smooth.sum() - blocky.sum()) < 0.1 * blocky.sum()  # the same stroke
    large = _bar(64, 64, (10, 50, 20, 30))
    np.testing.assert_array_equal(
        fit_to_input(tf.constant(large), 32, 128).numpy(),
        fit_to_input(
            tf.constant(large), 32, 128, preprocessing=Preprocessing(smooth_upscale=True)
        ).numpy(),
    )


def _short_and_tall_word() -> tuple[np.ndarray, np.ndarray]:
    """Two 'words' with one core band (rows 40-60, dense): the second also has an ascender
    and a descender (one thin stroke each, rows 26-40 and 60-74), as "dog" beside "no"."""
    short = _bar(100, 60, (40, 60, 5, 55))
    tall = short.copy()
    tall[26:40, 10:13] = 20
    tall[60:74, 40:43] = 20
    return short, tall


def test_core_band_is_the_dense_rows_not_the_ascenders_or_descenders():
    short, tall = _short_and_tall_word()
    for image in (short, tall):
        top, bottom = core_band(to_ink(tf.constant(image))).numpy()
        assert (top, bottom) == (40, 60)
    assert tuple(core_band(tf.zeros((12, 30, 1))).numpy()) == (0, 12)  # blank: all rows
    # a core that touches the image edges
    assert tuple(core_band(to_ink(tf.constant(_bar(30, 30, (0, 30, 5, 25))))).numpy()) == (0, 30)


def _core_rows(fitted: np.ndarray) -> int:
    """Rows of a fitted input where the core's dense ink is (the thin strokes excluded)."""
    return int((fitted[..., 0].sum(axis=1) > 10.0).sum())


def test_core_height_writes_short_and_tall_words_at_one_letter_size():
    """Fitting whole ink heights, a word without ascenders is drawn larger than one with
    them; fitting the core band, both cores take the same share of the input height and
    sit on its middle row. The scale is never larger than the whole ink fits, so ascenders
    and descenders are never cut and a long word is still limited by the width."""
    short, tall = _short_and_tall_word()
    crop = Preprocessing(crop_to_ink=True)
    core = Preprocessing(crop_to_ink=True, core_height=0.35)
    whole = [
        fit_to_input(tf.constant(x), 32, 128, preprocessing=crop).numpy() for x in (short, tall)
    ]
    assert _core_rows(whole[0]) >= 2 * _core_rows(whole[1])
    by_core = [
        fit_to_input(tf.constant(x), 32, 128, preprocessing=core).numpy() for x in (short, tall)
    ]
    assert [_core_rows(x) for x in by_core] == [11, 11]  # 0.35 x 32 rows
    for fitted in by_core:
        rows = np.flatnonzero(fitted[..., 0].sum(axis=1) > 10.0)
        assert abs((rows[0] + rows[-1] + 1) / 2 - 16) <= 1  # centred on the middle row
    assert (
        _core_rows(
            fit_to_input(
                tf.constant(tall),
                32,
                128,
                preprocessing=Preprocessing(crop_to_ink=True, core_height=0.6),
            ).numpy()
        )
        < 0.6 * 32
    )  # capped: the whole ink fits
    long_word = _bar(40, 400, (10, 30, 5, 395))
    np.testing.assert_array_equal(
        fit_to_input(tf.constant(long_word), 32, 128, preprocessing=crop).numpy(),
        fit_to_input(tf.constant(long_word), 32, 128, preprocessing=core).numpy(),
    )


def test_ink_levels_are_stretched_only_when_the_model_says_so():
    """Grey paper (230) and grey ink (120): stretched, paper is 0 and the ink 1; without,
    both keep their level (1 - grey / 255), which is what a model trained so reads."""
    image = _bar(30, 60, (10, 20, 10, 50), paper=230, ink=120)
    stretched = fit_to_input(tf.constant(image), 32, 128).numpy()
    plain = fit_to_input(
        tf.constant(image), 32, 128, preprocessing=Preprocessing(normalise_ink=False)
    ).numpy()
    assert stretched.max() == pytest.approx(1.0)
    assert plain.max() == pytest.approx(1 - 120 / 255, abs=1e-3)
    assert stretched[2, 40, 0] == 0.0  # paper
    assert plain[2, 40, 0] == pytest.approx(1 - 230 / 255, abs=1e-3)
