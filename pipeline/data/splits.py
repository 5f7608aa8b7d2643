"""Train/val/test assignment: seeded random fractions, or IAM's official split lists."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

from pipeline.common.errors import HTRError

SPLITS = ("train", "val", "test")
TOLERANCE = 1e-6

# IAM's "large writer independent text line recognition task" lists, one line id per row.
LIST_FILES = {
    "trainset.txt": "train",
    "validationset1.txt": "val",
    "validationset2.txt": "val",
    "testset.txt": "test",
}
OPTIONAL_LISTS = {"validationset2.txt"}


def check_fractions(train: float, val: float, test: float) -> None:
    """Raise HTRError naming the keys unless the fractions are non-negative and sum to 1."""
    values = {"data.split.train": train, "data.split.val": val, "data.split.test": test}
    for key, value in values.items():
        if not -TOLERANCE <= value <= 1.0 + TOLERANCE:
            raise HTRError(f"{key}={value} must lie in [0, 1]")
    total = train + val + test
    if abs(total - 1.0) > TOLERANCE:
        raise HTRError(
            f"data.split.train + data.split.val + data.split.test must sum to 1, got "
            f"{train} + {val} + {test} = {total:g}"
        )


def random_split(n: int, train: float, val: float, test: float, seed: int) -> list[str]:
    """A split name per item: a seeded shuffle cut at the cumulative fractions."""
    check_fractions(train, val, test)
    order = list(range(n))
    random.Random(seed).shuffle(order)
    cut_train = min(n, max(0, round(n * train)))
    cut_val = max(cut_train, min(n, round(n * (train + val))))
    names = [""] * n
    for rank, item in enumerate(order):
        names[item] = "train" if rank < cut_train else "val" if rank < cut_val else "test"
    return names


def line_id(sample_id: str, kind: str) -> str:
    """The IAM line id a sample belongs to: a word a01-000u-00-00 -> line a01-000u-00."""
    if kind == "lines":
        return sample_id
    head, sep, _ = sample_id.rpartition("-")
    if not sep or head.count("-") < 2:
        raise HTRError(f"word id {sample_id!r} does not look like form-writer-line-word")
    return head


def read_split_lists(lists_dir: Path) -> dict[str, str]:
    """Map each line id to its split from IAM's list files in `lists_dir`."""
    lists_dir = Path(lists_dir)
    if not lists_dir.is_dir():
        raise HTRError(f"data.split.lists_dir {lists_dir} is not a directory")
    owner: dict[str, tuple[str, str]] = {}
    for filename, split in LIST_FILES.items():
        path = lists_dir / filename
        if not path.is_file():
            if filename in OPTIONAL_LISTS:
                continue
            raise HTRError(f"IAM split list not found: {path} (set by data.split.lists_dir)")
        for raw in path.read_text(encoding="utf-8").splitlines():
            ident = raw.strip()
            if not ident or ident.startswith("#"):
                continue
            previous = owner.get(ident)
            if previous and previous[0] != split:
                raise HTRError(f"line id {ident} is listed in both {previous[1]} and {path}")
            owner[ident] = (split, str(path))
    return {ident: split for ident, (split, _) in owner.items()}


def listed_split(ids: Sequence[str], kind: str, lists: dict[str, str]) -> list[str | None]:
    """A split name per sample id from the IAM lists; None where its line is unlisted."""
    return [lists.get(line_id(sample_id, kind)) for sample_id in ids]
