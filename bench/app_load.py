"""Reading latency of the app under concurrent sessions (a benchmark: it prints, never asserts).

    python bench/app_load.py [--sessions 8] [--rounds 5] [--root .]

Opens N Streamlit AppTest sessions at once in threads against the project's registered
champion (run `dvc repro` first), each uploading its own test-split image and reading it
`rounds` times, after one lone session per image as the reference. Prints errors, how many
readings matched the lone session's, and p50/p95 of one reading (a script rerun: upload,
preprocess, predict, decode, render), alone and under load, side by side.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.app.catalogue import ENV_ROOT  # noqa: E402
from pipeline.common.config import compose  # noqa: E402
from pipeline.data import split_store  # noqa: E402
from tests.app_load import concurrent_sessions, percentiles, png_bytes, session  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--root", type=Path, default=ROOT)
    args = parser.parse_args()
    os.environ[ENV_ROOT] = str(args.root.resolve())
    cfg = compose(root=args.root.resolve())
    records = list(split_store(cfg, "test"))[: args.sessions]
    images = [png_bytes(r.image) for r in records]
    alone = [session(image, rounds=args.rounds) for image in images]
    loaded = concurrent_sessions(images, args.rounds)
    errors = sum(len(log.errors) for log in alone + loaded)
    matched = sum(
        log.readings == [ref.readings[0]] * args.rounds
        for log, ref in zip(loaded, alone, strict=True)
        if ref.readings
    )
    p50_alone, p95_alone = percentiles(alone)
    p50, p95 = percentiles(loaded)
    print(
        f"{args.sessions} sessions x {args.rounds} readings, {errors} errors, "
        f"{matched}/{args.sessions} sessions read exactly what a lone session read"
    )
    print(f"one session at a time: p50 {p50_alone:.0f} ms  p95 {p95_alone:.0f} ms")
    print(
        f"{args.sessions} at once:       p50 {p50:.0f} ms  p95 {p95:.0f} ms  "
        f"({p50 / p50_alone:.1f}x / {p95 / p95_alone:.1f}x)"
    )


if __name__ == "__main__":
    main()
