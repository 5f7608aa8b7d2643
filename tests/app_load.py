"""Many app sessions at once: Streamlit's AppTest sessions in threads, each uploading its own
image and reading it for a fixed number of rounds against one shared model.

Used by the load test (correctness: zero errors, every reading equal to what a lone session
reads for that image) and by `bench/app_load.py` (latency percentiles).
"""

from __future__ import annotations

import io
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")
TIMEOUT = 300


@dataclass
class SessionLog:
    """What one session read, how long each reading took, and what went wrong."""

    readings: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def png_bytes(image: np.ndarray) -> bytes:
    """A uint8 grey image [h, w] or [h, w, 1] as PNG bytes, as a person would upload it."""
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(image).squeeze(), mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def session(image: bytes, rounds: int) -> SessionLog:
    """Open the app, switch to upload, and read the same image `rounds` times."""
    log = SessionLog()
    try:
        at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
        at = at.radio(key="source").set_value("Upload").run()
        for number in range(rounds):
            at.file_uploader[0].set_value((f"image-{number}.png", image, "image/png"))
            started = time.perf_counter()
            at = at.run()
            log.latencies_ms.append((time.perf_counter() - started) * 1000.0)
            if at.exception:
                log.errors += [str(e.value) for e in at.exception]
            elif not at.metric:
                log.errors.append("no reading on the page")
            else:
                log.readings.append(str(at.metric[0].value))
    except Exception as err:  # a crashed session is a finding, not a test error
        log.errors.append(f"{type(err).__name__}: {err}")
    return log


def concurrent_sessions(images: Sequence[bytes], rounds: int) -> list[SessionLog]:
    """One session per image, all at once in threads (as Streamlit serves its sessions)."""
    with ThreadPoolExecutor(max_workers=len(images)) as pool:
        return list(pool.map(lambda image: session(image, rounds), images))


def percentiles(logs: Sequence[SessionLog]) -> tuple[float, float]:
    """p50 and p95 of every reading's latency (ms)."""
    values = np.concatenate([log.latencies_ms for log in logs])
    return float(np.percentile(values, 50)), float(np.percentile(values, 95))
