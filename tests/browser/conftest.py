"""Browser-test fixtures: a real `streamlit run` server and Debian's headless Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
START_TIMEOUT_S = 60.0
# A fresh server's first session imports TensorFlow and loads the model before it draws the
# canvas: 60 s was not always enough on a slow 2-core machine (one CI run, 2026-12-04). A bound
# on waiting, not a speed check: a ready page returns at once.
CANVAS_READY_MS = 180_000


def free_port() -> int:
    """A TCP port that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def start_streamlit(env: dict[str, str], log_path: Path) -> tuple[subprocess.Popen, str]:
    """Start `streamlit run streamlit_app.py` headless on a free port; wait for its health."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable, "-m", "streamlit", "run", str(REPO / "streamlit_app.py"),
        "--server.headless", "true", "--server.port", str(port),
        "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
    ]  # fmt: skip
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        server = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + START_TIMEOUT_S
    while not _healthy(url):
        if server.poll() is not None or time.monotonic() > deadline:
            stop(server)
            pytest.fail(f"streamlit did not come up at {url}:\n{_tail(log_path)}")
        time.sleep(0.5)
    return server, url


def stop(server: subprocess.Popen) -> None:
    """Stop the server we started: SIGTERM, then SIGKILL if it lingers."""
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=15)


@contextmanager
def served_app(env: dict[str, str], log_path: Path) -> Iterator[str]:
    """A `streamlit run` server for the duration of the block; yields its URL."""
    server, url = start_streamlit(env, log_path)
    try:
        yield url
    finally:
        stop(server)


@pytest.fixture(scope="session")
def chromium() -> Iterator:
    """Debian's Chromium, headless, driven by Playwright."""
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: run ./.ci/setup --browser")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


def app_env(root: Path, overrides: str | None = None) -> dict[str, str]:
    """The environment of an app server on the project at `root` (its own MLflow store),
    with Hydra `overrides` if given and quieter TensorFlow logs."""
    from pipeline.app.catalogue import ENV_OVERRIDES, ENV_ROOT, ENV_TRACKING_URI

    env = {**os.environ, ENV_ROOT: str(root), "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop(ENV_TRACKING_URI, None)
    env.pop(ENV_OVERRIDES, None)
    if overrides is not None:
        env[ENV_OVERRIDES] = overrides
    return env


@contextmanager
def app_session(chromium, app_url: str) -> Iterator:
    """A page in its own browser context, so its own Streamlit session; canvas ready."""
    from tests.browser.app_page import WAIT_MS

    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        page.goto(app_url)
        page.locator("canvas.upper-canvas").wait_for(timeout=CANVAS_READY_MS)
        yield page
    finally:
        context.close()


@pytest.fixture
def page(chromium, app_url: str) -> Iterator:
    """A fresh session of the app (each test module serves its own `app_url`), canvas ready."""
    with app_session(chromium, app_url) as session:
        yield session


def project_champion(name: str) -> bool:
    """Whether this project's own MLflow store has `name@champion` (after its main runs)."""
    from pipeline.common.config import compose
    from pipeline.tracking import tracking_uri_for
    from pipeline.tracking.registry import list_models

    if not (REPO / "mlflow.db").is_file():
        return False
    models = list_models(tracking_uri_for(compose([], root=REPO)))
    return any(m.name == name and "champion" in m.aliases for m in models)


@contextmanager
def project_app(champion: str, log_name: str) -> Iterator[str]:
    """The app served on this project's own MLflow store; skips without `champion`."""
    if not project_champion(champion):
        pytest.skip(f"no {champion}@champion in this project: run its pipeline first (README)")
    with served_app(app_env(REPO), ARTIFACTS / log_name) as url:
        yield url
