"""The gate on real PostgreSQL: clean batches pass; bad ones fail naming the check, recorded, data untouched."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from quality.gate import CheckReport, run_checks
from tests.quality.conftest import LandBatch, LandedBatch
from userpipe.errors import UserpipeError


def check(batch: LandedBatch, run_id: str = "run-1", **kwargs: Any) -> CheckReport:
    return run_checks(run_id, load_id=batch.load_id, run_dbt_tests=False, **kwargs)


def failing(report: CheckReport) -> set[str]:
    return {r.check_name for r in report.failures}


def stored(batch: LandedBatch, run_id: str) -> dict[str, tuple[str, str, int | None]]:
    with psycopg.connect(batch.url) as conn:
        rows = conn.execute(
            "select check_name, source, status, failing_rows from ops.check_results where run_id = %s", (run_id,)
        ).fetchall()
    return {name: (source, status, failing_rows) for name, source, status, failing_rows in rows}


def test_clean_batch_passes_and_every_result_is_stored(land_batch: LandBatch) -> None:
    batch = land_batch()

    report = check(batch, expected_rows=batch.size)

    assert report.passed, report.failures
    assert report.load_id == batch.load_id
    names = {r.check_name for r in report.results}
    assert {"ingestion_count.batch_rows_match_ingestion", "incoming_users_batch.email_well_formed",
            "warehouse_catalog.no_credential_columns", "raw_users_batch.no_credentials_in_payload"} <= names
    rows = stored(batch, "run-1")
    assert set(rows) == names
    assert {status for _, status, _ in rows.values()} == {"pass"}
    assert {source for source, _, _ in rows.values()} == {"gx"}


def test_data_docs_are_written_and_name_the_suites(land_batch: LandBatch) -> None:
    report = check(land_batch())

    assert report.docs_index is not None and report.docs_index.is_file()
    index = report.docs_index.read_text()
    assert "incoming_users_batch" in index and "raw_users_batch" in index
    assert list(report.docs_index.parent.glob("validations/incoming_users_batch/run-1/*/*.html"))


def _set(path: str, value: Any) -> Any:
    """An `alter` setting `path` (dotted) of the first user to `value`."""
    def alter(users: list[dict[str, Any]]) -> None:
        *parents, leaf = path.split(".")
        target = users[0]
        for key in parents:
            target = target[key]
        target[leaf] = value
    return alter


@pytest.mark.parametrize(("path", "value", "expected_failures"), [
    ("email", "first.last.example.com", {"incoming_users_batch.email_well_formed"}),
    ("gender", "unknown", {"incoming_users_batch.gender_known"}),
    ("nat", "XX", {"incoming_users_batch.nationality_known"}),
    ("dob.age", -5, {"incoming_users_batch.age_in_range", "incoming_users_batch.age_matches_date_of_birth"}),
    ("dob.age", 7, {"incoming_users_batch.age_matches_date_of_birth"}),
    ("registered.date", "1900-01-01T00:00:00.000Z", {"incoming_users_batch.registered_after_birth"}),
    ("location.coordinates.latitude", "200.0", {"incoming_users_batch.latitude_in_range"}),
    ("location.coordinates.longitude", "east", {"incoming_users_batch.longitude_is_number"}),
    ("picture.large", "ftp://example.com/a.jpg", {"incoming_users_batch.picture_large_is_http_url"}),
    ("login.uuid", "not-a-uuid", {"incoming_users_batch.user_id_is_uuid"}),
    ("login.password_hint", "x", {"raw_users_batch.no_credentials_in_payload"}),
])
def test_a_bad_value_fails_its_check_is_recorded_and_leaves_data_in_place(
    land_batch: LandBatch, path: str, value: Any, expected_failures: set[str]
) -> None:
    batch = land_batch(_set(path, value))
    before = batch.counts()

    report = check(batch, expected_rows=batch.size)

    assert failing(report) == expected_failures
    assert batch.counts() == before == (batch.size, batch.size)
    rows = stored(batch, "run-1")
    for name in expected_failures:
        assert rows[name] == ("gx", "fail", 1)


def test_row_count_differing_from_ingestion_fails(land_batch: LandBatch) -> None:
    batch = land_batch()

    assert failing(check(batch, expected_rows=batch.size + 1)) == {"ingestion_count.batch_rows_match_ingestion"}
    unchecked = check(batch, run_id="run-2")
    assert unchecked.passed
    assert "ingestion_count.batch_rows_match_ingestion" not in {r.check_name for r in unchecked.results}


def test_landed_user_missing_from_incoming_users_fails(land_batch: LandBatch) -> None:
    batch = land_batch()
    batch.execute("delete from public.incoming_users where user_id = (select min(user_id) from public.incoming_users)")

    report = check(batch)

    assert failing(report) == {"incoming_users_batch.all_landed_users_modelled"}
    assert batch.counts() == (batch.size, batch.size - 1)


def test_table_wide_checks_read_the_catalog(land_batch: LandBatch) -> None:
    batch = land_batch()
    batch.execute("alter table public.incoming_users add column password_sha256 text")
    batch.execute("alter table public.incoming_users drop constraint incoming_users_pkey")

    report = check(batch)

    assert failing(report) == {"warehouse_catalog.no_credential_columns",
                               "warehouse_catalog.incoming_users_user_id_unique_key"}


def test_rerun_replaces_the_runs_results_without_duplicates(land_batch: LandBatch) -> None:
    batch = land_batch(_set("gender", "unknown"))
    first = check(batch)
    batch.execute("update public.incoming_users set gender = 'female' where gender = 'unknown'")

    second = check(batch)

    assert not first.passed and second.passed
    with psycopg.connect(batch.url) as conn:
        row = conn.execute("select count(*), count(distinct check_name) from ops.check_results").fetchone()
    assert row == (len(second.results), len(second.results))


def test_newest_load_is_checked_by_default(land_batch: LandBatch) -> None:
    land_batch()
    newest = land_batch(seed="another")

    report = run_checks("run-1", run_dbt_tests=False)

    assert report.load_id == newest.load_id


def test_nothing_to_check_is_one_line_error(database_url: str) -> None:
    with pytest.raises(UserpipeError, match="no batch has landed yet"):
        run_checks("run-1", run_dbt_tests=False)


def test_unknown_load_id_is_one_line_error(land_batch: LandBatch) -> None:
    batch = land_batch()
    with pytest.raises(UserpipeError, match="no load 'nope'"):
        run_checks("run-1", load_id="nope", run_dbt_tests=False)
    assert batch.counts() == (batch.size, batch.size)
