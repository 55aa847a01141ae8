"""Fetch, check and write the pages of a batch, a few at a time, in worker processes.

Parsing a 5000-user page is CPU work that holds the GIL, so pages are handled in forked worker processes
(`fetch_workers`, default 2): each fetches its page over HTTP (dlt's retrying client), strips the credentials
and writes the csv file; the parent only receives the file's path and the page's uuids. A single page, or
`fetch_workers=1`, runs inline without any process.

A batch may have a time limit (`TimeLimit`): every attempt at a page, first try and retries alike, is given at
most the time left until the batch's deadline (a requests transport adapter enforces it), and once it has passed
the page fails with `TimeLimitReached` instead of being retried. A retry's wait (at most
`settings.MAX_RETRY_DELAY_SECONDS`) can run past the deadline; the attempt after it cannot.

Nothing outlives a killed batch: each worker asks the kernel for SIGKILL when its parent dies (Linux
PR_SET_PDEATHSIG), and the page folder is held under an flock by its batch, so the next batch removes any
folder whose lock is free (its batch was killed).
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import logging
import multiprocessing
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from ingestion.randomuser import settings
from ingestion.randomuser.csvfiles import page_csv
from ingestion.randomuser.helpers import IngestError, PageRequest, TooLargeError, fetch_page, parse_page
from ingestion.randomuser.limits import Limits

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1  # linux/prctl.h
# a JSON \u0000 escape (not an escaped backslash followed by "u0000"), or a raw NUL byte
_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000|\x00")


class NulCharacterError(IngestError):
    """A page holds a NUL character, which PostgreSQL text and jsonb cannot store."""


class TimeLimitReached(IngestError):
    """The batch's time limit passed before a page was fetched."""


@dataclass(frozen=True)
class TimeLimit:
    """A batch's bound on fetching: `seconds` from its start, i.e. until `deadline` (time.monotonic(), one clock
    for the forked workers too)."""

    seconds: float
    deadline: float

    @classmethod
    def starting_now(cls, seconds: float) -> TimeLimit:
        return cls(seconds, time.monotonic() + seconds)

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def reached(self, where: str) -> TimeLimitReached:
        return TimeLimitReached(f"the batch's time limit of {self.seconds:g} s passed while fetching {where} "
                                "(the API is too slow or keeps failing); nothing landed")


class DeadlineAdapter(HTTPAdapter):
    """requests transport adapter (it sends every attempt of the retrying client) that caps an attempt's
    timeouts at the time left to `limit` and refuses an attempt once none is left."""

    def __init__(self) -> None:
        super().__init__()
        self.limit: TimeLimit | None = None
        self.where = "a page"

    def send(self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None,
             verify: bool | str = True, cert: Any = None, proxies: Any = None) -> requests.Response:
        limit = self.limit
        if limit is None:
            return super().send(request, stream, timeout, verify, cert, proxies)
        left = limit.left()
        if left <= 0:
            raise limit.reached(self.where)
        connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        capped = (min(connect or left, left), min(read or left, left))
        try:
            return super().send(request, stream, capped, verify, cert, proxies)
        except (requests.Timeout, requests.ConnectionError):
            if limit.left() <= 0:
                raise limit.reached(self.where) from None
            raise


@dataclass(frozen=True)
class HttpSettings:
    """Timeouts and retries of the API client (dlt's retrying requests client)."""

    connect_timeout: float = settings.CONNECT_TIMEOUT_SECONDS
    read_timeout: float = settings.READ_TIMEOUT_SECONDS
    max_attempts: int = settings.MAX_ATTEMPTS


@dataclass(frozen=True)
class PageFile:
    """A written page: its csv file and its users' uuids, in row order."""

    path: Path
    uuids: list[str]


@dataclass(frozen=True)
class PageFetcher:
    """Picklable job: fetch one page from `api_url` and write it as csv into `folder` for load `load_id`, its body
    and users held to `sizes`."""

    api_url: str
    folder: Path
    load_id: str
    http: HttpSettings
    limit: TimeLimit | None = None
    sizes: Limits = field(default_factory=Limits)

    def prepare(self) -> None:
        """Create this process's client before workers are forked: the first client of a process costs ~20 ms
        (dlt resolves its settings), which forked workers then inherit instead of paying each."""
        _client(self.http)

    def __call__(self, request: PageRequest) -> PageFile:
        session = _session(self.http, self.limit, f"{self.api_url} (seed {request.seed}, page {request.page})")
        try:
            body = fetch_page(session, self.api_url, request, self.sizes.page_bytes)
        except TooLargeError as exc:
            raise TooLargeError(f"{exc}; nothing landed") from None
        except IngestError as exc:
            if not isinstance(exc.__cause__, requests.Timeout):
                raise
            raise IngestError(f"{exc}: {self.http.max_attempts} attempts, each given "
                              f"{self.http.read_timeout:g} s to answer") from exc
        if (b"\\u0000" in body or b"\x00" in body) and _NUL.search(body):  # `in` first: ~1000x faster
            raise NulCharacterError(f"API {self.api_url} (seed {request.seed}, page {request.page}) answered a "
                                    "NUL character (\\u0000) in a string, which PostgreSQL cannot store; "
                                    "nothing landed")
        try:
            page = parse_page(body, request, self.api_url, self.sizes.user_bytes)
        except TooLargeError as exc:
            raise TooLargeError(f"{exc}; nothing landed") from None
        del body  # a worker holds one page at a time
        path = self.folder / f"page-{request.page}.csv"
        path.write_bytes(page_csv(page, self.load_id))
        return PageFile(path, page.uuids)


_clients: dict[tuple[int, HttpSettings], Any] = {}


def _client(http: HttpSettings) -> Any:
    """One retrying client per process (a forked worker never reuses its parent's connections)."""
    key = (os.getpid(), http)
    if key not in _clients:
        from dlt.sources.helpers.requests import Client

        _clients[key] = Client(
            request_timeout=(http.connect_timeout, http.read_timeout),
            request_max_attempts=http.max_attempts,
            request_backoff_factor=settings.BACKOFF_FACTOR,
            request_max_retry_delay=settings.MAX_RETRY_DELAY_SECONDS,
        )
    return _clients[key]


def _session(http: HttpSettings, limit: TimeLimit | None, where: str) -> Any:
    """This thread's session of the retrying client, its attempts bounded by `limit`."""
    session = _client(http).session
    adapter = session.get_adapter("http://")
    if not isinstance(adapter, DeadlineAdapter):
        adapter = DeadlineAdapter()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
    adapter.limit, adapter.where = limit, where
    return session


def fetch_in_order(fetch: Callable[[PageRequest], PageFile], requests: list[PageRequest],
                   workers: int) -> Iterator[PageFile]:
    """`fetch` of every request, yielded in request order; `workers` pages in flight and as many queued, so a
    worker never waits for the parent to take a page.
    On failure the pages not started are cancelled and the error of the earliest failed page is raised."""
    if workers <= 1 or len(requests) <= 1:
        yield from map(fetch, requests)
        return
    pending: deque[Future[PageFile]] = deque()
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=min(workers, len(requests)), mp_context=context,
                             initializer=die_with_parent, initargs=(os.getpid(),)) as pool:
        try:
            for request in requests:
                pending.append(pool.submit(fetch, request))
                if len(pending) > 2 * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


def die_with_parent(parent: int) -> None:
    """In a forked process: be killed (SIGKILL) as soon as `parent` dies, so a kill -9 of the batch leaves no
    worker behind; exits at once if `parent` is already gone. Linux only (elsewhere a no-op)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            log.warning("prctl(PR_SET_PDEATHSIG) failed: %s", os.strerror(ctypes.get_errno()))
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


@contextlib.contextmanager
def page_folder(parent: Path) -> Iterator[Path]:
    """A new page folder under `parent`, removed at the end, held under an exclusive flock while in use: the
    kernel frees the lock when the holder dies, which is how `remove_orphan_page_folders` knows it is left over.
    The folder gets its public name only once locked, so no cleaner ever sees it unlocked while in use."""
    making = Path(tempfile.mkdtemp(prefix=f".{settings.PAGE_FOLDER_PREFIX}", dir=parent))
    fd = os.open(making, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        folder = parent / making.name.removeprefix(".")
        making.rename(folder)
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    finally:
        os.close(fd)


def remove_orphan_page_folders(parent: Path) -> list[Path]:
    """Remove the page folders under `parent` that no running batch holds (left by a killed one); returns them."""
    removed = []
    for folder in sorted(parent.glob(f"{settings.PAGE_FOLDER_PREFIX}*")):
        try:
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            continue  # removed meanwhile, or not a folder
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # a running batch's
        else:
            log.warning("removing page files left by a killed batch: %s", folder)
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
        finally:
            os.close(fd)
    return removed
