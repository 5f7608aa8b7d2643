"""The IAM download stage against a local FKI-like server and hand-downloaded archives."""

from __future__ import annotations

import io
import json
import logging
import tarfile
import traceback
from pathlib import Path

import pytest

from pipeline.common.config import compose
from pipeline.common.errors import HTRError
from pipeline.data.iam import index as iam
from pipeline.data.iam.download import cache_dir
from pipeline.download import download
from tests.hostile_archives import member, tgz
from tests.iam_server import LINES, WORDS, IamServer, iam_archives, make_tgz, write_archives

FAST = ["data.iam.retry_wait_s=0", "data.iam.timeout_s=10"]


@pytest.fixture(scope="module")
def archives() -> dict[str, bytes]:
    return iam_archives()


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("IAM_USERNAME", raising=False)
    monkeypatch.delenv("IAM_PASSWORD", raising=False)
    return monkeypatch


def login_env(monkeypatch: pytest.MonkeyPatch, server: IamServer, password: str | None = None):
    monkeypatch.setenv("IAM_USERNAME", server.username)
    monkeypatch.setenv("IAM_PASSWORD", password or server.password)


def cfg_for(tmp_path: Path, data: str, *overrides: str):
    return compose([f"data={data}", *FAST, *overrides], root=tmp_path)


def assert_images_match(out: Path, kind: str, entries: list[iam.Entry], archives: dict) -> None:
    with tarfile.open(fileobj=io.BytesIO(archives[f"{kind}.tgz"])) as tar:
        for entry in entries:
            rel = iam.image_relpath(kind, entry.id)
            expected = tar.extractfile(rel.relative_to(kind).as_posix()).read()
            assert (out / rel).read_bytes() == expected


def test_downloads_words_through_form_login(tmp_path, monkeypatch, archives):
    with IamServer(dict(archives)) as server:
        login_env(monkeypatch, server)
        out = download(cfg_for(tmp_path, "iam_words", *server.overrides()))
    assert out == tmp_path / "data/raw/iam_words"
    assert iam.read_words(out) == WORDS
    assert [e.id for e in iam.read_words(out, drop_err=True)] == [w.id for w in WORDS if w.ok]
    assert_images_match(out, "words", WORDS, archives)
    assert [r["method"] + " " + r["path"] for r in server.requests] == [
        "POST /login",
        "GET /DBs/iamDB/data/ascii.tgz",
        "GET /DBs/iamDB/data/words.tgz",
    ]
    report = json.loads((out / "download_report.json").read_text())
    assert report["archives"]["words.tgz"] == {
        "from": "download",
        "bytes": len(archives["words.tgz"]),
        "members": len(WORDS),
    }
    assert (report["entries"], report["entries_err"], report["missing_images"]) == (4, 1, 0)
    cached = sorted(p.name for p in (tmp_path / "data/raw/.cache/iam").iterdir())
    assert cached == ["ascii.tgz", "words.tgz"]


def test_downloads_lines_with_basic_auth(tmp_path, monkeypatch, archives):
    with IamServer(dict(archives), auth="basic") as server:
        login_env(monkeypatch, server)
        out = download(cfg_for(tmp_path, "iam_lines", *server.overrides()))
    assert iam.read_lines(out) == LINES
    assert_images_match(out, "lines", LINES, archives)
    assert all(r["headers"].get("Authorization", "").startswith("Basic ") for r in server.requests)
    assert not (out / "words").exists()


@pytest.mark.parametrize(
    ("auth", "cookie_anyway"), [("form", False), ("form", True), ("basic", False)]
)
def test_wrong_password_is_reported_without_the_password(
    tmp_path, monkeypatch, archives, caplog, capsys, auth, cookie_anyway
):
    caplog.set_level(logging.DEBUG)
    wrong = "Wr0ng-Guess-42"
    server = IamServer(dict(archives), auth=auth, cookie_on_failed_login=cookie_anyway)
    with server:
        login_env(monkeypatch, server, password=wrong)
        with pytest.raises(HTRError, match="rejected the IAM credentials") as info:
            download(cfg_for(tmp_path, "iam_words", *server.overrides()))
    everything = "".join(traceback.format_exception(info.value)) + caplog.text
    captured = capsys.readouterr()
    everything += captured.out + captured.err
    assert wrong not in everything
    assert server.password not in everything
    assert server.username in str(info.value)
    assert not (tmp_path / "data/raw/iam_words").exists()


def resumed_at(request: dict) -> int:
    """The first byte a resumed GET asked for (`Range: bytes=N-`)."""
    value = request["headers"]["Range"]
    assert value.startswith("bytes=") and value.endswith("-")
    return int(value[len("bytes=") : -1])


@pytest.mark.parametrize("same_run", [True, False], ids=["retry-in-run", "next-run"])
def test_truncated_transfer_resumes_with_range(tmp_path, monkeypatch, archives, same_run):
    cut = len(archives["words.tgz"]) // 2
    with IamServer(dict(archives), truncate_first={"words.tgz": cut}) as server:
        login_env(monkeypatch, server)
        cfg = cfg_for(
            tmp_path, "iam_words", *server.overrides(), f"data.iam.retries={int(same_run)}"
        )
        part = cache_dir(cfg) / "words.tgz.part"
        if not same_run:
            with pytest.raises(
                HTRError, match=r"words\.tgz\.part is kept and the next run resumes"
            ):
                download(cfg)
            kept = part.stat().st_size
            assert part.read_bytes() == archives["words.tgz"][:kept]
            assert not (tmp_path / "data/raw/iam_words").exists()
        out = download(cfg)
    first, second = server.gets("words.tgz")
    assert "Range" not in first["headers"]
    assert 0 < resumed_at(second) <= cut
    if not same_run:
        assert resumed_at(second) == kept
    assert (cache_dir(cfg) / "words.tgz").read_bytes() == archives["words.tgz"]
    assert not part.exists()
    assert iam.read_words(out) == WORDS


def test_server_ignoring_range_restarts_the_transfer(tmp_path, monkeypatch, archives):
    cut = len(archives["words.tgz"]) // 2
    with IamServer(dict(archives), truncate_first={"words.tgz": cut}, honour_range=False) as s:
        login_env(monkeypatch, s)
        cfg = cfg_for(tmp_path, "iam_words", *s.overrides(), "data.iam.retries=1")
        download(cfg)
    first, second = s.gets("words.tgz")
    assert "Range" not in first["headers"] and resumed_at(second) > 0
    assert (cache_dir(cfg) / "words.tgz").read_bytes() == archives["words.tgz"]


def test_path_traversal_member_is_refused_and_keeps_previous_output(tmp_path, no_env, archives):
    good = write_archives(tmp_path / "good", archives)
    previous = download(cfg_for(tmp_path, "iam_words", f"data.iam.archive_dir={good}"))
    before = sorted(p.relative_to(previous) for p in previous.rglob("*"))

    evil = dict(archives)
    evil["words.tgz"] = make_tgz({"a01/a01-000u/a01-000u-00-00.png": b"x", "../evil.txt": b"owned"})
    bad = write_archives(tmp_path / "bad", evil)
    with pytest.raises(HTRError, match=r"refusing member '\.\./evil\.txt'"):
        download(cfg_for(tmp_path, "iam_words", f"data.iam.archive_dir={bad}"))

    assert not list(tmp_path.rglob("evil.txt"))
    assert sorted(p.relative_to(previous) for p in previous.rglob("*")) == before
    assert iam.read_words(previous) == WORDS
    assert [p.name for p in previous.parent.iterdir()] == ["iam_words"]


IMAGE = "a01/a01-000u/a01-000u-00-00.png"


def refused_download(tmp_path: Path, archives: dict, words: bytes) -> str:
    """Unpack IAM archives whose words.tgz is `words`; return the refusal message."""
    folder = write_archives(tmp_path / "bad", {**archives, "words.tgz": words})
    with pytest.raises(HTRError) as info:
        download(cfg_for(tmp_path, "iam_words", f"data.iam.archive_dir={folder}"))
    raw = tmp_path / "data/raw"
    assert [p.name for p in raw.iterdir()] == [], "a refused archive left files behind"
    return str(info.value)


def test_absolute_member_is_refused_not_stripped(tmp_path, no_env, archives):
    outside = tmp_path / "outside/a.txt"
    words = tgz([member(IMAGE, content=b"x"), member(str(outside), content=b"owned")])
    message = refused_download(tmp_path, archives, words)
    assert f"words.tgz: refusing member {str(outside)!r}: its name is absolute" in message
    assert not (tmp_path / "outside").exists()


def test_dot_dot_inside_a_name_is_refused(tmp_path, no_env, archives):
    words = tgz([member(IMAGE, content=b"x"), member("a01/../../x.txt", content=b"owned")])
    message = refused_download(tmp_path, archives, words)
    assert "refusing member 'a01/../../x.txt': its name climbs out with '..'" in message
    assert not list(tmp_path.rglob("x.txt"))


@pytest.mark.parametrize(
    ("kind", "link", "said"),
    [
        # each of these passes tarfile's data filter: only the member type refuses it
        (tarfile.LNKTYPE, IMAGE, "a hard link"),
        (tarfile.SYMTYPE, "a01-000u-00-00.png", "a symbolic link"),
        (tarfile.FIFOTYPE, "", "a device or fifo"),
    ],
    ids=["hard-link", "symlink-inside", "fifo"],
)
def test_link_and_special_members_are_refused(tmp_path, no_env, archives, kind, link, said):
    extra = member("a01/a01-000u/a01-000u-00-01.png", kind, link=link)
    message = refused_download(tmp_path, archives, tgz([member(IMAGE, content=b"x"), extra]))
    assert f"{tmp_path / 'bad/words.tgz'}: refusing member {extra[0].name!r}: it is {said}" in (
        message
    )


def test_damaged_archive_in_archive_dir_is_named_and_kept(tmp_path, no_env, archives):
    damaged = dict(archives)
    damaged["words.tgz"] = archives["words.tgz"][: len(archives["words.tgz"]) // 2]
    folder = write_archives(tmp_path / "mine", damaged)
    with pytest.raises(HTRError, match=rf"archive {folder / 'words.tgz'} is damaged"):
        download(cfg_for(tmp_path, "iam_words", f"data.iam.archive_dir={folder}"))
    assert (folder / "words.tgz").read_bytes() == damaged["words.tgz"]
    assert not (tmp_path / "data/raw/iam_words").exists()


def test_damaged_cached_archive_is_deleted_then_downloaded_again(tmp_path, monkeypatch, archives):
    flipped = bytearray(archives["words.tgz"])
    flipped[len(flipped) // 2] ^= 0xFF
    with IamServer(dict(archives)) as server:
        login_env(monkeypatch, server)
        cfg = cfg_for(tmp_path, "iam_words", *server.overrides())
        cache_dir(cfg).mkdir(parents=True)
        (cache_dir(cfg) / "words.tgz").write_bytes(bytes(flipped))
        with pytest.raises(HTRError, match=r"words\.tgz is damaged.*next run downloads it again"):
            download(cfg)
        assert not (cache_dir(cfg) / "words.tgz").exists()
        assert server.gets("words.tgz") == []
        out = download(cfg)
    assert len(server.gets("words.tgz")) == 1
    assert iam.read_words(out) == WORDS


def test_archive_dir_needs_no_network(tmp_path, no_env, archives):
    folder = write_archives(tmp_path / "downloads", archives)
    cfg = cfg_for(
        tmp_path,
        "iam_words",
        f"data.iam.archive_dir={folder}",
        "data.iam.base_url=http://127.0.0.1:9/unreachable",
    )
    out = download(cfg)
    assert iam.read_words(out) == WORDS
    assert_images_match(out, "words", WORDS, archives)
    assert (out / "xml/a01-000u.xml").is_file()
    report = json.loads((out / "download_report.json").read_text())
    assert {a["from"] for a in report["archives"].values()} == {"archive_dir"}
    assert not cache_dir(cfg).exists()


def test_missing_archive_in_archive_dir_without_credentials(tmp_path, no_env, archives):
    folder = write_archives(tmp_path / "partial", {"ascii.tgz": archives["ascii.tgz"]})
    with pytest.raises(HTRError, match=r"missing: words\.tgz \(not in data\.iam\.archive_dir="):
        download(cfg_for(tmp_path, "iam_words", f"data.iam.archive_dir={folder}"))


def test_archive_dir_that_does_not_exist_names_the_key(tmp_path, no_env):
    with pytest.raises(HTRError, match=r"data\.iam\.archive_dir=.*no such directory"):
        download(cfg_for(tmp_path, "iam_words", f"data.iam.archive_dir={tmp_path / 'nope'}"))


def test_no_credentials_and_no_archives_explains_how_to_get_access(tmp_path, no_env):
    with pytest.raises(HTRError) as info:
        download(cfg_for(tmp_path, "iam_lines"))
    message = str(info.value)
    for needle in ("IAM_USERNAME", "IAM_PASSWORD", "register", "archive_dir", "data=sample"):
        assert needle in message
    assert "lines.tgz" in message
    assert not (tmp_path / "data/raw/iam_lines").exists()
