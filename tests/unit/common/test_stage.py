"""Stage CLIs: every config mistake is one `error:` line with exit 1; composition is thread-safe."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from pipeline.common.config import CONF_DIR, compose

ROOT = CONF_DIR.parent


def run_stage(tmp_path: Path, *args: str, env: dict[str, str] | None = None):
    """build_lmdb (no TensorFlow import) with the given arguments, as DVC would run it."""
    return subprocess.run(
        [sys.executable, "-m", "pipeline.build_lmdb", *args, f"hydra.run.dir={tmp_path}/logs"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


def params_copy(tmp_path: Path, text: str | None = None) -> list[str]:
    path = tmp_path / "params.yaml"
    text = (ROOT / "params.yaml").read_text() if text is None else text
    # a stage that got past its checks by mistake must not write into the project
    path.write_text(text.replace("  root: .\n", f"  root: {tmp_path}\n", 1))
    return ["-cd", str(tmp_path), "-cn", "params"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["train.bach_size=8"], "error: invalid config params.yaml: unknown key train.bach_size"),
        (["train.batch_size=0"], "error: invalid config params.yaml: train.batch_size=0 must be"),
        (["decode.top_k=-1"], "error: invalid config params.yaml: decode.top_k=-1 must be"),
        (
            ["data=nonexistent"],
            "error: invalid config params.yaml: data=nonexistent names no block of params.yaml; "
            "choose a data config (iam_lines, iam_words, pretrain, sample,",
        ),
    ],
)
def test_a_bad_override_of_params_yaml_is_one_line(tmp_path, overrides, message) -> None:
    result = run_stage(tmp_path, *params_copy(tmp_path), *overrides)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), result.stderr
    assert message not in result.stdout, "reported once"


def test_an_unknown_choice_lists_the_choices(tmp_path) -> None:
    result = run_stage(tmp_path, "data=nonexistent")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: invalid config conf/: no data config named 'nonexistent'; choose one of "
        "iam_lines, iam_words, pretrain, sample, sample_lines, sample_mixed, tiny, tiny_lines"
    ]


def test_invalid_yaml_names_the_file_and_line(tmp_path) -> None:
    text = (ROOT / "params.yaml").read_text() + "broken: [1, 2\n"
    result = run_stage(tmp_path, *params_copy(tmp_path, text))
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: invalid YAML in {tmp_path / 'params.yaml'}, line ")


def test_htr_debug_shows_the_traceback(tmp_path) -> None:
    result = run_stage(
        tmp_path, *params_copy(tmp_path), "train.batch_size=0", env={"HTR_DEBUG": "1"}
    )
    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: invalid config")


def test_composition_is_safe_from_many_threads() -> None:
    def compose_five(_: int) -> list[str]:
        return [compose(["data=tiny", f"train.seed={i}"]).data.name for i in range(5)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        names = [name for batch in pool.map(compose_five, range(4)) for name in batch]
    assert names == ["tiny"] * 20
