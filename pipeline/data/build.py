"""Raw IAM-format data -> one LMDB per split, the charset, a report and `<split>.ids`.

The output `<paths.lmdb>/<data.name>/` is built in a temporary sibling and renamed into
place only when complete.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig
from tqdm import tqdm

from pipeline.common.artifacts import CHARSET_FILE, LMDB_REPORT_FILE
from pipeline.common.atomic import atomic_dir, remove_stale_temporaries
from pipeline.common.charset import Charset
from pipeline.common.config import project_path
from pipeline.common.errors import HTRError
from pipeline.common.images import ImageError, decode_gray, pixel_limit, read_bytes
from pipeline.data.iam.index import Entry, image_relpath, index_file, read_entries
from pipeline.data.layout import ids_path, lmdb_dir, raw_dir
from pipeline.data.lmdb_store import LmdbWriter
from pipeline.data.splits import (
    SPLITS,
    check_fractions,
    listed_split,
    random_split,
    read_split_lists,
)

log = logging.getLogger(__name__)

# Raw pixels, chosen by bench/loader.py: ~2x the images/s of PNG bytes in LMDB (~5x the PNG
# directory) at ~40% of the CPU per image, for ~1.3x the bytes (numbers in the bench).
STORE_ENCODING = "raw"
EXAMPLES_PER_REASON = 20


@dataclass(frozen=True)
class Candidate:
    """An index entry on its way into a split."""

    source: str
    entry: Entry
    split: str


def _read_source(cfg: DictConfig, source: str) -> tuple[list[Entry], int, bytes]:
    """Entries of one raw data set (err segmentations dropped if asked), drop count, index."""
    directory = raw_dir(cfg, source)
    if not directory.is_dir():
        raise HTRError(
            f"raw data set {directory} not found (data.name / data.extra {source!r}): "
            "run `python -m pipeline.download` first"
        )
    index = directory / index_file(cfg.data.kind)
    entries = list(read_entries(index, cfg.data.kind))
    drop_err = cfg.data.iam is not None and cfg.data.iam.drop_err
    kept = [e for e in entries if e.ok or not drop_err]
    return kept, len(entries) - len(kept), index.read_bytes()


def _cap(entries: list[Entry], max_samples: int | None, seed: int) -> list[Entry]:
    """At most `max_samples` entries, a seeded random choice kept in file order."""
    if max_samples is not None and max_samples <= 0:
        raise HTRError(f"data.max_samples must be positive, got {max_samples}")
    if max_samples is None or max_samples >= len(entries):
        return entries
    chosen = list(range(len(entries)))
    random.Random(seed).shuffle(chosen)
    return [entries[i] for i in sorted(chosen[:max_samples])]


def plan(cfg: DictConfig) -> tuple[list[Candidate], dict[str, Any]]:
    """Every entry to write with its split, plus counts and index digests for the report."""
    data = cfg.data
    lists_dir = data.split.lists_dir
    if lists_dir is None:
        check_fractions(data.split.train, data.split.val, data.split.test)
    entries, dropped, index_bytes = _read_source(cfg, data.name)
    entries = _cap(entries, data.max_samples, data.seed)
    ids = [e.id for e in entries]
    if lists_dir is None:
        names = random_split(len(ids), data.split.train, data.split.val, data.split.test, data.seed)
    else:
        names = listed_split(ids, data.kind, read_split_lists(project_path(cfg, lists_dir)))
    candidates = [
        Candidate(data.name, e, s) for e, s in zip(entries, names, strict=True) if s is not None
    ]
    info = {
        "dropped_err": dropped,
        "unlisted": len(entries) - len(candidates),
        "indexes": {data.name: hashlib.sha256(index_bytes).hexdigest()},
    }
    for source in data.extra:
        if source == data.name:
            raise HTRError(f"data.extra lists {source!r}, which is data.name itself")
        extra, dropped, index_bytes = _read_source(cfg, source)
        candidates += [Candidate(source, e, "train") for e in extra]
        info["dropped_err"] += dropped
        info["indexes"][source] = hashlib.sha256(index_bytes).hexdigest()
    return candidates, info


def fingerprint(indexes: dict[str, str], images: dict[tuple[str, str], str]) -> str:
    """One hash of the index files and every image read, independent of split order."""
    digest = hashlib.sha256()
    for source in sorted(indexes):
        digest.update(f"index {source} {indexes[source]}\n".encode())
    for (source, sample_id), image_digest in sorted(images.items()):
        digest.update(f"image {source}/{sample_id} {image_digest}\n".encode())
    return digest.hexdigest()


def build_lmdb(cfg: DictConfig, encoding: str = STORE_ENCODING) -> dict[str, Any]:
    """Build the split LMDBs of `data.name` atomically; returns the report (also saved).

    `encoding` ("png" or "raw" pixels) is only for bench/loader.py, which compares them.
    """
    started = time.perf_counter()
    candidates, info = plan(cfg)
    out = lmdb_dir(cfg)
    remove_stale_temporaries(out.parent)
    with atomic_dir(out) as tmp:
        report = _write(cfg, candidates, info, tmp, encoding)
        # no timing in the file: the output must be byte-identical for the same input
        (tmp / LMDB_REPORT_FILE).write_text(
            json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    log.info(
        "wrote %s: %s in %.1f s",
        out,
        ", ".join(f"{s} {report['splits'][s]['written']}" for s in SPLITS),
        time.perf_counter() - started,
    )
    return report


def _write(
    cfg: DictConfig, candidates: list[Candidate], info: dict[str, Any], tmp: Path, encoding: str
) -> dict[str, Any]:
    """Write the three stores, ids files and charset into `tmp`; return the report."""
    by_split = {s: [c for c in candidates if c.split == s] for s in SPLITS}
    written: dict[str, list[Candidate]] = {s: [] for s in SPLITS}
    skipped: dict[str, Counter] = {s: Counter() for s in SPLITS}
    examples: dict[str, list[str]] = {}
    image_digests: dict[tuple[str, str], str] = {}
    max_pixels = pixel_limit(cfg)
    bar = tqdm(total=len(candidates), desc=f"build_lmdb {cfg.data.name}", unit="img")
    with ExitStack() as stack:
        stack.callback(bar.close)
        writers = {}
        for split in SPLITS:  # train first: the charset comes from what it wrote
            writer = writers[split] = LmdbWriter(tmp / split, encoding)
            stack.callback(writer.close)
            bar.set_postfix_str(split)
            for cand in by_split[split]:
                where = f"{cand.source}/{cand.entry.id}"
                path = raw_dir(cfg, cand.source) / image_relpath(cfg.data.kind, cand.entry.id)
                try:
                    data = read_bytes(path)
                    image_digests[(cand.source, cand.entry.id)] = (
                        f"{len(data)} {hashlib.sha256(data).hexdigest()}"
                    )
                    image = decode_gray(data, str(path), max_pixels)
                except ImageError as err:
                    image_digests.setdefault((cand.source, cand.entry.id), err.reason)
                    skipped[split][err.reason] += 1
                    shown = examples.setdefault(err.reason, [])
                    if len(shown) < EXAMPLES_PER_REASON:
                        shown.append(where)
                        log.warning("skipping %s: %s", where, err)
                else:
                    writer.put(cand.entry.id, cand.entry.text, image)
                    written[split].append(cand)
                bar.update()
        if not written["train"]:
            raise HTRError(
                f"no training sample of {cfg.data.name!r} could be written "
                f"(skipped: {dict(skipped['train'])}); check {raw_dir(cfg, cfg.data.name)}"
            )
        charset = Charset.from_texts(c.entry.text for c in written["train"])
        missing = _missing_chars(charset, written)
        common = {
            "name": cfg.data.name,
            "kind": cfg.data.kind,
            "charset": charset.chars,
            "fingerprint": fingerprint(info["indexes"], image_digests),
        }
        metas = {s: writers[s].finish({**common, "split": s}) for s in SPLITS}
    charset.save(tmp / CHARSET_FILE)
    for split in SPLITS:
        ids_path(tmp, split).write_text(
            "".join(f"{c.source}/{c.entry.id}\n" for c in written[split]), encoding="utf-8"
        )
    return {
        **common,
        "encoding": encoding,
        "sources": sorted(info["indexes"]),
        "splits": {
            s: {
                "written": len(written[s]),
                "skipped": dict(skipped[s]),
                "geometry": metas[s]["geometry"],
            }
            for s in SPLITS
        },
        "skipped": dict(sum(skipped.values(), Counter())),
        "skipped_examples": examples,
        "dropped_err": info["dropped_err"],
        "unlisted": info["unlisted"],
        "num_classes": charset.num_classes,
        "missing_chars": missing,
    }


def _missing_chars(charset: Charset, written: dict[str, list[Candidate]]) -> dict[str, Any]:
    """Characters of val/test texts outside the training charset (still written, warned)."""
    report: dict[str, Any] = {}
    for split in ("val", "test"):
        chars: set[str] = set()
        samples = 0
        for cand in written[split]:
            lost = charset.missing(cand.entry.text)
            chars.update(lost)
            samples += bool(lost)
        if samples:
            log.warning(
                "%d %s samples use characters missing from the training charset: %r",
                samples,
                split,
                "".join(sorted(chars)),
            )
        report[split] = {"chars": "".join(sorted(chars)), "samples": samples}
    return report
