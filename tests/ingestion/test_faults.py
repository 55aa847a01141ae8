"""A flaky API is retried; a broken or foreign one fails in one line, landing nothing, leaving raw as it was."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import dlt
import psycopg
import pytest

from ingestion.pipeline import DLT_CONFIG, ingest
from ingestion.pipeline import _pipeline as pipeline_for
from ingestion.randomuser import settings
from ingestion.randomuser.fetching import TimeLimitReached
from ingestion.randomuser.helpers import BatchPlan, IngestError
from ingestion.randomuser.source import randomuser_source
from randomuser_api import Fault, FaultPlan, LocalApi
from tests.fixtures.api import FaultyApiFactory
from tests.ingestion.conftest import Answer, FakeApi, good_page, query, raw_snapshot, scalar
from userpipe import warehouse


def used(api: LocalApi) -> int:
    """Requests that took a use of the (single) fault of `api`."""
    fault = api.faults.to_json()["faults"][0]
    return int(fault["times"]) - int(fault["remaining"])


def no_pending_packages() -> bool:
    pipeline = dlt.attach(settings.PIPELINE_NAME, pipelines_dir=str(warehouse.home() / "dlt"))
    return not pipeline.has_pending_data


@pytest.mark.parametrize("fault", [Fault("429", times=2, retry_after=1), Fault("500", times=2),
                                   Fault("truncate", times=2)],
                         ids=["429-retry-after", "500", "truncated-body"])
def test_throttled_or_failing_requests_are_retried_then_land(
        database_url: str, faulty_api: FaultyApiFactory, fault: Fault) -> None:
    api = faulty_api(FaultPlan([fault]))

    result = ingest(40, seed="flaky", api_url=api.url)

    assert used(api) == 2
    assert result.users_new == 40
    assert scalar(database_url, "select count(*) from raw.users") == 40


@pytest.mark.parametrize(("kind", "message"), [
    ("truncate", "answered a truncated body"),
    ("malformed", "answered malformed or truncated JSON"),
])
def test_a_broken_answer_fails_cleanly_and_raw_is_unchanged(
        database_url: str, local_api: LocalApi, faulty_api: FaultyApiFactory, monkeypatch: pytest.MonkeyPatch,
        kind: str, message: str) -> None:
    monkeypatch.setenv("SOURCES__RANDOMUSER__MAX_ATTEMPTS", "2")  # a cut connection is retried; keep it short
    ingest(30, seed="before", api_url=local_api.url)
    before = raw_snapshot(database_url)
    api = faulty_api(FaultPlan([Fault(kind, times=-1)]))

    with pytest.raises(IngestError, match=message) as failure:
        ingest(30, seed="broken", api_url=api.url)

    assert "\n" not in str(failure.value)
    assert raw_snapshot(database_url) == before
    assert no_pending_packages()


def test_a_failure_on_a_later_page_lands_nothing_and_the_next_run_lands_only_its_own(
        database_url: str, local_api: LocalApi, fake_api: Callable[[Answer], FakeApi]) -> None:
    ingest(10, seed="before", api_url=local_api.url)
    before = raw_snapshot(database_url)

    def page_two_is_html(params: dict[str, str]) -> tuple[int, str, bytes]:
        if params.get("page") == "2":
            return 200, "text/html", b"<html><body>maintenance</body></html>"
        return good_page(params)

    api = fake_api(page_two_is_html)
    with pytest.raises(IngestError, match="page 2"):
        ingest(5001, seed="half", api_url=api.url)  # page 1 (5000 users) is extracted before page 2 fails

    assert {r["page"] for r in api.requests} == {"1", "2"}
    assert raw_snapshot(database_url) == before
    assert no_pending_packages()

    after = ingest(20, seed="after", api_url=local_api.url)

    assert after.users_new == 20
    assert query(database_url, "select request_seed, count(*) from raw.users group by 1 order by 1") == [
        ("after", 20), ("before", 10)]


def test_a_first_batch_that_fails_creates_nothing(database_url: str, faulty_api: FaultyApiFactory) -> None:
    api = faulty_api(FaultPlan([Fault("malformed", times=-1)]))

    with pytest.raises(IngestError):
        ingest(10, seed="first", api_url=api.url)

    assert raw_snapshot(database_url) == {"tables": []}


def test_an_api_that_keeps_failing_ends_in_an_error_after_bounded_retries(
        database_url: str, faulty_api: FaultyApiFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCES__RANDOMUSER__MAX_ATTEMPTS", "2")  # dlt config of the source
    api = faulty_api(FaultPlan([Fault("500", times=100)]))

    with pytest.raises(IngestError, match=r"answered HTTP 500 \(retried\)"):
        ingest(10, seed="down", api_url=api.url)

    assert used(api) == 2
    assert raw_snapshot(database_url) == {"tables": []}


@pytest.mark.parametrize(("content_type", "body", "message"), [
    ("text/html", b"<!doctype html><html><body>Hello</body></html>", "malformed or truncated JSON"),
    ("application/json", b'{"users": []}', 'no "results" list'),
    ("application/json", b'{"error": "Uh oh, something has gone wrong."}', "answered an error"),
    ("application/json", b'{"results": [{"name": "no login"}], "info": {}}', "1 users, 10 were asked for"),
], ids=["html", "json-without-results", "api-error", "short-page"])
def test_a_server_that_is_not_randomuser_is_refused(
        database_url: str, fake_api: Callable[[Answer], FakeApi], content_type: str, body: bytes,
        message: str) -> None:
    api = fake_api(lambda params: (200, content_type, body))

    with pytest.raises(IngestError, match=message):
        ingest(10, seed="foreign", api_url=api.url)

    assert raw_snapshot(database_url) == {"tables": []}


def test_a_package_a_killed_run_left_is_dropped_not_loaded(database_url: str, local_api: LocalApi) -> None:
    pipeline = pipeline_for(database_url)  # what ingest() uses: same name, working dir, destination
    with dlt.config.values(DLT_CONFIG):
        pipeline.extract(randomuser_source(local_api.url, BatchPlan("ghost", 1, 15)))  # then "killed"
    assert pipeline.has_pending_data

    result = ingest(5, seed="real", api_url=local_api.url)

    assert result.users_new == 5
    assert query(database_url, "select request_seed, count(*) from raw.users group by 1") == [("real", 5)]
    assert no_pending_packages()


def test_a_load_that_fails_in_the_database_half_way_lands_nothing(database_url: str, local_api: LocalApi) -> None:
    stream = ingest(5, api_url=local_api.url).seed  # a stream: page 1 of a new seed
    assert stream.isalnum()
    with psycopg.connect(database_url, autocommit=True) as conn:  # the database refuses page 3 of the stream
        conn.execute(f"""
            create function public.refuse_boom() returns trigger language plpgsql as $$
            begin raise exception 'refused by test trigger'; end $$;
            create trigger refuse_boom before insert on raw.users for each row
            when (new.request_seed = '{stream}' and new.request_page = 3) execute function public.refuse_boom();""")
    before = raw_snapshot(database_url)

    with pytest.raises(IngestError, match="refused by test trigger") as failure:
        ingest(5001, api_url=local_api.url)  # pages 2 and 3: page 2's file loads, page 3's fails: undone

    assert "\n" not in str(failure.value)
    assert raw_snapshot(database_url) == before
    assert no_pending_packages()
    after = ingest(5, api_url=local_api.url)  # the stream state was rolled back with the package
    assert (after.seed, after.first_page, after.users_new) == (stream, 2, 5)


@pytest.mark.parametrize("users", [10, 12_000], ids=["one-page-inline", "three-pages-in-workers"])
def test_a_hanging_api_fails_at_the_batchs_time_limit_and_lands_nothing(
        database_url: str, faulty_api: FaultyApiFactory, users: int) -> None:
    ingest(5, seed="before", api_url=faulty_api(None).url)
    before = raw_snapshot(database_url)
    api = faulty_api(FaultPlan([Fault("slow", times=-1, delay=120)]))  # answers after 2 minutes

    started = time.monotonic()
    with pytest.raises(TimeLimitReached, match=r"the batch's time limit of 2 s passed while fetching "
                                               rf"{re.escape(api.url)} \(seed hang, page \d\)"):
        ingest(users, seed="hang", api_url=api.url, time_limit=2)
    elapsed = time.monotonic() - started

    # without the limit: 4 attempts each timing out after 20 s, plus waits (~84 s); a retry's wait may pass it
    assert elapsed < 2 + settings.MAX_RETRY_DELAY_SECONDS + 20
    assert raw_snapshot(database_url) == before
    assert no_pending_packages()


def test_an_api_that_times_out_on_every_attempt_says_how_long_each_was_given(
        database_url: str, faulty_api: FaultyApiFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCES__RANDOMUSER__MAX_ATTEMPTS", "2")
    monkeypatch.setenv("SOURCES__RANDOMUSER__READ_TIMEOUT", "0.5")
    api = faulty_api(FaultPlan([Fault("slow", times=-1, delay=30)]))

    with pytest.raises(IngestError, match=r"timed out \(retried\): 2 attempts, each given 0.5 s to answer"):
        ingest(10, seed="slow", api_url=api.url, time_limit=None)

    assert raw_snapshot(database_url) == {"tables": []}


@pytest.mark.parametrize("limit", [0, -1, "abc", float("nan")])
def test_a_time_limit_that_is_not_a_positive_number_is_refused(database_url: str, limit: object) -> None:
    with pytest.raises(IngestError, match="time limit must be"):
        ingest(10, time_limit=limit)  # type: ignore[arg-type]
    assert raw_snapshot(database_url) == {"tables": []}


def test_users_of_a_load_that_did_not_complete_do_not_count_as_landed(database_url: str, local_api: LocalApi) -> None:
    ingest(20, seed="orphan", api_url=local_api.url)
    with psycopg.connect(database_url, autocommit=True) as conn:  # as a killed load without a marker leaves it
        conn.execute("delete from raw._dlt_loads")
    before = raw_snapshot(database_url)

    with pytest.raises(IngestError, match="duplicate key value") as failure:  # not "20 fetched, 0 landed"
        ingest(20, seed="orphan", api_url=local_api.url)

    assert "\n" not in str(failure.value)
    assert raw_snapshot(database_url) == before
