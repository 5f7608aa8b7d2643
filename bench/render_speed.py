"""Words per second of each synthetic renderer inside build_sample, on one core.

    python bench/render_speed.py [--words 1000] [--seed 42]

Builds `data=sample` words only (no digits) with `data.sample.workers=1` into a temporary
folder, once per renderer (`font`, `pen`), and prints words/s by the wall clock and by the
process's CPU time (what one core gives when the machine is shared), and pen / font. The
glyph caches start cold, as in a real build.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.common.config import compose  # noqa: E402
from pipeline.data.synthetic import build_sample  # noqa: E402


def rate(renderer: str, words: int, seed: int) -> tuple[float, float]:
    """(wall, CPU) words per second of one build."""
    overrides = [
        f"data.sample.renderer={renderer}",
        f"data.sample.n_words={words}",
        "data.sample.n_digits=0",
        "data.sample.workers=1",
        f"data.seed={seed}",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        cfg = compose(overrides, root=tmp)
        wall, cpu = time.perf_counter(), time.process_time()
        build_sample(cfg, Path(tmp) / "raw")
        return words / (time.perf_counter() - wall), words / (time.process_time() - cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    rates = {r: rate(r, args.words, args.seed) for r in ("font", "pen")}
    for renderer, (wall, cpu) in rates.items():
        print(f"{renderer:5s} {wall:6.1f} words/s wall  {cpu:6.1f} words/s CPU (one core)")
    ratio = rates["pen"][1] / rates["font"][1]
    print(f"pen / font: {ratio:.2f}x (CPU), {args.words} words each")


if __name__ == "__main__":
    main()
