"""Gzipped tar archives: check that one reads to the end, then unpack it safely.

Checking streams the whole archive (every member and the gzip CRC) so a truncated or
damaged download is caught before anything is unpacked. Unpacking accepts only what IAM
archives hold, regular files and directories with relative names and no `..`, and
then applies tarfile's `data` filter too. The filter alone is not enough on the Pythons
we support: its realpath check can be defeated by symlink chains longer than PATH_MAX
(CVE-2025-4517), so a link member is refused before anything resolves it.
"""

from __future__ import annotations

import gzip
import tarfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import IO

from tqdm import tqdm

from pipeline.common.errors import HTRError

CHUNK = 1 << 20
READ_ERRORS = (tarfile.TarError, OSError, EOFError, zlib.error)


@contextmanager
def _stream(path: Path, what: str) -> Iterator[tarfile.TarFile]:
    """Open `path` as a streamed .tgz whose compressed bytes drive a progress bar."""
    size = path.stat().st_size
    with (
        path.open("rb") as raw,
        tqdm.wrapattr(
            raw, "read", total=size, desc=f"{what} {path.name}", unit="B", unit_scale=True
        ) as counted,
        gzip.GzipFile(fileobj=counted, mode="rb") as unzipped,
        tarfile.open(fileobj=unzipped, mode="r|") as tar,
    ):
        yield tar
        _drain(unzipped)


def _drain(handle: IO[bytes]) -> None:
    """Read to the end so gzip checks its CRC and length trailer."""
    while handle.read(CHUNK):
        pass


def verify_archive(path: Path) -> int:
    """Read a .tgz completely and return its member count; HTRError names a damaged one."""
    path = Path(path)
    count = 0
    try:
        with _stream(path, "checking") as tar:
            for member in tar:
                count += 1
                if member.isfile():
                    _drain(tar.extractfile(member))  # type: ignore[arg-type]
    except READ_ERRORS as err:
        raise HTRError(f"archive {path} is damaged or incomplete: {err}") from err
    if count == 0:
        raise HTRError(f"archive {path} contains no files")
    return count


def _refusal(member: tarfile.TarInfo) -> str | None:
    """Why a member may not be unpacked, or None: only files and directories whose
    relative names stay inside the target are what an IAM archive can hold."""
    if not (member.isfile() or member.isdir()):
        return f"it is {_kind(member)}; IAM archives hold only files and directories"
    if "\x00" in member.name:
        return "its name holds a NUL byte"
    if member.name.startswith("/"):
        return "its name is absolute"
    parts = PurePosixPath(member.name).parts
    if ".." in parts:
        return "its name climbs out with '..'"
    if not parts and member.isfile():
        return "it is a file without a name"
    return None


def _kind(member: tarfile.TarInfo) -> str:
    if member.islnk():
        return "a hard link"
    if member.issym():
        return "a symbolic link"
    if member.isdev():
        return "a device or fifo"
    return f"a member of tar type {member.type!r}"


def extract_archive(path: Path, target: Path) -> int:
    """Unpack a .tgz into `target` (created if needed) and return the member count.

    A member that is not a regular file or directory (links, devices, fifos), or whose
    name is absolute or holds `..`, raises HTRError naming the archive and the member;
    call this inside an atomic directory so that nothing of a refused archive survives.
    """
    path, target = Path(path), Path(target)
    target.mkdir(parents=True, exist_ok=True)
    count = 0
    try:
        with _stream(path, "unpacking") as tar:
            for member in tar:
                reason = _refusal(member)
                if reason is not None:
                    raise HTRError(f"archive {path}: refusing member {member.name!r}: {reason}")
                tar.extract(member, target, filter="data")
                count += 1
    except tarfile.FilterError as err:
        name = err.tarinfo.name if err.tarinfo is not None else "?"
        raise HTRError(f"archive {path}: refusing member {name!r}: {err}") from err
    except READ_ERRORS as err:
        raise HTRError(f"archive {path} could not be unpacked: {err}") from err
    return count
