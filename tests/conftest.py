"""Shared fixtures: a temporary project with a composed config."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import compose


@pytest.fixture
def tiny_cfg(tmp_path: Path):
    """The `data=tiny` config rooted in a temporary project directory."""
    return compose(["data=tiny"], root=tmp_path)
