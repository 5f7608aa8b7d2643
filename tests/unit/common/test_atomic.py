"""Atomic outputs: all or nothing, ordinary permissions, and clean-up that spares live writers."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pipeline.common.atomic import (
    atomic_dir,
    atomic_file,
)


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
