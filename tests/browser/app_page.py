"""Driving the canvas app's page: draw strokes, read the shown result (browser tests)."""

from __future__ import annotations

import json
import time

from tests.browser.conftest import ARTIFACTS
from tests.browser.strokes import Stroke, line_strokes, word_strokes

WAIT_MS = 60_000
PREVIEW = '[data-testid="stImage"] img'


def preview_src(page) -> str | None:
    images = page.locator(PREVIEW)
    return images.first.get_attribute("src") if images.count() else None


def draw(page, stroke: Stroke) -> float:
    """Draw one stroke; return seconds from pen-up until the app shows the new reading."""
    before = pen_stroke(page, stroke)
    released = time.perf_counter()
    wait_for_new_preview(page, before)
    return time.perf_counter() - released


def pen_stroke(page, stroke: Stroke) -> str | None:
    """Draw one stroke with the mouse without waiting for the app; returns the preview shown
    before it, for `wait_for_new_preview`."""
    before = preview_src(page)
    box = page.locator("canvas.upper-canvas").bounding_box()
    x0, y0 = box["x"], box["y"]
    page.mouse.move(x0 + stroke[0][0], y0 + stroke[0][1])
    page.mouse.down()
    for x, y in stroke[1:]:
        page.mouse.move(x0 + x, y0 + y, steps=3)
    page.mouse.up()
    return before


def wait_for_new_preview(page, before: str | None) -> None:
    """Wait until the page shows a model-input preview other than `before`, fully loaded."""
    page.wait_for_function(
        """([selector, before]) => {
            const img = document.querySelector(selector);
            return img && img.complete && img.naturalWidth > 0 && img.src !== before;
        }""",
        arg=[PREVIEW, before],
        timeout=WAIT_MS,
    )


def write(page, text: str) -> list[float]:
    """Write `text` on the canvas stroke by stroke; the round trip of each stroke."""
    return [draw(page, s) for s in word_strokes(text, left=60, top=40, height=120)]


def write_line(page, words: list[str], height: float = 60) -> list[float]:
    """Write words side by side on one line of the canvas, stroke by stroke."""
    return [draw(page, s) for s in line_strokes(words, left=30, top=60, height=height)]


def clear(page) -> None:
    """A fresh canvas (the page reloaded; the sidebar's mode goes back to its default)."""
    page.reload()
    page.locator("canvas.upper-canvas").wait_for()


def choose_mode(page, mode: str, prompt: str) -> None:
    """Pick a mode in the sidebar and wait for its prompt."""
    page.locator('[data-testid="stSidebar"]').get_by_text(mode, exact=True).click()
    page.get_by_text(prompt).wait_for()


def save(name: str, readings: dict, file: str = "champion.json") -> None:
    """Add what a champion read to test-artifacts/<file> (evidence for the README)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / file
    data = json.loads(path.read_text()) if path.is_file() else {}
    path.write_text(json.dumps({**data, name: readings}, indent=2) + "\n")
    print(f"\n{name}: {readings}")


def read_metrics(page) -> dict[str, str]:
    page.locator('[data-testid="stMetric"]').first.wait_for()
    labels = page.locator('[data-testid="stMetricLabel"]').all_inner_texts()
    values = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
    return {k.strip(): v.strip() for k, v in zip(labels, values, strict=True)}


def read_candidates(page) -> list[tuple[str, float]]:
    rows = page.locator('[data-testid="stTable"] tbody tr')
    rows.first.wait_for()
    cells = [rows.nth(i).locator("td").all_inner_texts() for i in range(rows.count())]
    # an empty reading shows as a non-breaking space in its cell
    return [(c[0].strip(), float(c[1])) for c in cells]
