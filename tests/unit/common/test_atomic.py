"""Atomic outputs: all or nothing, ordinary permissions, and clean-up that spares live writers."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.common.atomic import atomic_dir, atomic_file, remove_stale_temporaries


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


REPO = Path(__file__).resolve().parents[3]
HOLDER = """
import sys
from pathlib import Path
from pipeline.common.atomic import atomic_dir, atomic_file

final = Path(sys.argv[2])
if sys.argv[1] == "dir":
    with atomic_dir(final) as tmp:
        (tmp / "a.txt").write_text("mine")
        print(tmp, flush=True)
        sys.stdin.readline()
else:
    with atomic_file(final, "w") as handle:
        handle.write("mine")
        handle.flush()
        print(*final.parent.glob(f".{final.name}.tmp-*"), flush=True)
        sys.stdin.readline()
"""


def start_holder(kind: str, final: Path) -> tuple[subprocess.Popen, Path]:
    """Another process inside an atomic write of `final`; returns it and its temporary."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, kind, str(final)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    tmp = Path(proc.stdout.readline().strip())
    if not tmp.name.startswith(f".{final.name}.tmp-"):
        proc.kill()
        pytest.fail(f"the writer did not start: {proc.communicate()[1]}")
    return proc, tmp


@pytest.mark.parametrize("kind", ["dir", "file"])
def test_cleaner_keeps_the_temporary_of_a_running_writer(tmp_path: Path, kind: str):
    """Two stages at once: the second's clean-up must not delete the first's work."""
    final = tmp_path / "out"
    proc, tmp = start_holder(kind, final)
    try:
        remove_stale_temporaries(tmp_path)
        assert tmp.exists()
    finally:
        _, err = proc.communicate("\n", timeout=60)
    assert proc.returncode == 0, err
    assert (final / "a.txt" if kind == "dir" else final).read_text() == "mine"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


@pytest.mark.parametrize("kind", ["dir", "file"])
def test_cleaner_removes_what_a_killed_writer_left(tmp_path: Path, kind: str):
    final = tmp_path / "out"
    proc, tmp = start_holder(kind, final)
    proc.kill()
    proc.communicate(timeout=60)
    (tmp_path / ".out.old-1234").mkdir()  # a replaced output a crash left behind
    assert tmp.exists()
    remove_stale_temporaries(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_replacing_an_output_keeps_no_old_copy(tmp_path: Path):
    for text in ("one", "two"):
        with atomic_dir(tmp_path / "out") as tmp:
            (tmp / "a.txt").write_text(text)
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert (tmp_path / "out/a.txt").read_text() == "two"
