"""Fetch, check and write the pages of a batch, a few at a time, in worker processes.

Parsing a 5000-user page is CPU work that holds the GIL, so pages are handled in forked worker processes
(`fetch_workers`, default 2): each fetches its page over HTTP (dlt's retrying client), strips the credentials
and writes the csv file; the parent only receives the file's path and the page's uuids. A single page, or
`fetch_workers=1`, runs inline without any process.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingestion.randomuser import settings
from ingestion.randomuser.csvfiles import LOAD_ID_PLACEHOLDER, page_csv
from ingestion.randomuser.helpers import PageRequest, fetch_page, parse_page


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
    placeholder: bool = False  # written before the load id was known: holds LOAD_ID_PLACEHOLDER


@dataclass(frozen=True)
class PageFetcher:
    """Picklable job: fetch one page from `api_url` and write it as csv into `folder` for load `load_id`."""

    api_url: str
    folder: Path
    load_id: str
    http: HttpSettings

    def __call__(self, request: PageRequest) -> PageFile:
        body = fetch_page(_client(self.http), self.api_url, request)
        page = parse_page(body, request, self.api_url)
        path = self.folder / f"page-{request.page}.csv"
        load_id = self.load_id if self.load_id != LOAD_ID_PLACEHOLDER else published_load_id(self.folder)
        path.write_bytes(page_csv(page, load_id or LOAD_ID_PLACEHOLDER))
        return PageFile(path, page.uuids, placeholder=not load_id)


LOAD_ID_FILE = "load-id"


def publish_load_id(folder: Path, load_id: str) -> None:
    """Tell the workers writing into `folder` the load id (pages started before it was known hold
    LOAD_ID_PLACEHOLDER)."""
    temporary = folder / f".{LOAD_ID_FILE}"
    temporary.write_text(load_id)
    temporary.rename(folder / LOAD_ID_FILE)


def published_load_id(folder: Path) -> str | None:
    try:
        return (folder / LOAD_ID_FILE).read_text() or None
    except FileNotFoundError:
        return None


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


def fetch_in_order(fetch: Callable[[PageRequest], PageFile], requests: list[PageRequest],
                   workers: int) -> Iterator[PageFile]:
    """`fetch` of every request, yielded in request order; at most `workers` pages in flight plus one queued.
    On failure the pages not started are cancelled and the error of the earliest failed page is raised."""
    with PageStream(fetch, requests, workers) as stream:
        yield from stream


class PageStream:
    """The pages of `requests` fetched by `fetch` in worker processes that start at once (so pages are
    fetched while the caller still prepares the load), yielded in request order by iterating; at most
    `workers` pages in flight plus one queued. The error of the earliest failed page is raised when it is
    reached; `close()` (or leaving the `with`) cancels the pages not started and waits for the running ones.
    With one worker or one page, pages are fetched inline while iterating."""

    def __init__(self, fetch: Callable[[PageRequest], PageFile], requests: list[PageRequest],
                 workers: int, folder: Path | None = None) -> None:
        self.folder = folder  # where `fetch` writes the page files, if the caller needs to know
        self._fetch = fetch
        self._requests = deque(requests)
        self._workers = workers
        self._pending: deque[Future[PageFile]] = deque()
        self._pool: ProcessPoolExecutor | None = None
        if workers > 1 and len(requests) > 1:
            context = multiprocessing.get_context("fork")
            self._pool = ProcessPoolExecutor(max_workers=min(workers, len(requests)), mp_context=context)
            try:
                self._top_up()
            except BaseException:
                self.close()
                raise

    def _top_up(self) -> None:
        assert self._pool is not None
        while self._requests and len(self._pending) <= self._workers:
            self._pending.append(self._pool.submit(self._fetch, self._requests.popleft()))

    def __iter__(self) -> Iterator[PageFile]:
        if self._pool is None:
            while self._requests:
                yield self._fetch(self._requests.popleft())
            return
        while self._pending:
            page = self._pending.popleft().result()
            self._top_up()
            yield page

    def close(self) -> None:
        self._requests.clear()
        for future in self._pending:
            future.cancel()
        self._pending.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> PageStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
