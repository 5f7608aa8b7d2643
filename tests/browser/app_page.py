"""Driving the canvas app's page: draw strokes, read the shown result (browser tests)."""

from __future__ import annotations

import time

from tests.browser.strokes import Stroke, word_strokes

WAIT_MS = 60_000
PREVIEW = '[data-testid="stImage"] img'


def preview_src(page) -> str | None:
    images = page.locator(PREVIEW)
    return images.first.get_attribute("src") if images.count() else None


def draw(page, stroke: Stroke) -> float:
    """Draw one stroke; return seconds from pen-up until the app shows the new reading."""
    before = preview_src(page)
    box = page.locator("canvas.upper-canvas").bounding_box()
    x0, y0 = box["x"], box["y"]
    page.mouse.move(x0 + stroke[0][0], y0 + stroke[0][1])
    page.mouse.down()
    for x, y in stroke[1:]:
        page.mouse.move(x0 + x, y0 + y, steps=3)
    page.mouse.up()
    released = time.perf_counter()
    page.wait_for_function(
        """([selector, before]) => {
            const img = document.querySelector(selector);
            return img && img.complete && img.naturalWidth > 0 && img.src !== before;
        }""",
        arg=[PREVIEW, before],
        timeout=WAIT_MS,
    )
    return time.perf_counter() - released


def write(page, text: str) -> list[float]:
    """Write `text` on the canvas stroke by stroke; the round trip of each stroke."""
    return [draw(page, s) for s in word_strokes(text, left=60, top=40, height=120)]


def read_metrics(page) -> dict[str, str]:
    page.locator('[data-testid="stMetric"]').first.wait_for()
    labels = page.locator('[data-testid="stMetricLabel"]').all_inner_texts()
    values = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
    return {k.strip(): v.strip() for k, v in zip(labels, values, strict=True)}


def read_candidates(page) -> list[tuple[str, float]]:
    rows = page.locator('[data-testid="stTable"] tbody tr')
    rows.first.wait_for()
    cells = [rows.nth(i).locator("td").all_inner_texts() for i in range(rows.count())]
    return [(c[0], float(c[1])) for c in cells]
