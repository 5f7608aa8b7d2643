"""The canvas app's line mode on the project's own line champion.

Runs when this project has a registered `htr-sample_lines@champion` (after the README's
lines command, `dvc exp run -S data=sample_lines -S model=crnn_line`); skipped otherwise.
Writes three short words on one line with the mouse and checks that line mode picked the
line model and read the line; what it read goes to test-artifacts/champion.json.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from pipeline.common.metrics import cer
from tests.browser.app_page import choose_mode, read_candidates, save, write_line
from tests.browser.conftest import REPO, project_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]
LINES = (["the", "old", "cat"], ["a", "cold", "hand"])


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    with project_app("htr-sample_lines", "streamlit-line-champion.log") as url:
        yield url


@pytest.mark.parametrize("words", LINES, ids=" ".join)
def test_three_words_drawn_on_one_line_are_read_by_the_line_model(page, words):
    choose_mode(page, "line", "Write a few words on one line")
    sidebar = page.locator('[data-testid="stSidebar"]')
    picked = sidebar.get_by_role("combobox", name="Registered model").input_value()
    assert picked == "htr-sample_lines"
    write_line(page, words)
    candidates = read_candidates(page)
    line, best = " ".join(words), candidates[0][0]
    save(f"line: {line}", [text for text, _ in candidates])
    if words == LINES[0] and os.environ.get("HTR_UPDATE_SCREENSHOT") == "1":
        page.screenshot(path=str(REPO / "docs" / "app_line_screenshot.png"), full_page=True)
    score = cer([line], [best])
    assert score <= 0.25, f"read {best!r} for {line!r} (CER {score:.2f})"
