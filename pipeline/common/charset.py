"""The character set: text <-> class indices for CTC, with index 0 reserved for the blank."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from pipeline.common.errors import HTRError

BLANK = 0


class Charset:
    """Sorted unique characters mapped to classes 1..N; class 0 is the CTC blank."""

    def __init__(self, chars: str) -> None:
        if not isinstance(chars, str):
            raise HTRError(f"charset must be a string of characters, got {type(chars).__name__}")
        if "".join(sorted(set(chars))) != chars:
            raise HTRError(f"charset must be sorted unique characters, got {chars!r}")
        if not chars:
            raise HTRError("charset is empty: no training text to derive it from")
        self.chars = chars
        self._index = {char: i + 1 for i, char in enumerate(chars)}

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> Charset:
        """The charset of a collection of texts (the training transcriptions)."""
        seen: set[str] = set()
        for text in texts:
            seen.update(text)
        return cls("".join(sorted(seen)))

    @property
    def num_classes(self) -> int:
        """Model output classes: every character plus the blank."""
        return len(self.chars) + 1

    def missing(self, text: str) -> str:
        """The sorted characters of `text` this charset cannot encode."""
        return "".join(sorted(set(text) - self._index.keys()))

    def encode(self, text: str) -> list[int]:
        """Class indices (1..N) of a text; an unknown character raises HTRError."""
        try:
            return [self._index[char] for char in text]
        except KeyError as err:
            raise HTRError(
                f"character {err.args[0]!r} in text {text!r} is not in the charset"
            ) from None

    def decode(self, indices: Iterable[int]) -> str:
        """Text of class indices, skipping the blank (no CTC collapsing: decoders do that)."""
        out = []
        for value in indices:
            index = int(value)
            if index == BLANK:
                continue
            if not 1 <= index <= len(self.chars):
                raise HTRError(f"class index {index} outside 0..{len(self.chars)} of the charset")
            out.append(self.chars[index - 1])
        return "".join(out)

    def save(self, path: Path) -> None:
        """Write the charset as JSON (`{"chars": ..., "blank": 0}`)."""
        Path(path).write_text(
            json.dumps({"chars": self.chars, "blank": BLANK}, ensure_ascii=False) + "\n",
            encoding="utf-8",
        )

    @classmethod
    def load(cls, path: Path) -> Charset:
        """Read a charset written by `save`; a missing or malformed file raises HTRError."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise HTRError(f"charset file not found: {path}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise HTRError(f"charset file {path} is not valid JSON: {err}") from None
        if not isinstance(data, dict) or not isinstance(data.get("chars"), str):
            raise HTRError(f"charset file {path} has no string key 'chars'")
        try:
            return cls(data["chars"])
        except HTRError as err:
            raise HTRError(f"charset file {path}: {err}") from None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Charset) and other.chars == self.chars

    def __hash__(self) -> int:
        return hash(self.chars)

    def __repr__(self) -> str:
        return f"Charset({self.chars!r})"
