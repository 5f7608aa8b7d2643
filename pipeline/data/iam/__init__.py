"""The IAM Handwriting Database: its index format, downloading and safe unpacking."""

from pipeline.data.iam.index import (
    Entry,
    format_entry,
    image_relpath,
    index_file,
    parse_entry,
    read_entries,
    read_lines,
    read_words,
)
from pipeline.data.iam.unpack import unpack_iam

__all__ = [
    "Entry",
    "format_entry",
    "image_relpath",
    "index_file",
    "parse_entry",
    "read_entries",
    "read_lines",
    "read_words",
    "unpack_iam",
]
