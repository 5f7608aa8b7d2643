"""Atomic outputs: all or nothing, and ordinary permissions once in place."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pipeline.common.atomic import atomic_dir, atomic_file, atomic_files


def test_failed_block_leaves_the_previous_output(tmp_path: Path):
    final = tmp_path / "out"
    with atomic_dir(final) as tmp:
        (tmp / "a.txt").write_text("old")
    with pytest.raises(RuntimeError), atomic_dir(final) as tmp:
        (tmp / "a.txt").write_text("new")
        raise RuntimeError("interrupted")
    assert (final / "a.txt").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_outputs_get_umask_permissions_not_temporary_ones(tmp_path: Path):
    old = os.umask(0o022)
    try:
        with atomic_dir(tmp_path / "d") as tmp:
            (tmp / "x").write_text("x")
        with atomic_file(tmp_path / "f.txt", "w") as handle:
            handle.write("y")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "f.txt").stat().st_mode) == 0o644


def write_set(folder: Path, tag: str) -> None:
    (folder / "plots").mkdir(parents=True, exist_ok=True)
    (folder / "metrics.json").write_text(f"metrics {tag}")
    (folder / "plots" / "cer.csv").write_text(f"plot {tag}")


def contents(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): p.read_text() for p in folder.rglob("*") if p.is_file()}


def test_files_committed_together_replace_only_their_namesakes(tmp_path: Path):
    (tmp_path / "recognizer.keras").write_text("model")
    with atomic_files(tmp_path) as staged:
        write_set(staged, "old")
    with atomic_files(tmp_path) as staged:
        write_set(staged, "new")
        assert contents(tmp_path)["metrics.json"] == "metrics old"  # nothing moves early
    assert contents(tmp_path) == {
        "recognizer.keras": "model",
        "metrics.json": "metrics new",
        "plots/cer.csv": "plot new",
    }


def test_a_failure_after_some_files_are_written_leaves_the_previous_set(tmp_path: Path):
    with atomic_files(tmp_path) as staged:
        write_set(staged, "old")
    with pytest.raises(RuntimeError), atomic_files(tmp_path) as staged:
        (staged / "metrics.json").write_text("metrics new")
        raise RuntimeError("registration failed")
    assert contents(tmp_path) == {"metrics.json": "metrics old", "plots/cer.csv": "plot old"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json", "plots"]


def test_a_set_a_crash_left_complete_is_finished_and_an_incomplete_one_dropped(tmp_path: Path):
    write_set(tmp_path, "old")
    complete = tmp_path / ".commit.ready-crashed"  # marked complete, crashed while moving:
    write_set(complete, "new")
    os.replace(complete / "metrics.json", tmp_path / "metrics.json")  # one file moved in
    incomplete = tmp_path / ".commit.tmp-crashed"
    write_set(incomplete, "half")
    with atomic_files(tmp_path):
        assert contents(tmp_path) == {"metrics.json": "metrics new", "plots/cer.csv": "plot new"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json", "plots"]
