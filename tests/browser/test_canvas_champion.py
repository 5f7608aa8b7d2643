"""The canvas app on the project's own champion (a model trained on the default data).

Runs when this project has a registered `htr-sample@champion` (after the README's main
command, `dvc repro`); skipped otherwise, since training it takes the pipeline's 15
minutes. Draws a vertical stroke in digit mode (must read "1"), the digits 0-9 and three
words with the mouse, and writes what the model read to test-artifacts/champion.json.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest

from pipeline.catalogue import ENV_OVERRIDES, ENV_ROOT, ENV_TRACKING_URI
from pipeline.config import compose
from pipeline.registry import list_models
from pipeline.tracking import tracking_uri_for
from tests.browser.app_page import draw, read_candidates, read_metrics, write
from tests.browser.conftest import ARTIFACTS, REPO, served_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]
WORDS = ("hello", "the", "and")


def _has_champion() -> bool:
    cfg = compose([], root=REPO)
    if not (REPO / "mlflow.db").is_file():
        return False
    models = list_models(tracking_uri_for(cfg))
    return any(m.name == "htr-sample" and "champion" in m.aliases for m in models)


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    """The app served on this project's own MLflow store."""
    if not _has_champion():
        pytest.skip("no htr-sample@champion in this project: run `dvc repro` first")
    env = {**os.environ, ENV_ROOT: str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}
    for name in (ENV_TRACKING_URI, ENV_OVERRIDES):
        env.pop(name, None)
    with served_app(env, ARTIFACTS / "streamlit-champion.log") as url:
        yield url


def _clear(page) -> None:
    page.reload()
    page.locator("canvas.upper-canvas").wait_for()


def _digit_mode(page) -> None:
    page.locator('[data-testid="stSidebar"]').get_by_text("digit", exact=True).click()
    page.get_by_text("Write one digit").wait_for()


def _save(name: str, readings: dict) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "champion.json"
    data = json.loads(path.read_text()) if path.is_file() else {}
    path.write_text(json.dumps({**data, name: readings}, indent=2) + "\n")
    print(f"\n{name}: {readings}")


def test_vertical_stroke_reads_as_one(page):
    _digit_mode(page)
    draw(page, [(300.0, 30.0), (300.0, 90.0), (300.0, 170.0)])
    metrics = read_metrics(page)
    _save("vertical_stroke", metrics)
    assert metrics["It says"] == "1"


def test_digits_and_words_drawn_with_the_mouse(page):
    from tests.browser.strokes import word_strokes

    digits = {}
    _digit_mode(page)
    for digit in "0123456789":
        for stroke in word_strokes(digit, left=260, top=30, height=140):
            draw(page, stroke)
        digits[digit] = read_metrics(page)["It says"]
        _clear(page)
        _digit_mode(page)
    _clear(page)
    words = {}
    for word in WORDS:
        write(page, word)
        words[word] = [text for text, _ in read_candidates(page)]
        if word == WORDS[0] and os.environ.get("HTR_UPDATE_SCREENSHOT") == "1":
            page.screenshot(path=str(REPO / "docs" / "app_screenshot.png"), full_page=True)
        _clear(page)
    _save("digits", digits)
    _save("words", words)
    correct = sum(read == digit for digit, read in digits.items())
    assert correct >= 5, f"only {correct}/10 drawn digits read correctly: {digits}"
