"""A loaded warehouse (real API, ingest, dbt build, a recorded cycle), the dashboard over it, and headless Chromium.

Chromium is Debian's (`make test` installs it when missing), driven by playwright's Python client; its own
browser download is never used. Pages may ask for nothing but the dashboard's server: the users' pictures
(randomuser.me URLs, unreachable offline) are answered by the test with a small placeholder image.
"""

from __future__ import annotations

import base64
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from randomuser_api.server import LocalApi
from tests.fixtures.warehouse import load_one_cycle
from userpipe.dashboard import RunningDashboard, start_dashboard

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
USERS = 60
STREAMED = 5  # users streamed after the build: in the Live stream row, built into the totals by the next build
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# a 1x1 grey PNG, served for the users' pictures
PLACEHOLDER_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mN4+/bdfwAJYQPR7sTNaQAAAABJRU5ErkJggg==")


@dataclass
class Warehouse:
    """The loaded database, and a way to land one more batch (ingest + dbt build) in it."""

    url: str
    home: Path
    api_url: str
    transformer: Any
    batches: int = 1

    def add_batch(self, users: int) -> None:
        from ingestion.pipeline import ingest

        self.batches += 1
        ingest(users, seed=f"dashboard-{self.batches}", api_url=self.api_url, database_url=self.url)
        self.transformer.build()


@pytest.fixture(scope="module")
def warehouse(make_database: Callable[[], str], local_api: LocalApi,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    from ingestion.stream import stream
    from randomuser_api.stream import LocalStream

    url = make_database()
    home = tmp_path_factory.mktemp("dashboard-home")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("USERPIPE_DATABASE_URL", url)
        env.setenv("USERPIPE_HOME", str(home))
        transformer = load_one_cycle(url, home, local_api.url, USERS, seed="dashboard")
        # new users streamed after the build, for the Live stream row (the built totals stay USERS until the next
        # build); playwright's sync API may already run an event loop in this thread, the feed runs its own
        with LocalStream() as feed:
            streamed = stream(rate=1000, url=feed.url, seed="dashboard-live", database_url=url, max_users=STREAMED)
        assert (streamed.received, streamed.landed_new) == (STREAMED, STREAMED)
        yield Warehouse(url, home, local_api.url, transformer)


@pytest.fixture(scope="module")
def make_dashboard(warehouse: Warehouse) -> Iterator[Callable[..., RunningDashboard]]:
    """Factory: a dashboard over the loaded warehouse on a free port (optionally another definition file)."""
    started: list[RunningDashboard] = []

    def make(definition_path: Path | None = None) -> RunningDashboard:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("USERPIPE_HOME", str(warehouse.home))
            running = start_dashboard(warehouse.url, port=0, definition_path=definition_path)
        started.append(running)
        return running

    yield make
    for running in started:
        running.stop()


@pytest.fixture(scope="package")  # not session: playwright's sync API holds an event loop in this thread while open
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@dataclass
class PageLog:
    """What a page did besides drawing: console errors, uncaught exceptions, requests to other hosts."""

    errors: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)
    queries: int = 0


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[[RunningDashboard], tuple[Any, PageLog]]]:
    """Factory: a 1600x1200 page on a dashboard, its log; pictures answered with a placeholder."""
    contexts: list[Any] = []

    def open_(running: RunningDashboard) -> tuple[Any, PageLog]:
        context = browser.new_context(viewport={"width": 1600, "height": 1200}, device_scale_factor=1)
        contexts.append(context)
        page = context.new_page()
        log = PageLog()
        page.on("console", lambda message: log.errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: log.errors.append(f"uncaught: {error}"))

        def on_request(request: Any) -> None:
            if "/api/query" in request.url:
                log.queries += 1

        page.on("request", on_request)

        def route(route: Any) -> None:
            url = route.request.url
            if url.startswith(running.url):
                route.continue_()
            else:
                log.foreign_requests.append(url)
                route.fulfill(status=200, content_type="image/png", body=PLACEHOLDER_PNG)

        page.route("**/*", route)
        page.goto(running.url)
        return page, log

    yield open_
    for context in contexts:
        context.close()


def wait_until_drawn(page: Any, refreshes: int = 1, timeout_ms: int = 60_000) -> None:
    """Wait (bounded) until the page finished `refreshes` refreshes and every shown panel is drawn or failed."""
    page.wait_for_function(
        """n => Number(document.body.dataset.refreshes || 0) >= n &&
               [...document.querySelectorAll('.panel')].every(p => p.dataset.state !== 'loading')""",
        arg=refreshes, timeout=timeout_ms)


def save_artifact(source: Path, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / name
    shutil.copyfile(source, target)
    return target
