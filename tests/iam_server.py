"""Test helpers: tiny IAM-format archives and a local HTTP server that serves them like FKI.

The server logs in by form (`POST /login` with email + password sets a `session` cookie,
archive requests without it are redirected to /login) or by HTTP Basic auth, honours
`Range` requests, and can drop the connection part-way through a first transfer.
"""

from __future__ import annotations

import base64
import io
import random
import secrets
import tarfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

from PIL import Image

from pipeline.data.iam import index as iam

DATA_PATH = "/DBs/iamDB/data/"
WORDS = [
    iam.Entry("a01-000u-00-00", "A", True, 154, (408, 768, 27, 51)),
    iam.Entry("a01-000u-00-01", "MOVE", True, 154, (507, 766, 213, 48)),
    iam.Entry("a01-000u-01-00", "Gaitskell", False, 180, (700, 900, 300, 60)),
    iam.Entry("b02-013-03-04", "it's", True, 170, (1, 2, 90, 40)),
]
LINES = [
    iam.Entry("a01-000u-00", "A MOVE to stop", True, 154, (408, 746, 1661, 89)),
    iam.Entry("b02-013-03", "said it's fine .", True, 170, (300, 900, 1500, 80)),
]


def noise_png(seed: str, size: tuple[int, int] = (400, 200)) -> bytes:
    """A PNG of grey noise (incompressible, so archives span many network chunks)."""
    pixels = random.Random(seed).randbytes(size[0] * size[1])
    buffer = io.BytesIO()
    Image.frombytes("L", size, pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def make_tgz(members: dict[str, bytes]) -> bytes:
    """A gzipped tar holding `members` (name -> content), byte-identical for equal input."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(content), 1_000_000_000, 0o644
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def _index(entries: list[iam.Entry], kind: str) -> bytes:
    header = f"#--- {kind}.txt, written for tests ---\n"
    return (header + "".join(iam.format_entry(e, kind) + "\n" for e in entries)).encode()


def iam_archives() -> dict[str, bytes]:
    """ascii.tgz, words.tgz, lines.tgz and xml.tgz laid out as IAM ships them."""

    def images(kind: str, entries: list[iam.Entry]) -> dict[str, bytes]:
        return {
            iam.image_relpath(kind, e.id).relative_to(kind).as_posix(): noise_png(e.id)
            for e in entries
        }

    return {
        "ascii.tgz": make_tgz(
            {"words.txt": _index(WORDS, "words"), "lines.txt": _index(LINES, "lines")}
        ),
        "words.tgz": make_tgz(images("words", WORDS)),
        "lines.tgz": make_tgz(images("lines", LINES)),
        "xml.tgz": make_tgz({"a01-000u.xml": b"<form id='a01-000u'/>\n"}),
    }


def write_archives(folder: Path, archives: dict[str, bytes]) -> Path:
    """Save archives as files, as a user who downloaded them by hand would have them."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in archives.items():
        (folder / name).write_bytes(content)
    return folder


@dataclass
class IamServer:
    """An FKI-like archive server on 127.0.0.1 (a free port), run in a thread."""

    files: dict[str, bytes]
    username: str = "writer@example.org"
    password: str = "Sesame-0pen-s3cret"
    auth: str = "form"
    truncate_first: dict[str, int] = field(default_factory=dict)
    honour_range: bool = True
    cookie_on_failed_login: bool = False
    requests: list[dict] = field(default_factory=list)
    sessions: set[str] = field(default_factory=set)

    def __enter__(self) -> IamServer:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.app = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def base_url(self) -> str:
        return self.origin + DATA_PATH.rstrip("/")

    @property
    def login_url(self) -> str:
        return self.origin + "/login"

    def overrides(self) -> list[str]:
        """Config overrides pointing the download stage at this server."""
        login = self.login_url if self.auth == "form" else "null"
        return [f"data.iam.base_url={self.base_url}", f"data.iam.login_url={login}"]

    def gets(self, name: str) -> list[dict]:
        """The recorded GET requests for one archive, oldest first."""
        return [r for r in self.requests if r["method"] == "GET" and r["path"] == DATA_PATH + name]


class _Handler(BaseHTTPRequestHandler):
    """Answers like the FKI site; HTTP/1.0, so each response ends its connection."""

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output clean."""

    @property
    def app(self) -> IamServer:
        return self.server.app  # type: ignore[attr-defined]

    def _record(self) -> None:
        self.app.requests.append(
            {"method": self.command, "path": self.path, "headers": dict(self.headers)}
        )

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self._record()
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        form = {k: v[0] for k, v in parse_qs(body).items()}
        if self.path != "/login":
            self._send(404)
        elif form.get("email") == self.app.username and form.get("password") == self.app.password:
            token = secrets.token_hex(8)
            self.app.sessions.add(token)
            self._send(302, headers={"Location": "/", "Set-Cookie": f"session={token}; Path=/"})
        else:
            page = b"<html><body>Invalid e-mail or password</body></html>"
            headers = {"Content-Type": "text/html"}
            if self.app.cookie_on_failed_login:
                headers["Set-Cookie"] = "session=anonymous; Path=/"
            self._send(200, page, headers)

    def _authorised(self) -> bool:
        if self.app.auth == "basic":
            pair = f"{self.app.username}:{self.app.password}".encode()
            return self.headers.get("Authorization") == "Basic " + base64.b64encode(pair).decode()
        cookies = dict(
            c.strip().split("=", 1) for c in self.headers.get("Cookie", "").split(";") if "=" in c
        )
        return cookies.get("session") in self.app.sessions

    def do_GET(self) -> None:
        self._record()
        name = self.path.removeprefix(DATA_PATH)
        if not self._authorised():
            if self.app.auth == "basic":
                self._send(401, headers={"WWW-Authenticate": 'Basic realm="iamDB"'})
            else:
                self._send(302, headers={"Location": "/login"})
            return
        if not self.path.startswith(DATA_PATH) or name not in self.app.files:
            self._send(404, b"not found", {"Content-Type": "text/html"})
            return
        data = self.app.files[name]
        start = 0
        wanted = self.headers.get("Range", "")
        if self.app.honour_range and wanted.startswith("bytes=") and wanted.endswith("-"):
            start = int(wanted[len("bytes=") : -1])
        body = data[start:]
        self.send_response(206 if start else 200)
        self.send_header("Content-Type", "application/x-gzip")
        self.send_header("Content-Length", str(len(body)))
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        cut = self.app.truncate_first.pop(name, None)
        self.wfile.write(body if cut is None else body[:cut])
