"""The Streamlit app under AppTest, on a real MLflow SQLite store in a temporary project.

The registered model is a real, untrained tiny CRNN logged and registered the way the
pipeline does it: its readings are noise, but every step from upload to reading is real.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path

import keras
import numpy as np
import pyarrow as pa
import pytest
from mlflow import MlflowClient
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from pipeline import tracking
from pipeline.app import intake
from pipeline.app import runtime as app_runtime
from pipeline.app import view as app_view
from pipeline.app.catalogue import ENV_OVERRIDES, ENV_ROOT, ENV_TRACKING_URI
from pipeline.common.charset import Charset
from pipeline.common.config import compose, project_path
from pipeline.common.errors import HTRError
from pipeline.data.iam import index as iam
from pipeline.models.builders import build_crnn
from pipeline.tracking import registry
from tests.hostile_images import encoded, huge_png

APP = str(Path(__file__).resolve().parents[3] / "streamlit_app.py")
OVERRIDES = "data=tiny model=tiny mlflow=tiny decode=tiny app=tiny images=tiny"
TIMEOUT = 120
CHARS = "0123456789abcdefghijklmnopqrstuvwxyz"


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project whose store holds two versions of htr-tiny-tiny (version 2 is champion) and
    one of the line model htr-tiny-tiny_lines."""
    root = tmp_path_factory.mktemp("app-project")
    cfg = compose(OVERRIDES.split(), root=root)
    keras.utils.set_random_seed(0)
    model = build_crnn(cfg.model, Charset(CHARS).num_classes)
    corpus = root / "corpus.txt"
    corpus.write_text("the\ncat\nsat\n", encoding="utf-8")
    run_id = tracking.start_training_run(cfg, "fingerprint")
    tracking.log_run_files(run_id, cfg=cfg, charset=CHARS)
    tracking.log_artifacts(run_id, {"corpus.txt": corpus})
    uri = tracking.log_keras_model(run_id, model)
    MlflowClient(tracking.tracking_uri_for(cfg)).set_terminated(run_id)
    # version 1 read best with beam search, version 2 with word beam search
    for cer, beam in ((0.5, 0.5), (0.25, 0.3)):
        metrics = {"test_cer": cer, "test_wer": 2 * cer, "test_cer_beam": beam}
        metrics |= {"test_cer_bestpath": 0.7, "test_cer_wordbeam": cer + 0.05 * (cer == beam)}
        registry.register(cfg, run_id, uri, metrics, "fingerprint")
    lines_cfg = compose([*OVERRIDES.split(), "data=tiny_lines"], root=root)
    registry.register(lines_cfg, run_id, uri, {"test_cer": 0.4}, "fingerprint")
    return root


@pytest.fixture(autouse=True)
def _restore_process_state() -> Iterator[None]:
    """Give back what running the app in-process changes: the app disables
    keras.backend.clear_session, and AppTest leaves the app script as `__main__`, which
    later `spawn` process pools (sample rendering, feedback) would run in every child."""
    clear_session, main = keras.backend.clear_session, sys.modules["__main__"]
    yield
    keras.backend.clear_session, sys.modules["__main__"] = clear_session, main


def _app(monkeypatch: pytest.MonkeyPatch, root: Path, overrides: str = OVERRIDES) -> AppTest:
    monkeypatch.setenv(ENV_ROOT, str(root))
    monkeypatch.setenv(ENV_OVERRIDES, overrides)
    monkeypatch.delenv(ENV_TRACKING_URI, raising=False)
    return AppTest.from_file(APP, default_timeout=TIMEOUT).run()


def _texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def _encoded(image: Image.Image, kind: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=kind)
    return buffer.getvalue()


def _png(image: Image.Image) -> bytes:
    return _encoded(image, "PNG")


def _word_png(size: tuple[int, int] = (160, 48)) -> bytes:
    image = Image.new("L", size, 255)
    ImageDraw.Draw(image).line([(10, 30), (40, 10), (70, 35), (100, 12), (140, 30)], 0, 5)
    return _png(image)


def _upload(at: AppTest, name: str, data: bytes, mime: str = "image/png") -> AppTest:
    at.file_uploader[0].set_value((name, data, mime))
    return at.run()


def test_without_a_registered_model_the_page_says_to_run_dvc_repro(monkeypatch, tmp_path):
    at = _app(monkeypatch, tmp_path)
    assert not at.exception
    assert "No trained model is registered" in _texts(at.warning)
    assert "dvc repro" in _texts(at.code)
    assert not at.sidebar.selectbox

    MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}").search_experiments()  # an empty store
    at = _app(monkeypatch, tmp_path)
    assert not at.exception
    assert "No trained model is registered" in _texts(at.warning)


def test_picker_lists_versions_aliases_and_cer_with_champion_chosen(monkeypatch, registered):
    at = _app(monkeypatch, registered)
    assert not at.exception
    model, version = at.selectbox(key="model"), at.selectbox(key="version")
    assert model.options == ["htr-tiny-tiny", "htr-tiny-tiny_lines"]
    assert model.value.name == "htr-tiny-tiny"
    assert version.options == [
        "version 2 · champion · test CER 0.2500",
        "version 1 · test CER 0.5000",
    ]
    assert version.value.version == 2
    assert "test CER: 0.25" in _texts(at.sidebar.caption)
    assert "version 2" in _texts(at.caption)

    assert _decoder(at).value == "wordbeam"  # version 2's best decoder

    at = version.set_value(model.value.versions[1]).run()
    assert not at.exception
    assert "models:/htr-tiny-tiny/1" in _texts(at.caption)
    assert _decoder(at).value == "beam"


def _decoder(at: AppTest):
    return next(box for box in at.sidebar.selectbox if box.label == "Decoder")


def test_line_mode_starts_on_the_line_model(monkeypatch, registered):
    at = _app(monkeypatch, registered)
    at = at.radio(key="mode").set_value("line").run()
    assert not at.exception
    assert at.selectbox(key="model-line").value.name == "htr-tiny-tiny_lines"
    assert "htr-tiny-tiny_lines" in _texts(at.caption)
    assert _decoder(at).value == "beam"  # no per-decoder test CER on this version
    at = at.radio(key="mode").set_value("word").run()
    assert at.selectbox(key="model").value.name == "htr-tiny-tiny"


def test_blank_canvas_asks_to_draw_and_reads_nothing(monkeypatch, registered):
    at = _app(monkeypatch, registered)
    assert "Draw something" in _texts(at.info)
    assert not at.metric
    assert not at.table


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("notes.png", b"these are not the pixels you are looking for", "not a PNG or JPEG image"),
        ("empty.png", b"", "empty"),
        ("huge.png", bytes(60_000), "the limit is 0.05 MB"),
        ("wide.png", _png(Image.new("L", (1000, 600), 255)), "the limit is 0.5 megapixels"),
        ("disguised.png", _encoded(Image.new("L", (60, 20)), "GIF"), "is a GIF image"),
        ("blank.png", _png(Image.new("L", (120, 40), 255)), "blank"),
    ],
    ids=["not-an-image", "empty", "too-many-bytes", "too-many-pixels", "gif", "blank"],
)
def test_bad_upload_gets_a_message_and_the_app_keeps_working(
    monkeypatch, registered, name, data, message
):
    at = _app(monkeypatch, registered)
    at = at.radio(key="source").set_value("Upload").run()
    assert "Upload a PNG or JPEG" in _texts(at.info)

    at = _upload(at, name, data)
    assert not at.exception
    assert message in _texts(at.warning)
    assert not at.metric

    at = _upload(at, "word.png", _word_png())
    assert not at.exception
    assert not at.warning
    assert [m.label for m in at.metric] == ["It says", "Probability", "Latency"]


def test_an_upload_too_large_for_pillow_is_a_warning_not_an_exception(monkeypatch, registered):
    """A 76 KB PNG of 20000x20000 pixels under the production limits (10 MB, 20 megapixels)."""
    at = _app(monkeypatch, registered, f"{OVERRIDES} app.max_upload_mb=10 images.max_megapixels=20")
    at = at.radio(key="source").set_value("Upload").run()
    at = _upload(at, "bomb.png", huge_png(20000, 20000))
    assert not at.exception
    assert _texts(at.warning) == (
        "oversized image bomb.png: over 179 megapixels; the limit is 20 megapixels"
    )
    assert not at.metric
    at = _upload(at, "word.png", _word_png())
    assert not at.exception and not at.warning
    assert at.metric[0].label == "It says"


def test_upload_reads_shows_model_input_and_saves_feedback(monkeypatch, registered):
    at = _app(monkeypatch, registered)
    at = at.radio(key="source").set_value("Upload").run()
    at = _upload(at, "word.png", _word_png())
    assert not at.exception
    reading, probability, latency = (m.value for m in at.metric)
    assert 0.0 <= float(probability) <= 1.0
    assert latency.endswith(" ms")
    assert at.get("image")[0].captions == ["What the model saw: its 32×128 input, shown ×4"]
    table = at.table[0].value
    assert list(table.columns) == ["text", "probability"]
    assert 1 <= len(table) <= 3
    assert all(0.0 <= float(p) <= 1.0 for p in table["probability"])
    assert table["text"].iloc[0] == (reading if reading != "(nothing)" else "")

    at.text_input[0].set_value("two words")
    at = at.button[0].click().run()
    assert "no spaces" in _texts(at.warning)
    at.text_input[0].set_value("zigzag")
    at = at.button[0].click().run()
    assert "Saved 'zigzag' as fb-0000-00-00" in _texts(at.success)
    assert "Feedback samples saved: 1" in _texts(at.sidebar.caption)
    cfg = compose(OVERRIDES.split(), root=registered)
    (entry,) = iam.read_words(project_path(cfg, cfg.paths.feedback))
    assert entry.text == "zigzag"


def test_digit_mode_shows_ten_probabilities(monkeypatch, registered):
    at = _app(monkeypatch, registered)
    at = at.radio(key="mode").set_value("digit").run()
    at = at.radio(key="source").set_value("Upload").run()
    at = _upload(at, "digit.png", _word_png((40, 48)))
    assert not at.exception
    (chart,) = at.get("vega_lite_chart")
    (dataset,) = chart.proto.datasets
    frame = pa.ipc.open_stream(dataset.data.data).read_all().to_pandas()
    assert list(frame["digit"]) == list("0123456789")
    assert frame["probability"].between(0.0, 1.0).all()
    assert frame["probability"].sum() == pytest.approx(1.0, abs=1e-3)
    assert at.metric[0].value == frame["digit"][frame["probability"].idxmax()]
    assert len(at.sidebar.selectbox) == 2  # no decoder picker: digits are decoded as digits
    assert len(at.table[0].value) == 3  # decode=tiny: top 3


def test_unreadable_model_version_is_a_message_not_a_traceback(monkeypatch, tmp_path):
    cfg = compose(OVERRIDES.split(), root=tmp_path)
    client = MlflowClient(tracking.configure(cfg))
    client.create_registered_model("htr-tiny-tiny")
    client.create_model_version("htr-tiny-tiny", str(tmp_path / "missing-model"))
    at = _app(monkeypatch, tmp_path)
    assert not at.exception
    assert "Cannot load htr-tiny-tiny version 1" in _texts(at.error)
    assert at.sidebar.selectbox[1].options == ["version 1 · no test CER"]


def test_canvas_intake_blank_drawn_and_too_large():
    limits = intake.Limits(max_bytes=1000, max_pixels=40_000)
    with pytest.raises(intake.BlankCanvas):
        intake.read_canvas(None, limits)
    transparent = Image.new("RGBA", (300, 100), (0, 0, 0, 0))
    with pytest.raises(intake.BlankCanvas, match="Draw something"):
        intake.read_canvas(_png(transparent), limits)
    ImageDraw.Draw(transparent).line([(50, 50), (250, 60)], (0, 0, 0, 255), 8)
    grey = intake.read_canvas(_png(transparent), limits)
    assert grey.shape == (100, 300, 1)
    assert grey[0, 0, 0] == 255 and grey[55, 150, 0] < 50  # paper white, ink dark
    # the canvas bytes come from the browser: a forged huge one is refused unread
    with pytest.raises(HTRError, match=r"^oversized image the canvas: 1000x1000 pixels"):
        intake.read_canvas(huge_png(1000, 1000), limits)


def test_upload_limits_count_bytes_and_pixels():
    limits = intake.Limits(max_bytes=1000, max_pixels=10_000)
    small = _png(Image.new("L", (100, 100), 200))
    assert intake.read_upload(small, "ok.png", limits).shape == (100, 100, 1)
    with pytest.raises(HTRError, match="megapixels"):
        intake.read_upload(_png(Image.new("L", (101, 100), 200)), "big.png", limits)
    with pytest.raises(HTRError, match=r"the limit is 0\.001 MB"):
        intake.read_upload(bytes(1001), "heavy.png", limits)
    jpeg = _encoded(Image.new("L", (50, 20), 90), "JPEG")
    assert intake.read_upload(jpeg, "ok.jpg", limits).shape == (20, 50, 1)
    # many phone cameras write multi-picture JPEGs, which Pillow opens as "MPO"
    frames = [Image.new("RGB", (50, 20), (90, 90, 90)), Image.new("RGB", (25, 10))]
    mpo = encoded(frames[0], "MPO", save_all=True, append_images=frames[1:])
    assert Image.open(io.BytesIO(mpo)).format == "MPO"
    roomy = intake.Limits(max_bytes=len(mpo), max_pixels=10_000)
    assert intake.read_upload(mpo, "phone.jpg", roomy).shape == (20, 50, 1)


def test_preview_shows_ink_dark_and_scaled_blockwise():
    ink = np.zeros((2, 3), np.float32)
    ink[1, 2] = 1.0
    shown = app_view.preview(ink, 4, frame=1)
    assert shown.shape == (10, 14) and shown.dtype == np.uint8
    inside = shown[1:-1, 1:-1]
    assert (inside[4:, 8:] == 0).all() and (inside[:4] == 255).all()
    assert (shown[0] == app_view.FRAME_GREY).all() and (shown[:, -1] == app_view.FRAME_GREY).all()


def test_digit_corrections_must_be_one_digit():
    digit = app_view.MODES["digit"]
    assert app_view.check_correction(" 7 ", digit) == "7"
    with pytest.raises(HTRError, match="single digit"):
        app_view.check_correction("77", digit)
    assert app_view.check_correction("two words", app_view.MODES["line"]) == "two words"


def test_the_app_keeps_keras_kernels_between_reruns(monkeypatch, tmp_path):
    _app(monkeypatch, tmp_path)
    assert app_runtime.session_kept()
