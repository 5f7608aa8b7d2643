"""The canvas app's line mode on the project's own line champion.

Runs when this project has a registered `htr-sample_lines@champion` (after the README's
lines command, `dvc exp run -S data=sample_lines -S model=crnn_line`); skipped otherwise.
Writes three short words on one line with the mouse and checks that line mode picked the
line model and read the line; what it read goes to test-artifacts/champion.json.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pipeline.metrics import cer
from tests.browser.app_page import choose_mode, read_candidates, save, write_line
from tests.browser.conftest import project_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]
LINE = ["the", "old", "cat"]


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    with project_app("htr-sample_lines", "streamlit-line-champion.log") as url:
        yield url


def test_three_words_drawn_on_one_line_are_read_by_the_line_model(page):
    choose_mode(page, "line", "Write a few words on one line")
    sidebar = page.locator('[data-testid="stSidebar"]')
    picked = sidebar.get_by_role("combobox", name="Registered model").input_value()
    assert picked == "htr-sample_lines"
    write_line(page, LINE)
    candidates = read_candidates(page)
    best = candidates[0][0]
    save("line", {"drawn": " ".join(LINE), "read": [text for text, _ in candidates]})
    score = cer([" ".join(LINE)], [best])
    assert score <= 0.25, f"read {best!r} for {' '.join(LINE)!r} (CER {score:.2f})"
