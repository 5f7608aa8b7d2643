"""The canvas app on the project's own champion (a model trained on the default data).

Runs when this project has a registered `htr-sample@champion` (after the README's main
command, `dvc repro`); skipped otherwise, since training it takes the pipeline's 15
minutes. Draws a vertical stroke in digit mode (must read "1"), the digits 0-9 and three
words with the mouse, and writes what the model read to test-artifacts/champion.json.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.browser.app_page import (
    choose_mode,
    clear,
    draw,
    read_candidates,
    read_metrics,
    save,
    write,
)
from tests.browser.conftest import REPO, project_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]
WORDS = ("hello", "the", "and")


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    """The app served on this project's own MLflow store."""
    with project_app("htr-sample", "streamlit-champion.log") as url:
        yield url


def test_vertical_stroke_reads_as_one(page):
    choose_mode(page, "digit", "Write one digit")
    draw(page, [(300.0, 30.0), (300.0, 90.0), (300.0, 170.0)])
    metrics = read_metrics(page)
    save("vertical_stroke", metrics)
    assert metrics["It says"] == "1"


def test_digits_and_words_drawn_with_the_mouse(page):
    from tests.browser.strokes import word_strokes

    digits = {}
    choose_mode(page, "digit", "Write one digit")
    for digit in "0123456789":
        for stroke in word_strokes(digit, left=260, top=30, height=140):
            draw(page, stroke)
        digits[digit] = read_metrics(page)["It says"]
        clear(page)
        choose_mode(page, "digit", "Write one digit")
    clear(page)
    words = {}
    for word in WORDS:
        write(page, word)
        words[word] = [text for text, _ in read_candidates(page)]
        if word == WORDS[0] and os.environ.get("HTR_UPDATE_SCREENSHOT") == "1":
            page.screenshot(path=str(REPO / "docs" / "app_screenshot.png"), full_page=True)
        clear(page)
    save("digits", digits)
    save("words", words)
    correct = sum(read == digit for digit, read in digits.items())
    assert correct >= 5, f"only {correct}/10 drawn digits read correctly: {digits}"
