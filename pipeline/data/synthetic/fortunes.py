"""Build the vendored sentence corpus from fortune(6) files (Debian's `fortunes-min`).

A fortune file holds quotes separated by lines of `%`; attributions (`-- Mark Twain`) and
riddle prefixes (`Q:`) are dropped, each quote is split into sentences, and a sentence is
kept when it is plain printable text every vendored font can draw. Regenerate with
`python -m pipeline.data.synthetic.fortunes \
/usr/share/games/fortunes/{fortunes,literature,riddles}`.
"""

from __future__ import annotations

import re
import string
import sys
from collections.abc import Iterable
from pathlib import Path

from pipeline.common.errors import HTRError
from pipeline.data.synthetic.sentences import CORPUS

# The characters of the word data set (letters, digits, the punctuation words) plus space.
CHARS = string.ascii_letters + string.digits + " ,.\"-'();:?!"
MIN_WORDS, MAX_WORDS, MAX_WORD_CHARS = 3, 30, 18
_ATTRIBUTION = re.compile(r"^\s*--")
_RIDDLE = re.compile(r"^[QA]:\s*")
# After . ! or ? (maybe closing a quote or bracket), before a capital or an opening mark.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"(])|(?<=[.!?][\"')])\s+(?=[A-Z\"(])")
_ABBREVIATION = re.compile(r"(\b(Mr|Mrs|Ms|Dr|St|Jr|Sr|Wm|Prof|Rev|Gen|Capt|Col|Lt|vs)|\b[A-Z])\.$")


def split_fortunes(text: str) -> list[str]:
    """The quotes of a fortune file, each as one line of text without its attribution."""
    quotes = []
    for block in re.split(r"^%\s*$", text, flags=re.MULTILINE):
        lines = [ln for ln in block.splitlines() if not _ATTRIBUTION.match(ln)]
        lines = [_RIDDLE.sub("", ln.strip()) for ln in lines]
        quote = " ".join(" ".join(lines).split())
        if quote:
            quotes.append(quote)
    return quotes


def split_sentences(quote: str) -> list[str]:
    """Sentences of a quote; `Mr. Smith` and initials (`J. R. R.`) do not end one."""
    sentences: list[str] = []
    for piece in _SENTENCE_END.split(quote):
        if sentences and _ABBREVIATION.search(sentences[-1]):
            sentences[-1] += " " + piece
        else:
            sentences.append(piece)
    return sentences


def usable(sentence: str, chars: str = CHARS) -> bool:
    """Plain running text the fonts can draw: allowed characters, 3-30 words of at most 18
    characters (no hyphenated monsters), not shouted."""
    words = sentence.split()
    if not MIN_WORDS <= len(words) <= MAX_WORDS or set(sentence) - set(chars):
        return False
    if max(map(len, words)) > MAX_WORD_CHARS:
        return False
    letters = [c for c in sentence if c.isalpha()]
    shouted = sum(c.isupper() for c in letters) > len(letters) / 2
    return not shouted and "(tm)" not in sentence and sentence[0] in string.ascii_uppercase + '"'


def extract_sentences(texts: Iterable[str], chars: str = CHARS) -> list[str]:
    """Usable sentences of fortune-file texts, in first-seen order without repeats."""
    seen: dict[str, None] = {}
    for text in texts:
        for quote in split_fortunes(text):
            for sentence in split_sentences(quote):
                if usable(sentence, chars):
                    seen.setdefault(sentence)
    return list(seen)


def font_chars(font_files: Iterable[Path]) -> str:
    """The characters of CHARS that every given font maps to a glyph."""
    from fontTools.ttLib import TTFont

    chars = set(CHARS)
    for path in font_files:
        cmap = TTFont(path).getBestCmap()
        chars &= {c for c in CHARS if c == " " or ord(c) in cmap}
    return "".join(sorted(chars))


def write_corpus(files: list[Path], out: Path = CORPUS) -> int:
    """Extract the sentences of fortune `files` into `out`, one a line; return the count."""
    from pipeline.data.synthetic.fonts import available_fonts, font_path

    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise HTRError(
            f"fortune file(s) not found: {', '.join(missing)} (apt install fortunes-min)"
        )
    chars = font_chars(font_path(name) for name in available_fonts())
    texts = [f.read_text(encoding="utf-8", errors="replace") for f in files]
    sentences = extract_sentences(texts, chars)
    out.write_text("".join(s + "\n" for s in sentences), encoding="utf-8")
    return len(sentences)


if __name__ == "__main__":
    count = write_corpus([Path(arg) for arg in sys.argv[1:]])
    print(f"{count} sentences -> {CORPUS}")
