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
from ingestion.randomuser.csvfiles import page_csv
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


@dataclass(frozen=True)
class PageFetcher:
    """Picklable job: fetch one page from `api_url` and write it as csv into `folder` for load `load_id`."""

    api_url: str
    folder: Path
    load_id: str
    http: HttpSettings

    def prepare(self) -> None:
        """Create this process's client before workers are forked: the first client of a process costs ~20 ms
        (dlt resolves its settings), which forked workers then inherit instead of paying each."""
        _client(self.http)

    def __call__(self, request: PageRequest) -> PageFile:
        body = fetch_page(_client(self.http), self.api_url, request)
        page = parse_page(body, request, self.api_url)
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
    with ProcessPoolExecutor(max_workers=min(workers, len(requests)), mp_context=context) as pool:
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
