"""IAM's lines.txt as the database ships it: header comments, `|` tokens, err segmentations."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.common.errors import HTRError
from pipeline.data.iam import index as iam

# Written by hand in IAM's layout (not produced by our writer): a `#` header, 9+ fields,
# punctuation and clitics as tokens of their own, `err` lines, a `#` word in a transcription.
LINES_TXT = """\
#--- lines.txt: test copy in the IAM layout ----------------------------------#
#
# format: id segmentation grey-level components x y w h transcription
#         tokens of the transcription are separated by |
#
a01-000u-00 ok 154 19 408 746 1661 89 A|MOVE|to|stop|Mr.|Gaitskell|from
a01-000u-01 err 156 19 395 932 1850 105 kept|the|kettle|warm
b04-012-02 ok 171 22 342 1040 1790 96 "|It|was|n't|ours|,|"|she|said|.
c03-096f-07 ok 180 8 371 2011 1012 82 item|#|3|(|see|page|12|)|;
d06-111-04 err 169 31 300 1400 1922 120 you|'ll|see|:|it|'s|fine|!

"""


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "lines.txt").write_text(text, encoding="utf-8")
    return tmp_path


def test_real_format_lines_parse_with_tokens_joined_by_spaces(tmp_path):
    entries = iam.read_lines(write(tmp_path, LINES_TXT))
    assert [e.id for e in entries] == [
        "a01-000u-00", "a01-000u-01", "b04-012-02", "c03-096f-07", "d06-111-04",
    ]  # fmt: skip
    first = entries[0]
    assert first.text == "A MOVE to stop Mr. Gaitskell from"
    assert (first.ok, first.grey_level, first.box) == (True, 154, (408, 746, 1661, 89))
    assert entries[2].text == '" It was n\'t ours , " she said .'
    assert entries[3].text == "item # 3 ( see page 12 ) ;"  # a `#` inside a line is text
    assert [e.ok for e in entries] == [True, False, True, True, False]
    kept = iam.read_lines(tmp_path, drop_err=True)
    assert [e.id for e in kept] == ["a01-000u-00", "b04-012-02", "c03-096f-07"]
    assert iam.image_relpath("lines", "c03-096f-07") == Path("lines/c03/c03-096f/c03-096f-07.png")


def test_written_lines_read_back_identically(tmp_path):
    entries = iam.read_lines(write(tmp_path, LINES_TXT))
    lines = [iam.format_entry(e, "lines", components=19) for e in entries]
    assert lines[0] == LINES_TXT.splitlines()[5]
    assert iam.read_lines(write(tmp_path, "\n".join(lines) + "\n")) == entries


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("a01-000u-00 ok 154 19 408 746 1661", "expected at least 9 fields"),
        ("a01-000u-00 maybe 154 19 408 746 1661 89 A|MOVE", "must be ok or err, got 'maybe'"),
        ("a01-000u-00 ok 154 19 408 7x6 1661 89 A|MOVE", "non-numeric field"),
    ],
)
def test_a_broken_line_is_named_by_file_and_line_number(tmp_path, line, message):
    write(tmp_path, "# header\n" + line + "\n")
    with pytest.raises(HTRError, match=message) as err:
        iam.read_lines(tmp_path)
    assert f"{tmp_path / 'lines.txt'}:2" in str(err.value)


def test_missing_lines_txt_is_named(tmp_path):
    with pytest.raises(HTRError, match=r"not found: .*lines\.txt"):
        iam.read_lines(tmp_path)
