"""Stage 1: put a data set in IAM format under `<paths.raw>/<data.name>/`.

`data.source=sample` renders the offline synthetic set; `data.source=iam` unpacks the IAM
archives (from `data.iam.archive_dir`, the download cache or the FKI site). The output
directory is replaced atomically, with `download_report.json` describing what it holds.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from omegaconf import DictConfig

from pipeline import iam
from pipeline.archives import extract_archive, verify_archive
from pipeline.atomic import atomic_dir, remove_stale_temporaries
from pipeline.config import Source, project_path, run_stage
from pipeline.errors import HTRError
from pipeline.iam_download import locate_archives

log = logging.getLogger(__name__)

REPORT = "download_report.json"
# Where each archive's members go, relative to the raw directory (see iam.image_relpath).
TARGETS = {"ascii.tgz": ".", "words.tgz": "words", "lines.tgz": "lines", "xml.tgz": "xml"}


def download(cfg: DictConfig) -> Path:
    """Fill `<paths.raw>/<data.name>/` for the configured data set and return its path."""
    out = project_path(cfg, cfg.paths.raw, cfg.data.name)
    remove_stale_temporaries(out.parent)
    with atomic_dir(out) as tmp:
        if cfg.data.source == Source.sample:
            from pipeline.sample_data import build_sample

            report = build_sample(cfg, tmp)
        else:
            report = unpack_iam(cfg, tmp)
        (tmp / REPORT).write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    log.info("wrote %s", out)
    return out


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


main = run_stage(download)

if __name__ == "__main__":
    main()
