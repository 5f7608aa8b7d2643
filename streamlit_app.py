"""Draw or upload handwriting and read it with a registered model (the champion by default).

Run in the project after `dvc repro`: `streamlit run streamlit_app.py`. The app finds the
MLflow store through the same config as the pipeline; HTR_PROJECT_ROOT, HTR_TRACKING_URI
and HTR_OVERRIDES point it at another project (see pipeline/catalogue.py).
"""

from __future__ import annotations

import hashlib
import time

import numpy as np
import streamlit as st
from mlflow.exceptions import MlflowException
from omegaconf import DictConfig

from pipeline.app import catalogue, feedback, intake
from pipeline.app import runtime as app_runtime
from pipeline.app import view as app_view
from pipeline.common.config import project_path
from pipeline.common.errors import HTRError
from pipeline.inference import Reading, Recognizer
from pipeline.models import prepare_foreign
from pipeline.tracking import ModelInfo, VersionInfo, list_models

SETUP_COMMAND = "./.ci/setup && . .venv/bin/activate && dvc repro"
HEADLINE = ("test_cer", "test_wer", "test_word_accuracy")


@st.cache_data(ttl=10, show_spinner=False)
def registered_models(tracking_uri: str) -> list[ModelInfo]:
    """The store's registered models, re-read at most every 10 s."""
    return list_models(tracking_uri)


@st.cache_resource(show_spinner="Loading the model…", max_entries=4)
def load_recognizer(uri: str, tracking_uri: str, root: str, _decode: DictConfig) -> Recognizer:
    """One loaded recognizer per model version and store, shared by all sessions."""
    return Recognizer.load(uri, _decode, tracking_uri=tracking_uri, root=root)


def no_model_page(tracking_uri: str, prefix: str) -> None:
    """What to do when nothing is registered yet, instead of a stack trace."""
    st.title("Handwriting reader")
    st.warning("No trained model is registered yet, so there is nothing to read with.")
    st.markdown("Train and register one with the pipeline's main command, then reload:")
    st.code(SETUP_COMMAND, language="bash")
    st.caption(f"Looked for registered models named `{prefix}-…` in `{tracking_uri}`.")


def pick_model(
    box, models: list[ModelInfo], cfg: DictConfig, mode: app_view.Mode
) -> tuple[str, VersionInfo]:
    """Sidebar pickers: registered model and version (champion preselected); line mode
    starts on the line model (`app.line_data`) when one is registered."""
    reads_lines = mode.feedback_kind == "lines"
    preferred = catalogue.preferred_model(cfg, reads_lines)
    model = box.selectbox(
        "Registered model",
        models,
        index=catalogue.default_model(models, preferred),
        format_func=lambda m: m.name,
        key="model-line" if reads_lines else "model",
    )
    version = box.selectbox(
        "Version",
        model.versions,
        index=catalogue.default_version(model, cfg.mlflow.champion_alias),
        format_func=catalogue.version_label,
        key="version",
    )
    box.caption("  \n".join(catalogue.metric_lines(version, HEADLINE)) or "no test metrics")
    with box.expander("All test metrics"):
        st.caption("  \n".join(catalogue.metric_lines(version)) or "none")
    return model.name, version


def pick_mode() -> app_view.Mode:
    """Sidebar: what is written (a word, a line or one digit)."""
    return app_view.MODES[
        st.sidebar.radio("Mode", list(app_view.MODES), horizontal=True, key="mode")
    ]


def reading_settings(cfg: DictConfig, mode: app_view.Mode, version: VersionInfo) -> tuple[str, int]:
    """Sidebar settings: the decoder (text modes, preselected: the version's best by test
    CER; digits decode as digits) and the stroke width."""
    decoders = catalogue.offered_decoders(cfg)
    decoder = (
        "digit"
        if mode.read_mode == "digit"
        else st.sidebar.selectbox(
            "Decoder", decoders, index=catalogue.default_decoder(version, decoders)
        )
    )
    stroke = st.sidebar.slider(
        "Stroke width", 1, cfg.app.max_stroke_width, cfg.app.default_stroke_width
    )
    return decoder, stroke


def take_image(source: str, cfg: DictConfig, stroke_width: int) -> tuple[np.ndarray | None, float]:
    """The drawn or uploaded image (or None with a message shown) and its intake time."""
    started = time.perf_counter()
    limits = intake.Limits.from_config(cfg)
    try:
        if source == "Draw":
            from streamlit_drawable_canvas import st_canvas

            canvas = st_canvas(
                stroke_width=stroke_width,
                stroke_color="#000000",
                background_color="#ffffff",
                width=cfg.app.canvas_width,
                height=cfg.app.canvas_height,
                drawing_mode="freedraw",
                return_image_data=True,
                key="canvas",
            )
            image = intake.read_canvas(canvas.image_bytes, limits)
        else:
            upload = st.file_uploader(
                "PNG or JPEG image",
                type=list(intake.UPLOAD_TYPES),
                max_upload_size=limits.upload_mb,
            )
            if upload is None:
                st.info("Upload a PNG or JPEG image of handwriting.")
                return None, 0.0
            image = intake.read_upload(upload.getvalue(), upload.name, limits)
    except intake.BlankCanvas as err:
        st.info(str(err))
        return None, 0.0
    except HTRError as err:
        st.warning(str(err))
        return None, 0.0
    return image, (time.perf_counter() - started) * 1000.0


def read_once(
    recognizer: Recognizer,
    key: tuple,
    image: np.ndarray,
    decoder: str,
    mode: app_view.Mode,
    top_k: int,
) -> Reading:
    """Read the image, reusing this session's last reading when nothing changed."""
    digest = hashlib.sha1(image.tobytes() + str(image.shape).encode()).hexdigest()
    full_key = (*key, decoder, mode.label, top_k, digest)
    last = st.session_state.get("last_reading")
    if last is not None and last[0] == full_key:
        return last[1]
    reading = recognizer.read(
        image, decoder=decoder, mode=mode.read_mode, top_k=top_k, foreign=True
    )
    st.session_state["last_reading"] = (full_key, reading)
    return reading


def show_reading(
    reading: Reading, mode: app_view.Mode, decoder: str, intake_ms: float, cfg: DictConfig
) -> None:
    """The text, its probability, latency, the model's input and the candidates or digits."""
    st.metric("It says", reading.text or "(nothing)")
    prob_col, time_col = st.columns(2)
    prob_col.metric("Probability", f"{reading.probability:.3g}")
    time_col.metric("Latency", f"{reading.latency_ms:.0f} ms")
    st.caption(
        f"model and decoding {reading.latency_ms:.1f} ms; with reading the image "
        f"{reading.latency_ms + intake_ms:.1f} ms"
    )
    height, width = np.shape(np.squeeze(reading.model_input))
    scale = cfg.app.preview_scale
    st.image(
        app_view.preview(reading.model_input, scale),
        caption=f"What the model saw: its {height}×{width} input, shown ×{scale}",
        output_format="PNG",
        width="stretch",
    )
    if mode.read_mode == "digit" and reading.digit_probabilities is not None:
        st.markdown("**Digit probabilities**")
        st.bar_chart(app_view.digit_frame(reading.digit_probabilities), x="digit", y="probability")
    st.markdown(f"**Top {len(reading.candidates)} candidates** ({decoder})")
    st.table(app_view.candidate_table(reading.candidates))


def feedback_form(image: np.ndarray, mode: app_view.Mode, cfg: DictConfig) -> None:
    """The "that's wrong" box: save the image and the right text as a training sample."""
    directory = project_path(cfg, cfg.paths.feedback)
    with st.form("feedback", clear_on_submit=True):
        text = st.text_input("That's wrong — it says:")
        if st.form_submit_button("Save correction"):
            try:
                text = app_view.check_correction(text, mode)
                entry = feedback.save_sample(
                    directory, prepare_foreign(image), text, mode.feedback_kind
                )
                st.success(f"Saved {entry.text!r} as {entry.id}. Thank you!")
            except HTRError as err:
                st.warning(str(err))


def show_result(
    recognizer: Recognizer,
    key: tuple,
    image: np.ndarray,
    decoder: str,
    mode: app_view.Mode,
    intake_ms: float,
    cfg: DictConfig,
) -> None:
    """Read the image and show the reading with the correction box under it."""
    try:
        reading = read_once(recognizer, key, image, decoder, mode, cfg.decode.top_k)
    except HTRError as err:
        st.warning(str(err))
        return
    show_reading(reading, mode, decoder, intake_ms, cfg)
    feedback_form(image, mode, cfg)


def main() -> None:
    """The page: model picker and settings in the sidebar, input beside the result."""
    st.set_page_config(page_title="Handwriting reader", page_icon="✍️", layout="wide")
    app_runtime.keep_keras_session()
    try:
        cfg = catalogue.app_config()
        tracking_uri = catalogue.app_tracking_uri(cfg)
        prefix = cfg.mlflow.registered_model_prefix
        models = catalogue.offered_models(registered_models(tracking_uri), prefix)
    except (HTRError, MlflowException) as err:
        st.error(f"Cannot read the project's configuration or model registry: {err}")
        return
    if not models:
        no_model_page(tracking_uri, prefix)
        return

    picker = st.sidebar.container()  # model pickers stay on top, settings below
    mode = pick_mode()
    name, picked = pick_model(picker, models, cfg, mode)
    decoder, stroke = reading_settings(cfg, mode, picked)
    count_slot = st.sidebar.empty()
    version = picked.version
    uri = catalogue.model_uri(name, version)

    st.title("Handwriting reader")
    try:
        recognizer = load_recognizer(uri, tracking_uri, cfg.paths.root, cfg.decode)
    except (HTRError, MlflowException, OSError) as err:
        st.error(f"Cannot load {name} version {version}: {err}")
        return
    st.caption(f"Reading with **{name}** version {version} ({uri}). {mode.hint}")

    source = st.radio(
        "Input", ["Draw", "Upload"], horizontal=True, label_visibility="collapsed", key="source"
    )
    left, right = st.columns([3, 2], gap="large")
    with left:
        image, intake_ms = take_image(source, cfg, stroke)
    if image is not None:
        with right:
            show_result(recognizer, (uri, tracking_uri), image, decoder, mode, intake_ms, cfg)
    directory = project_path(cfg, cfg.paths.feedback)
    count_slot.caption(f"Feedback samples saved: {feedback.count_samples(directory)}")


main()
