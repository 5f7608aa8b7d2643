"""The canvas app in a real browser: draw with the mouse, read with a really trained model.

A tiny model is trained and evaluated (registered as champion) by the pipeline's own
stages in a temporary project (tests/model_fixtures.py); `streamlit run` serves the app on
it and headless Chromium draws on the canvas. Screenshots go to test-artifacts/; with
HTR_UPDATE_SCREENSHOT=1 the word screenshot also replaces docs/app_screenshot.png.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
from collections.abc import Iterator

import pytest

from tests.browser.app_page import (
    PREVIEW,
    choose_mode,
    draw,
    pen_stroke,
    preview_src,
    read_candidates,
    read_metrics,
    wait_for_new_preview,
    write,
)
from tests.browser.conftest import ARTIFACTS, REPO, app_env, app_session, served_app
from tests.browser.strokes import word_strokes
from tests.model_fixtures import TINY_OVERRIDES, TinyProject, copy_project

pytest_plugins = ["tests.model_fixtures"]
pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCREENSHOT = REPO / "docs" / "app_screenshot.png"


@pytest.fixture(scope="module")
def app_url(tiny_project: TinyProject, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app served on a copy of the tiny project (its evaluated model is champion)."""
    project = copy_project(tiny_project, tmp_path_factory.mktemp("browser-project"))
    env = app_env(project.root, " ".join(TINY_OVERRIDES))
    with served_app(env, ARTIFACTS / "streamlit-server.log") as url:
        yield url


def _record(name: str, round_trips: list[float]) -> dict[str, float]:
    summary = {
        "strokes": len(round_trips),
        "median_ms": round(1000 * statistics.median(round_trips), 1),
        "max_ms": round(1000 * max(round_trips), 1),
        "first_ms": round(1000 * round_trips[0], 1),
    }
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "round_trip.json"
    data = json.loads(path.read_text()) if path.is_file() else {}
    path.write_text(json.dumps({**data, name: summary}, indent=2) + "\n")
    print(f"\n{name} stroke → result round trip: {summary}")
    return summary


def test_drawn_word_is_read_with_preview_candidates_and_feedback(page):
    round_trips = write(page, "hello")
    _record("word", round_trips)

    metrics = read_metrics(page)
    assert 0.0 <= float(metrics["Probability"]) <= 1.0
    assert re.fullmatch(r"\d+ ms", metrics["Latency"])
    candidates = read_candidates(page)
    assert 1 <= len(candidates) <= 3  # decode=tiny keeps the top 3
    assert all(0.0 <= p <= 1.0 for _, p in candidates)
    assert [p for _, p in candidates] == sorted((p for _, p in candidates), reverse=True)
    assert candidates[0][0] == (metrics["It says"] if metrics["It says"] != "(nothing)" else "")
    preview = page.locator(PREVIEW).first
    frame = 2 * 2  # app_view.preview's frame, both sides
    natural = preview.evaluate("img => [img.naturalHeight, img.naturalWidth]")
    assert natural == [32 * 4 + frame, 128 * 4 + frame]
    assert "What the model saw" in page.locator('[data-testid="stImageCaption"]').inner_text()

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "app_word.png"), full_page=True)
    if os.environ.get("HTR_UPDATE_SCREENSHOT") == "1":
        SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(ARTIFACTS / "app_word.png", SCREENSHOT)

    page.get_by_label("That's wrong — it says:").fill("hello")
    page.get_by_role("button", name="Save correction").click()
    page.get_by_text("Saved 'hello' as fb-0000-00-00").wait_for()
    page.get_by_text("Feedback samples saved: 1").wait_for()


def test_drawn_digit_shows_ten_probabilities(page):
    choose_mode(page, "digit", "Write one digit")
    round_trips = [draw(page, s) for s in word_strokes("7", left=250, top=40, height=120)]
    _record("digit", round_trips)

    metrics = read_metrics(page)
    assert metrics["It says"] in "0123456789"
    assert 0.0 <= float(metrics["Probability"]) <= 1.0
    bars = page.locator('[data-testid="stVegaLiteChart"] .mark-rect path')
    bars.first.wait_for()
    labels = bars.evaluate_all("paths => paths.map(p => p.getAttribute('aria-label'))")
    values = {
        m["digit"]: float(m["p"])
        for m in (
            re.search(r"digit: (?P<digit>\d); probability: (?P<p>[\d.e-]+)", s) for s in labels
        )
        if m
    }
    assert sorted(values) == list("0123456789")
    assert all(0.0 <= p <= 1.0 for p in values.values())
    assert max(values, key=values.get) == metrics["It says"]
    candidates = read_candidates(page)
    assert candidates[0][0] == metrics["It says"]
    assert all(0.0 <= p <= 1.0 for _, p in candidates)
    page.screenshot(path=str(ARTIFACTS / "app_digit.png"), full_page=True)


def test_blank_canvas_asks_to_draw(page):
    page.get_by_text("Draw something: the canvas is empty.").wait_for()
    assert page.locator('[data-testid="stMetric"]').count() == 0


def _reading(page) -> tuple[str, str, str | None, list[tuple[str, float]]]:
    metrics = read_metrics(page)
    return metrics["It says"], metrics["Probability"], preview_src(page), read_candidates(page)


def test_sessions_drawing_at_once_each_read_only_their_own_canvas(chromium, app_url):
    """Two people write on one server at the same time, their strokes interleaved and read
    concurrently (one shared model): each sees what it would have seen alone, and a third,
    idle session in digit mode keeps its mode and its empty canvas."""
    first, second = "the", "and"
    with (
        app_session(chromium, app_url) as one,
        app_session(chromium, app_url) as two,
        app_session(chromium, app_url) as idle,
    ):
        choose_mode(idle, "digit", "Write one digit")
        strokes = {
            page: word_strokes(text, left=60, top=40, height=120)
            for page, text in ((one, first), (two, second))
        }
        for turn in range(max(len(s) for s in strokes.values())):
            waiting = [(page, pen_stroke(page, s[turn])) for page, s in strokes.items()
                       if turn < len(s)]  # fmt: skip
            for page, before in waiting:
                wait_for_new_preview(page, before)
        together = {first: _reading(one), second: _reading(two)}
        assert idle.get_by_text("Write one digit").is_visible()
        idle.get_by_text("Draw something: the canvas is empty.").wait_for()
        assert idle.locator('[data-testid="stMetric"]').count() == 0
    for text in (first, second):
        with app_session(chromium, app_url) as alone:
            write(alone, text)
            assert _reading(alone) == together[text], f"{text!r} read alone differs"
    assert together[first][2] != together[second][2], "the two canvases gave one input"
