"""Get the IAM archives: from `data.iam.archive_dir`, the download cache, or the FKI site.

Downloads stream into `<paths.raw>/.cache/iam/<name>.part` and resume with an HTTP
`Range` request after an interruption; a finished archive is renamed to `<name>` in the
cache. The password comes from the environment only, so it is never in the composed
config, and every message built from a network error is scrubbed of it.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from omegaconf import DictConfig
from tqdm import tqdm

from pipeline.common.config import project_path
from pipeline.common.errors import HTRError

log = logging.getLogger(__name__)

CHUNK = 1 << 16
MAX_REDIRECTS = 5
ARCHIVES = {"words": ("ascii.tgz", "words.tgz"), "lines": ("ascii.tgz", "lines.tgz")}
OPTIONAL = ("xml.tgz",)
ACCESS_HELP = (
    "the IAM Handwriting Database needs a free account for non-commercial research: register at "
    "https://fki.tic.heia-fr.ch/register, then set IAM_USERNAME (your e-mail) and IAM_PASSWORD, "
    "or put the archives you downloaded ({names}) in a folder and set "
    "data.iam.archive_dir=<folder>. data=sample needs no account and runs offline"
)


class _Transient(Exception):
    """A failure worth retrying: dropped connection, timeout, short transfer, HTTP 5xx."""


@dataclass(frozen=True)
class Credentials:
    """An IAM account; the password is left out of repr so it cannot reach a log by accident."""

    username: str
    password: str = field(repr=False)

    def scrub(self, text: str) -> str:
        """`text` with the password masked, for messages built from third-party errors."""
        return text.replace(self.password, "***") if self.password else text


def credentials_from_env(environ: Mapping[str, str] | None = None) -> Credentials | None:
    """IAM_USERNAME / IAM_PASSWORD from the environment, or None when either is unset."""
    environ = os.environ if environ is None else environ
    user, password = environ.get("IAM_USERNAME", ""), environ.get("IAM_PASSWORD", "")
    return Credentials(user, password) if user and password else None


def cache_dir(cfg: DictConfig) -> Path:
    """Where downloads (and their `.part` files) are kept between runs."""
    return project_path(cfg, cfg.paths.raw, ".cache", "iam")


def locate_archives(cfg: DictConfig) -> dict[str, tuple[Path, str]]:
    """Path and origin ('archive_dir', 'cache', 'download') of each archive `data.kind` needs.

    xml.tgz is added when it is already on disk; it is never downloaded.
    """
    iam = cfg.data.iam
    user_dir = project_path(cfg, os.path.expanduser(iam.archive_dir)) if iam.archive_dir else None
    if user_dir is not None and not user_dir.is_dir():
        raise HTRError(f"data.iam.archive_dir={iam.archive_dir!r}: no such directory ({user_dir})")
    cache = cache_dir(cfg)
    found: dict[str, tuple[Path, str]] = {}
    for name in ARCHIVES[cfg.data.kind] + OPTIONAL:
        if user_dir is not None and (user_dir / name).is_file():
            found[name] = (user_dir / name, "archive_dir")
        elif (cache / name).is_file():
            found[name] = (cache / name, "cache")
    missing = [name for name in ARCHIVES[cfg.data.kind] if name not in found]
    if not missing:
        return found
    credentials = credentials_from_env()
    if credentials is None:
        where = f" (not in data.iam.archive_dir={iam.archive_dir})" if user_dir else ""
        raise HTRError(
            f"IAM archives missing: {', '.join(missing)}{where} and IAM_USERNAME/IAM_PASSWORD "
            f"are not both set; " + ACCESS_HELP.format(names=", ".join(ARCHIVES[cfg.data.kind]))
        )
    session = open_session(iam, credentials)
    with session:
        for name in missing:
            url = f"{iam.base_url.rstrip('/')}/{name}"
            found[name] = (fetch_archive(session, url, cache / name, iam, credentials), "download")
    return found


def open_session(iam: DictConfig, credentials: Credentials) -> requests.Session:
    """A session that may fetch archives: logged in by form, or carrying HTTP Basic auth."""
    session = requests.Session()
    session.headers["User-Agent"] = "htr-pipeline (IAM download)"
    if iam.login_url is None:
        session.auth = (credentials.username, credentials.password)
        return session

    def login() -> None:
        form = {"email": credentials.username, "password": credentials.password}
        try:
            resp = session.post(
                iam.login_url, data=form, timeout=iam.timeout_s, allow_redirects=False
            )
        except (requests.ConnectionError, requests.Timeout) as err:
            raise _Transient(f"{type(err).__name__}: {err}") from None
        if resp.status_code in (401, 403) or not session.cookies:
            raise _rejected(credentials, iam.login_url)
        if resp.status_code >= 500:
            raise _Transient(f"HTTP {resp.status_code}")

    _retrying(login, f"logging in at {iam.login_url}", iam, credentials)
    log.info("logged in at %s as %s", iam.login_url, credentials.username)
    return session


def fetch_archive(
    session: requests.Session, url: str, dest: Path, iam: DictConfig, credentials: Credentials
) -> Path:
    """Download `url` to `dest`, resuming `dest.part` if an earlier run was interrupted."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    _retrying(
        lambda: _fetch_once(session, url, part, iam, credentials),
        f"downloading {url}",
        iam,
        credentials,
        hint=f"; {part} is kept and the next run resumes it",
    )
    os.replace(part, dest)
    log.info("downloaded %s (%d bytes)", dest.name, dest.stat().st_size)
    return dest


def _retrying(
    action: Callable[[], None], what: str, iam: DictConfig, credentials: Credentials, hint: str = ""
) -> None:
    """Run `action`, retrying `_Transient` failures `iam.retries` times with growing waits."""
    for attempt in range(iam.retries + 1):
        try:
            return action()
        except _Transient as err:
            reason = credentials.scrub(str(err))
            if attempt == iam.retries:
                raise HTRError(
                    f"{what} failed after {attempt + 1} attempt(s): {reason}{hint}"
                ) from None
            log.warning("%s: %s; retry %d of %d", what, reason, attempt + 1, iam.retries)
            time.sleep(iam.retry_wait_s * 2**attempt)


def _fetch_once(
    session: requests.Session, url: str, part: Path, iam: DictConfig, credentials: Credentials
) -> None:
    """One GET of `url` appended to (206) or replacing (200) `part`; `_Transient` if short."""
    offset = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        with _get(session, url, headers, iam, credentials) as resp:
            if resp.status_code == 416 or (
                resp.status_code == 206 and _range_start(resp) != offset
            ):
                part.unlink(missing_ok=True)
                raise _Transient(f"server could not resume at byte {offset}; starting over")
            if resp.status_code == 200 and offset:
                log.info("%s: server ignored the resume request; starting over", url)
                offset = 0
            length = resp.headers.get("Content-Length")
            total = offset + int(length) if length and length.isdigit() else None
            with (
                part.open("ab" if offset else "wb") as out,
                tqdm(total=total, initial=offset, unit="B", unit_scale=True, desc=part.stem) as bar,
            ):
                # raw bytes: a server adding Content-Encoding must not get the .tgz unzipped
                for chunk in resp.raw.stream(CHUNK, decode_content=False):
                    out.write(chunk)
                    bar.update(len(chunk))
    except (
        requests.ConnectionError,
        requests.Timeout,
        urllib3.exceptions.HTTPError,
    ) as err:
        raise _Transient(f"{type(err).__name__}: {err}") from None
    size = part.stat().st_size
    if total is not None and size != total:
        raise _Transient(f"transfer stopped at byte {size} of {total}")


def _get(
    session: requests.Session,
    url: str,
    headers: dict[str, str],
    iam: DictConfig,
    credentials: Credentials,
) -> requests.Response:
    """Streamed GET that follows same-site redirects and maps refusals to clear errors."""
    origin = urlsplit(url)[:2]
    for _ in range(MAX_REDIRECTS):
        resp = session.get(
            url, headers=headers, stream=True, timeout=iam.timeout_s, allow_redirects=False
        )
        if not resp.is_redirect:
            break
        target = urljoin(url, resp.headers["Location"])
        resp.close()
        if iam.login_url and urlsplit(target).path == urlsplit(iam.login_url).path:
            raise _rejected(credentials, url)
        if urlsplit(target)[:2] != origin:
            raise HTRError(f"{url} redirects to another site ({target}); set data.iam.base_url")
        url = target
    else:
        raise HTRError(f"{url}: more than {MAX_REDIRECTS} redirects")
    status = resp.status_code
    if status in (401, 403):
        resp.close()
        raise _rejected(credentials, url)
    if status >= 500 or status == 429:
        resp.close()
        raise _Transient(f"HTTP {status} from {url}")
    if status not in (200, 206, 416):
        resp.close()
        raise HTRError(f"{url} answered HTTP {status}; check data.iam.base_url={iam.base_url!r}")
    if resp.headers.get("Content-Type", "").startswith("text/html"):
        resp.close()
        raise HTRError(
            f"{url} answered with a web page, not an archive; check data.iam.base_url and that "
            f"the IAM account {credentials.username} can download"
        )
    return resp


def _range_start(resp: requests.Response) -> int | None:
    """First byte of a 206 answer (`Content-Range: bytes START-END/TOTAL`)."""
    value = resp.headers.get("Content-Range", "")
    try:
        return int(value.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return None


def _rejected(credentials: Credentials, where: str) -> HTRError:
    return HTRError(
        f"{where} rejected the IAM credentials of IAM_USERNAME={credentials.username!r}: "
        "check IAM_USERNAME / IAM_PASSWORD (register at https://fki.tic.heia-fr.ch/register); "
        "data=sample runs offline"
    )
