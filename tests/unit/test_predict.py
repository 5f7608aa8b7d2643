"""The predict CLI as users run it: a real subprocess, real image files, a real model."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from PIL import Image

from pipeline.common.config import compose
from pipeline.common.images import load_gray
from pipeline.data import split_store
from pipeline.data.synthetic.sample_data import render_held_out
from pipeline.decoding.ctc_decoders import Candidate
from pipeline.inference.recognizer import Reading, Recognizer
from pipeline.predict import answer, parse_args
from tests.hostile_images import hostile_files, huge_png
from tests.store_fixtures import locked, snapshot

if TYPE_CHECKING:
    from tests.model_fixtures import TinyProject

pytest_plugins = ["tests.model_fixtures"]

ROOT = Path(__file__).resolve().parents[2]
KEYS = ["image", "text", "probability", "candidates"]


def predict(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "pipeline.predict", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def reading(digits: bool = False) -> Reading:
    return Reading(
        text="cat",
        probability=0.5,
        candidates=[Candidate("cat", 0.5), Candidate("cut", 0.25)],
        model_input=np.zeros((32, 128), np.float32),
        digit_probabilities=np.full(10, 0.1) if digits else None,
        latency_ms=3.0,
    )


def test_json_answer_has_exactly_the_documented_keys() -> None:
    data = json.loads(answer(Path("a b.png"), reading(), as_json=True))
    assert list(data) == KEYS
    assert data["image"] == "a b.png"
    assert data["candidates"] == [
        {"text": "cat", "probability": 0.5},
        {"text": "cut", "probability": 0.25},
    ]
    digit = json.loads(answer(Path("d.png"), reading(digits=True), as_json=True))
    assert list(digit) == [*KEYS, "digit_probabilities"]
    assert digit["digit_probabilities"] == [0.1] * 10
    assert answer(Path("a.png"), reading(), as_json=False) == "a.png\tcat\t0.5"


def test_arguments_are_checked_before_anything_loads(capsys) -> None:
    args = parse_args(["x.png", "--decoder", "wordbeam", "--top-k", "2"])
    assert (args.decoder, args.mode, args.top_k, args.json) == ("wordbeam", "text", 2, False)
    for bad in (["x.png", "--top-k", "0"], ["x.png", "--decoder", "greedy"], []):
        with pytest.raises(SystemExit) as exit_info:
            parse_args(bad)
        assert exit_info.value.code == 2
    assert "--top-k must be at least 1" in capsys.readouterr().err


def test_default_model_comes_from_the_config_and_its_absence_is_one_line(tmp_path: Path) -> None:
    done = predict(str(tmp_path / "x.png"), cwd=tmp_path)
    assert done.returncode == 2
    [line] = errors(done.stderr)
    assert "models:/htr-sample@champion" in line
    assert f"no MLflow store at {tmp_path.resolve() / 'mlflow.db'}" in line
    assert not (tmp_path / "mlflow.db").exists()
    assert done.stdout == ""


def test_a_model_file_of_random_bytes_is_one_line_naming_it(tmp_path: Path) -> None:
    model = tmp_path / "recognizer.keras"
    model.write_bytes(np.random.default_rng(0).bytes(10_000))
    done = predict(str(tmp_path / "x.png"), "--model", str(model), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1:] == [
        f"error: cannot load the model: model file {model} is not a valid Keras model "
        "(not a .keras zip archive)"
    ]
    assert "Traceback" not in done.stderr and done.stdout == ""


@pytest.fixture(scope="module")
def images(tiny_project: TinyProject, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A real test-split word as grey, RGBA-on-transparent and 16-bit PNGs, a held-out-font
    JPEG, plus bad files."""
    folder = tmp_path_factory.mktemp("images")
    grey = split_store(tiny_project.cfg, "test").read(0).image[..., 0]
    paths = {name: folder / f"{name}.png" for name in ("grey", "rgba", "g16", "blank", "bad")}
    Image.fromarray(grey).save(paths["grey"])
    rgba = np.zeros((*grey.shape, 4), np.uint8)
    rgba[..., 3] = 255 - grey  # black ink, opaque where dark: on white paper it is `grey`
    Image.fromarray(rgba, "RGBA").save(paths["rgba"])
    Image.fromarray(grey.astype(np.uint16) * 257).save(paths["g16"])
    assert Image.open(paths["g16"]).mode.startswith("I;16")
    Image.fromarray(np.full((40, 120), 250, np.uint8)).save(paths["blank"])
    paths["bad"].write_bytes(b"\x89PNG\r\n\x1a\n this is not an image")
    paths["missing"] = folder / "missing.png"
    # a word in a font the data set never uses, as an RGB JPEG (another format and mode)
    held, _ = render_held_out(tiny_project.cfg, 1, seed=3)[0]
    paths["held"] = folder / "held.jpg"
    Image.fromarray(held).convert("RGB").save(paths["held"], quality=90)
    return paths


@pytest.mark.slow
def test_bad_files_get_one_error_line_each_and_good_ones_an_answer(
    tiny_project: TinyProject, images: dict[str, Path]
) -> None:
    order = ["grey", "missing", "bad", "rgba", "blank", "g16", "held"]
    done = predict(
        *(str(images[n]) for n in order), "--model", str(tiny_project.model_path), "--json"
    )
    assert done.returncode == 1
    lines = errors(done.stderr)
    assert len(lines) == 3
    assert str(images["missing"]) in lines[0] and "missing" in lines[0]
    assert str(images["bad"]) in lines[1] and "undecodable" in lines[1]
    assert str(images["blank"]) in lines[2] and "blank" in lines[2]
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert [a["image"] for a in answers] == [
        str(images[n]) for n in ("grey", "rgba", "g16", "held")
    ]
    for data in answers:
        assert list(data) == KEYS
        assert 1 <= len(data["candidates"]) <= 5
        assert data["text"] == data["candidates"][0]["text"]
    # RGBA on transparent paper and 16-bit grey decode to the same pixels as the 8-bit file.
    first = {k: v for k, v in answers[0].items() if k != "image"}
    for data in answers[1:3]:
        assert {k: v for k, v in data.items() if k != "image"} == first


@pytest.mark.slow
def test_registered_champion_in_digit_mode(tiny_project: TinyProject, images) -> None:
    done = predict(
        str(images["grey"]),
        "--model",
        tiny_project.champion_uri,
        "--tracking-uri",
        tiny_project.tracking_uri,
        "--mode",
        "digit",
        "--top-k",
        "3",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    [data] = [json.loads(line) for line in done.stdout.splitlines()]
    assert list(data) == [*KEYS, "digit_probabilities"]
    assert sum(data["digit_probabilities"]) == pytest.approx(1.0)
    assert len(data["candidates"]) == 3 and data["text"] in "0123456789"
    assert data["probability"] == max(data["digit_probabilities"])
    library = Recognizer.load(
        tiny_project.champion_uri, compose().decode, tiny_project.tracking_uri
    ).read(load_gray(images["grey"]), mode="digit", top_k=3)
    assert data["text"] == library.text
    np.testing.assert_allclose(data["digit_probabilities"], library.digit_probabilities, rtol=1e-4)


@pytest.mark.slow
def test_hostile_files_among_the_images_are_named_and_the_rest_still_read(
    tiny_project: TinyProject, images: dict[str, Path], tmp_path: Path
) -> None:
    bad = hostile_files(tmp_path)
    bad["huge"] = tmp_path / "huge.png"
    bad["huge"].write_bytes(huge_png(13000, 13000))  # 37 KB, 169 megapixels
    bad["bomb"] = tmp_path / "bomb.png"
    bad["bomb"].write_bytes(huge_png(20000, 20000))  # 76 KB, past Pillow's own limit
    order = ["fifo", "loop", "long", "directory", "text", "huge", "bomb"]
    done = predict(
        str(images["grey"]), *(str(bad[n]) for n in order), str(images["held"]),
        "--model", str(tiny_project.model_path),
    )  # fmt: skip
    assert done.returncode == 1
    assert errors(done.stderr) == [
        f"error: unreadable image {bad['fifo']}: it is a FIFO (named pipe), not an image file",
        f"error: unreadable image {bad['loop']}: Too many levels of symbolic links",
        f"error: unreadable image {bad['long']}: File name too long",
        f"error: unreadable image {bad['directory']}: it is a directory, not an image file",
        f"error: undecodable image {bad['text']}: not a PNG, JPEG, TIFF, BMP or WEBP image",
        f"error: oversized image {bad['huge']}: 13000x13000 pixels (169.0 megapixels); "
        "the limit is 20 megapixels",
        f"error: oversized image {bad['bomb']}: over 179 megapixels; the limit is 20 megapixels",
    ]
    assert "Traceback" not in done.stderr and "DecompressionBomb" not in done.stderr
    read = [line.split("\t")[0] for line in done.stdout.splitlines()]
    assert read == [str(images["grey"]), str(images["held"])]


def test_a_tracking_uri_at_a_file_that_is_no_database_is_one_line(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database\n")
    done = predict(str(tmp_path / "x.png"), "--tracking-uri", f"sqlite:///{notes}", cwd=tmp_path)
    assert done.returncode == 2
    [line] = errors(done.stderr)
    assert line.endswith(f"the MLflow store {notes} is not an MLflow database")
    assert "Traceback" not in done.stderr
    assert notes.read_text() == "not a database\n"


@pytest.mark.slow
def test_predict_on_a_busy_store_is_one_line(
    tiny_project: TinyProject, images: dict[str, Path], tmp_path: Path
) -> None:
    store = tmp_path / "mlflow.db"
    shutil.copyfile(tiny_project.root / "mlflow.db", store)
    with locked(store):
        done = predict(
            str(images["grey"]),
            "--model",
            tiny_project.champion_uri,
            "--tracking-uri",
            f"sqlite:///{store}",
        )
    assert done.returncode == 2
    [line] = errors(done.stderr)
    assert line.endswith(f"the MLflow store {store} is busy, retry")
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


@pytest.mark.slow
def test_predict_with_the_champion_leaves_the_store_untouched(
    tiny_project: TinyProject, images: dict[str, Path]
) -> None:
    root = tiny_project.root
    before = snapshot(root / "mlartifacts"), snapshot(root / "mlflow.db")
    done = predict(
        str(images["grey"]),
        "--model",
        tiny_project.champion_uri,
        "--tracking-uri",
        tiny_project.tracking_uri,
    )
    assert done.returncode == 0, done.stderr
    assert (snapshot(root / "mlartifacts"), snapshot(root / "mlflow.db")) == before
