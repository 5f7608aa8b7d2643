"""Check the IAM archives and unpack them into one IAM-format folder (index + images)."""

from __future__ import annotations

import logging
from pathlib import Path

from omegaconf import DictConfig

from pipeline.common.errors import HTRError
from pipeline.data.iam import index as iam
from pipeline.data.iam.archives import extract_archive, verify_archive
from pipeline.data.iam.download import locate_archives

log = logging.getLogger(__name__)

# Where each archive's members go, relative to the raw directory (see iam.image_relpath).
TARGETS = {"ascii.tgz": ".", "words.tgz": "words", "lines.tgz": "lines", "xml.tgz": "xml"}


def unpack_iam(cfg: DictConfig, out: Path) -> dict:
    """Check every IAM archive, unpack each into `out`, and report what it holds."""
    archives = locate_archives(cfg)
    report: dict = {"source": "iam", "kind": str(cfg.data.kind), "archives": {}}
    for name, (path, origin) in archives.items():
        try:
            members = verify_archive(path)
        except HTRError as err:
            if origin == "archive_dir":
                raise HTRError(f"{err}; replace it in data.iam.archive_dir") from err
            path.unlink(missing_ok=True)
            raise HTRError(f"{err}; deleted it, so the next run downloads it again") from err
        report["archives"][name] = {
            "from": origin,
            "bytes": path.stat().st_size,
            "members": members,
        }
    for name, (path, _) in archives.items():
        extract_archive(path, out / TARGETS[name])
    report.update(_count_entries(out, str(cfg.data.kind)))
    return report


def _count_entries(out: Path, kind: str) -> dict[str, int]:
    """Entries in the index file, and how many of them have no image (IAM lacks a few)."""
    index = out / iam.index_file(kind)
    if not index.is_file():
        raise HTRError(f"ascii.tgz holds no {index.name}: expected it at the archive's top level")
    entries = list(iam.read_entries(index, kind))
    missing = [e.id for e in entries if not (out / iam.image_relpath(kind, e.id)).is_file()]
    if missing:
        log.warning(
            "%d of %d %s have no image, e.g. %s", len(missing), len(entries), kind, missing[0]
        )
    return {
        "entries": len(entries),
        "entries_err": sum(not e.ok for e in entries),
        "missing_images": len(missing),
    }
