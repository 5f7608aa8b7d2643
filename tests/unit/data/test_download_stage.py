"""The download stage as a command (`python -m pipeline.download`) and its sample branch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.data.iam import index as iam
from pipeline.download import download
from tests.hostile_archives import path_max_escape
from tests.iam_server import WORDS, iam_archives, write_archives

REPO = Path(__file__).resolve().parents[3]


def run_cli(tmp_path: Path, *overrides: str) -> subprocess.CompletedProcess:
    """Run the stage the way DVC and users do, from outside the repository, without IAM_*."""
    env = {k: v for k, v in os.environ.items() if k not in ("IAM_USERNAME", "IAM_PASSWORD")}
    env["PYTHONPATH"] = str(REPO)
    command = [sys.executable, "-m", "pipeline.download", f"paths.root={tmp_path}"]
    command += [f"hydra.run.dir={tmp_path / 'logs'}", *overrides]
    return subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )


def test_cli_without_credentials_exits_non_zero_with_the_access_message(tmp_path):
    result = run_cli(tmp_path, "data=iam_words")
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: IAM archives missing: ascii.tgz, words.tgz")
    for needle in ("IAM_USERNAME", "https://fki.tic.heia-fr.ch/register", "data=sample"):
        assert needle in last
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data/raw/iam_words").exists()


def test_cli_unpacks_archives_from_archive_dir(tmp_path):
    folder = write_archives(tmp_path / "downloads", iam_archives())
    result = run_cli(tmp_path, "data=iam_words", f"data.iam.archive_dir={folder}")
    assert result.returncode == 0, result.stderr
    assert iam.read_words(tmp_path / "data/raw/iam_words") == WORDS


def test_cli_refuses_a_symlink_chain_that_beats_the_data_filter(tmp_path):
    """The PATH_MAX symlink chain escaped tarfile's `data` filter: exit 0, a file written
    outside the project and a symlink to `/` left in it. Now: one error line, nothing."""
    outside = tmp_path / "outside"
    project = tmp_path / "project"
    archives = {**iam_archives(), "words.tgz": path_max_escape(outside)}
    folder = write_archives(tmp_path / "downloads", archives)
    project.mkdir()
    result = run_cli(project, "data=iam_words", f"data.iam.archive_dir={folder}")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[-1] == (
        f"error: archive {folder / 'words.tgz'}: refusing member 'a': "
        "it is a symbolic link; IAM archives hold only files and directories"
    )
    assert "Traceback" not in result.stderr
    assert not outside.exists()
    assert not [p for p in project.rglob("*") if p.is_symlink()]
    assert [p.name for p in (project / "data/raw").iterdir()] == []


def test_sample_source_writes_iam_format_and_the_report(tmp_path, tiny_cfg):
    pytest.importorskip(
        "pipeline.data.synthetic.sample_data",
        reason="pipeline.data.synthetic.sample_data not written yet",
    )
    out = download(tiny_cfg)
    assert out == tmp_path / "data/raw/tiny"
    entries = iam.read_words(out)
    assert entries
    assert all((out / iam.image_relpath("words", e.id)).is_file() for e in entries)
    assert isinstance(json.loads((out / "download_report.json").read_text()), dict)
    assert [p.name for p in out.parent.iterdir()] == ["tiny"]
