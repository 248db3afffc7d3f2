"""One download path for every plain-HTTP file: retried, resumed, verified, with progress.

EK100 annotations and videos and public specialist checkpoints are fetched the way ``curl -C -``
and ``wget -c`` fetch them; requests with urllib3's ``Retry`` does the retrying:

- a request is retried with exponential backoff on connection errors, timeouts, 429 and 5xx,
  waiting as long as a ``Retry-After`` header asks (urllib3's ``Retry``);
- bytes land in ``<target>.part`` beside the target. urllib3 retries requests, not a body cut off
  mid-stream, so a small bounded loop here asks for the rest with ``Range: bytes=<size>-``, as a
  rerun after a killed job does;
- a server that ignores Range (a 200 to a ranged request) restarts the file from zero, never
  appending a second copy;
- the digest (sha256, or md5 where that is all the publisher gives) is checked at the end; a
  mismatch removes the partial and raises an error naming the URL, expected and got;
- the target appears, by rename, only complete and verified;
- progress (bytes, rate) goes to stderr, which a rule sends to its log.

requests, urllib3 and tqdm are imported where they are used: every stage's parser is built at
start-up (``actionmqa.cli``), and the ``fetch-file`` verb defined here must not need them in the
environment of a stage that never downloads.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from actionmqa.errors import InputError
from actionmqa.flags import add_field_arguments, from_arguments

if TYPE_CHECKING:
    import requests
    from tqdm import tqdm

log = logging.getLogger(__name__)

#: Answers worth asking again: the server is busy or briefly broken, not the request wrong.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
#: Bytes read from the network (and written) at a time.
CHUNK_BYTES = 1 << 20
#: Hex length of each digest a publisher may give.
DIGEST_LENGTHS = {"sha256": 64, "md5": 32}


class DownloadError(InputError):
    """A file that could not be had: names the URL and what went wrong."""


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: per request (urllib3's ``Retry``) and per file (resuming a cut body).

    Each field is also a command-line flag of the verbs that download (``actionmqa.flags``).
    """

    retries: int = field(
        default=8, metadata={"help": "retries of one request (connection errors, timeouts, 429, 5xx)"}
    )
    backoff_s: float = field(
        default=1.0, metadata={"help": "backoff factor: waits 0, 2x, 4x, 8x ... this between retries"}
    )
    backoff_max_s: float = field(default=120.0, metadata={"help": "longest wait between two retries"})
    retry_after_max_s: int = field(default=900, metadata={"help": "longest Retry-After honoured (s)"})
    resumes: int = field(
        default=8, metadata={"help": "body cut off this many times in a row without new bytes: give up"}
    )
    timeout_s: float = field(
        default=60.0, metadata={"help": "seconds to connect, and seconds without a byte before a retry"}
    )

    def backoff(self, consecutive: int) -> float:
        """Seconds before the ``consecutive``-th retry in a row: urllib3's formula, so both loops agree."""
        return 0.0 if consecutive <= 1 else min(self.backoff_max_s, self.backoff_s * 2 ** (consecutive - 1))


@dataclass(frozen=True)
class FetchResult:
    """A finished, verified file and how it got there."""

    url: str
    path: Path
    size: int
    sha256: str
    md5: str | None
    #: Digests that were checked against a published value (empty: the file is unverified).
    verified: tuple[str, ...]
    #: Bytes on disk from an earlier, interrupted run when this one started.
    resumed_from: int
    #: Body bytes this call received over the network (0: the target was already in place).
    received: int


def partial_path(target: Path) -> Path:
    """Where the bytes of ``target`` collect until it is complete and verified."""
    return target.with_name(target.name + ".part")


def make_session(policy: RetryPolicy) -> requests.Session:
    """A session whose every request urllib3 retries per ``policy``; bodies arrive unencoded,
    so that a Range offset counts the bytes of the file itself."""
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    retry = Retry(
        total=policy.retries,
        connect=policy.retries,
        read=policy.retries,
        status=policy.retries,
        allowed_methods=frozenset({"GET", "HEAD"}),
        status_forcelist=RETRY_STATUSES,
        backoff_factor=policy.backoff_s,
        backoff_max=policy.backoff_max_s,
        retry_after_max=policy.retry_after_max_s,
        respect_retry_after_header=True,
        raise_on_status=False,  # the last answer comes back, and its status is reported below
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["Accept-Encoding"] = "identity"
    return session


def _expected_digests(url: str, sha256: str | None, md5: str | None) -> dict[str, str]:
    expected = {name: value.lower() for name, value in (("sha256", sha256), ("md5", md5)) if value}
    for name, value in expected.items():
        if len(value) != DIGEST_LENGTHS[name] or any(c not in "0123456789abcdef" for c in value):
            raise InputError(url, f"expected {DIGEST_LENGTHS[name]} hex digits", key=f"{name}={value}")
    return expected


def _file_digests(path: Path, algorithms: tuple[str, ...]) -> dict[str, str]:
    hashers = {name: hashlib.new(name) for name in algorithms}
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            for hasher in hashers.values():
                hasher.update(chunk)
    return {name: hasher.hexdigest() for name, hasher in hashers.items()}


class _Partial:
    """The ``.part`` file, and running digests of exactly the bytes in it."""

    def __init__(self, path: Path, algorithms: tuple[str, ...]) -> None:
        self.path = path
        self.algorithms = algorithms
        self.handle: IO[bytes] = open(path, "ab")  # noqa: SIM115 (closed by close())
        self.hashers = {name: hashlib.new(name) for name in algorithms}
        with open(path, "rb") as earlier:  # what an interrupted run left
            while chunk := earlier.read(CHUNK_BYTES):
                self._hash(chunk)
        self.size = self.handle.tell()

    def _hash(self, chunk: bytes) -> None:
        for hasher in self.hashers.values():
            hasher.update(chunk)

    def write(self, chunk: bytes) -> None:
        self.handle.write(chunk)
        self._hash(chunk)
        self.size += len(chunk)

    def restart(self) -> None:
        self.handle.truncate(0)
        self.hashers = {name: hashlib.new(name) for name in self.algorithms}
        self.size = 0

    def digests(self) -> dict[str, str]:
        return {name: hasher.hexdigest() for name, hasher in self.hashers.items()}

    def close(self) -> None:
        self.handle.close()


def _content_range(url: str, response: requests.Response) -> tuple[int | None, int | None]:
    """``(first byte, total size)`` of a 206's or 416's ``Content-Range`` (``None`` where unknown)."""
    header = response.headers.get("Content-Range", "")
    unit, _, spec = header.partition(" ")
    span, _, total = spec.partition("/")
    try:
        if unit != "bytes" or not total:
            raise ValueError(header)
        first = None if span == "*" else int(span.split("-", 1)[0])
        return first, None if total == "*" else int(total)
    except ValueError:
        raise DownloadError(url, f"download failed: unreadable Content-Range {header!r}") from None


def _total(response: requests.Response) -> int | None:
    length = response.headers.get("Content-Length")
    return int(length) if length and length.isdigit() else None


def _progress_bar(name: str, total: int | None, initial: int) -> tqdm:
    # On a terminal, a live bar; in a rule's log, one line every half minute.
    from tqdm import tqdm

    interactive = sys.stderr.isatty()
    return tqdm(
        total=total,
        initial=initial,
        desc=name,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        mininterval=0.5 if interactive else 30.0,
        file=sys.stderr,
        dynamic_ncols=interactive,
    )


def _request_rest(
    session: requests.Session, url: str, partial: _Partial, policy: RetryPolicy
) -> tuple[requests.Response, int | None] | None:
    """Ask for the bytes ``partial`` lacks: the response whose body continues it, and the file's size
    (``None`` if the server does not say); ``None`` when ``partial`` already holds the whole file."""
    import requests

    offset = partial.size
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        response = session.get(url, headers=headers, stream=True, timeout=policy.timeout_s)
    except requests.RequestException as exc:
        raise DownloadError(url, f"download failed after {policy.retries} retries: {exc}") from exc
    status = response.status_code
    if status == 200:
        if offset:
            log.warning("%s: the server ignored Range; restarting from byte 0", url)
            partial.restart()
        return response, _total(response)
    if status == 206:
        first, total = _content_range(url, response)
        if first != offset:
            response.close()
            raise DownloadError(
                url, f"download failed: asked for bytes from {offset}, got a range from {first}"
            )
        return response, total
    response.close()
    if status == 416 and offset:
        # Nothing after ``offset``: the partial is the whole file, or it does not belong to this one.
        _, total = _content_range(url, response)
        if total == offset:
            return None
        log.warning(
            "%s: the partial (%d bytes) is not a prefix of a %s-byte file; restarting", url, offset, total
        )
        partial.restart()
        return _request_rest(session, url, partial, policy)
    retried = f" after {policy.retries} retries" if status in RETRY_STATUSES else ""
    raise DownloadError(url, f"download failed: HTTP {status} {response.reason}{retried}")


def _drain(response: requests.Response, partial: _Partial, bar: tqdm) -> Exception | None:
    """Append the body to ``partial`` as it arrives (what came before a cut is kept); the cut, if any."""
    import urllib3

    try:
        while chunk := response.raw.read1(CHUNK_BYTES):
            partial.write(chunk)
            bar.update(len(chunk))
    except urllib3.exceptions.HTTPError as exc:  # cut off, or silent past the timeout
        return exc
    return None


def _transfer(session: requests.Session, url: str, partial: _Partial, policy: RetryPolicy, name: str) -> int:
    """Fill ``partial`` with the whole file at ``url``; returns the bytes received.

    urllib3 retries each request; this loop asks again after a body cut off mid-stream, giving up
    after ``policy.resumes`` cuts in a row that brought no new byte.
    """
    received = 0
    cuts_in_a_row = 0
    bar: tqdm | None = None
    try:
        while True:
            opened = _request_rest(session, url, partial, policy)
            if opened is None:
                return received
            response, total = opened
            if bar is None:
                bar = _progress_bar(name, total, partial.size)
            elif partial.size == 0:
                bar.reset(total=total)
            start = partial.size
            with response:
                cut = _drain(response, partial, bar)
            received += partial.size - start
            if cut is None and (total is None or partial.size >= total):
                return received
            cuts_in_a_row = 0 if partial.size > start else cuts_in_a_row + 1
            if cuts_in_a_row > policy.resumes:
                raise DownloadError(
                    url,
                    f"download failed: cut off at byte {partial.size} {cuts_in_a_row} times in a row"
                    f" without new bytes ({cut}); the partial {partial.path} is kept for a rerun",
                )
            log.warning("%s: body ended at byte %d of %s (%s); resuming", url, partial.size, total, cut)
            time.sleep(policy.backoff(cuts_in_a_row))
    finally:
        if bar is not None:
            bar.close()


def fetch_file(
    url: str,
    dest: Path,
    *,
    sha256: str | None = None,
    md5: str | None = None,
    policy: RetryPolicy | None = None,
    session: requests.Session | None = None,
) -> FetchResult:
    """Download ``url`` to ``dest``, resuming a partial left beside it, and check its digest.

    A ``dest`` already in place with the expected digest is kept without a request. Raises
    ``DownloadError`` naming the URL when the file cannot be had or does not verify; the partial
    survives an interrupted transfer (a rerun resumes it) but not a digest mismatch.
    """
    dest = Path(dest)
    policy = policy or RetryPolicy()
    expected = _expected_digests(url, sha256, md5)
    algorithms = tuple(dict.fromkeys(("sha256", *expected)))
    if expected and dest.is_file():
        digests = _file_digests(dest, algorithms)
        if all(digests[name] == value for name, value in expected.items()):
            log.info("%s already present with the expected %s", dest, "/".join(expected))
            return FetchResult(
                url, dest, dest.stat().st_size, digests["sha256"], digests.get("md5"), tuple(expected), 0, 0
            )
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = partial_path(dest)
    partial = _Partial(part, algorithms)
    resumed_from = partial.size
    log.info(
        "downloading %s -> %s%s", url, dest, f" (resuming at byte {resumed_from})" if resumed_from else ""
    )
    owned = session is None
    session = session or make_session(policy)
    try:
        received = _transfer(session, url, partial, policy, dest.name)
    finally:
        partial.close()
        if owned:
            session.close()
    digests = partial.digests()
    for name, value in expected.items():
        if digests[name] != value:
            part.unlink()
            raise DownloadError(
                url, f"{name} mismatch: expected {value}, got {digests[name]}; {dest} not written"
            )
    os.replace(part, dest)
    size = dest.stat().st_size
    log.info(
        "%s -> %s: %d bytes (%d received), sha256 %s, %s",
        url,
        dest,
        size,
        received,
        digests["sha256"],
        f"{'/'.join(expected)} verified" if expected else "unverified",
    )
    return FetchResult(
        url, dest, size, digests["sha256"], digests.get("md5"), tuple(expected), resumed_from, received
    )


# ---------------------------------------------------------------- command line


def add_fetch_file_verb(verbs: Any) -> None:
    """``fetch-file``: one file to one path, as a rule downloads a checkpoint or an archive."""
    verb = verbs.add_parser(
        "fetch-file",
        help="download one file (retried, resumed from <out>.part, checksum-verified)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    verb.add_argument("--url", required=True, help="http(s) URL of the file")
    verb.add_argument("--out", type=Path, required=True, help="where the verified file is placed")
    digest = verb.add_mutually_exclusive_group()
    digest.add_argument("--sha256", help="expected sha256 (hex)")
    digest.add_argument("--md5", help="expected md5 (hex), where the publisher gives only that")
    add_field_arguments(verb, RetryPolicy)
    verb.set_defaults(func=_fetch_file)


def _fetch_file(args: argparse.Namespace) -> None:
    policy = from_arguments(RetryPolicy, args)
    result = fetch_file(args.url, args.out, sha256=args.sha256, md5=args.md5, policy=policy)
    if not result.verified:
        log.warning(
            "%s was not verified: its sha256 is %s (pin it with --sha256)", result.path, result.sha256
        )
