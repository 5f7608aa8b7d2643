"""Load: 8 app sessions reading at once, and 4 predict processes on one MLflow store.

Bounded (fixed sessions and rounds, 127.0.0.1 and in-process only). Correctness only;
latency is printed by bench/app_load.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

import keras
import pytest

from pipeline.app.catalogue import ENV_OVERRIDES, ENV_ROOT, ENV_TRACKING_URI
from pipeline.data import split_store
from tests.app_load import concurrent_sessions, png_bytes, session
from tests.model_fixtures import TINY_OVERRIDES

if TYPE_CHECKING:
    from pathlib import Path

    from tests.model_fixtures import TinyProject

pytest_plugins = ["tests.model_fixtures"]
SESSIONS, ROUNDS, PROCESSES = 8, 3, 4


@pytest.fixture
def app_on(tiny_project: TinyProject, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The app pointed at the tiny project's registry; process state given back after."""
    monkeypatch.setenv(ENV_ROOT, str(tiny_project.root))
    monkeypatch.setenv(ENV_OVERRIDES, " ".join(TINY_OVERRIDES))
    monkeypatch.delenv(ENV_TRACKING_URI, raising=False)
    clear_session, main = keras.backend.clear_session, sys.modules["__main__"]
    yield
    keras.backend.clear_session, sys.modules["__main__"] = clear_session, main


def first_test_images(tiny_project: TinyProject, n: int) -> list:
    return [r.image for r in list(split_store(tiny_project.cfg, "test"))[:n]]


@pytest.mark.slow
def test_eight_sessions_read_at_once_without_errors(tiny_project: TinyProject, app_on) -> None:
    images = [png_bytes(image) for image in first_test_images(tiny_project, SESSIONS)]
    alone = [session(image, rounds=1) for image in images]
    assert all(not log.errors for log in alone), [log.errors for log in alone]
    expected = [log.readings[0] for log in alone]

    logs = concurrent_sessions(images, ROUNDS)
    assert [log.errors for log in logs] == [[]] * SESSIONS
    for log, reading in zip(logs, expected, strict=True):
        assert log.readings == [reading] * ROUNDS, "each session reads its own image"


@pytest.mark.slow
def test_four_predict_processes_share_one_store(tiny_project: TinyProject, tmp_path: Path) -> None:
    paths = []
    for number, image in enumerate(first_test_images(tiny_project, PROCESSES)):
        paths.append(tmp_path / f"word-{number}.png")
        paths[-1].write_bytes(png_bytes(image))
    command = [
        sys.executable,
        "-m",
        "pipeline.predict",
        "--json",
        "--model",
        tiny_project.champion_uri,
        "--tracking-uri",
        tiny_project.tracking_uri,
    ]
    alone = subprocess.run([*command, str(paths[0])], capture_output=True, text=True, timeout=300)
    assert alone.returncode == 0, alone.stderr
    procs = [
        subprocess.Popen(
            [*command, str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for path in paths
    ]
    results = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    assert [rc for rc, _, _ in results] == [0] * PROCESSES, [err for _, _, err in results]
    texts = [json.loads(out)["text"] for _, out, _ in results]
    assert texts[0] == json.loads(alone.stdout)["text"]
