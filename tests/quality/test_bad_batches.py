"""Bad batches fail the gate naming the check; the failure is recorded. A check never moves a row: invalid users
are kept out of incoming_users by dbt's quarantine (ops.quarantined_users), and stay in raw.users."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ingestion.pipeline import IngestResult
from quality.gate import CheckReport, run_checks
from randomuser_api import Fault, LocalApi
from tests.quality.conftest import Warehouse
from userpipe.errors import UserpipeError

SIZE = 40
# What the API's `invalid` fault does to users 0..6, and the quarantine rule that catches each: the users are
# quarantined (not in incoming_users), so the incoming_users_batch checks pass and the rules' checks fail.
INVALID_FAULT_FAILURES = {
    "quarantine.email_invalid",
    "quarantine.gender_invalid",
    "quarantine.nationality_invalid",
    "quarantine.age_out_of_range",
    "quarantine.latitude_invalid",
    "quarantine.picture_not_url",
    "quarantine.user_id_not_uuid",
}
INVALID_USERS = 7
ALTERED = ("registered", "longitude", "credential", "nested_credential", "unmodelled", "count", "catalog")


@pytest.fixture(scope="module")
def batches(module_warehouse: Warehouse, local_api: LocalApi) -> dict[str, IngestResult]:
    """One invalid batch from the API's fault switch and one clean batch per alteration, modelled by one build."""
    with LocalApi([Fault("invalid", times=-1)]) as faulty:
        landed = {"invalid": module_warehouse.land(faulty.url, seed="invalid", size=SIZE)}
    for name in ALTERED:
        landed[name] = module_warehouse.land(local_api.url, seed=name, size=SIZE)
    module_warehouse.build()
    return landed


def failing(report: CheckReport) -> set[str]:
    return {r.check_name for r in report.failures}


def first_user(warehouse: Warehouse, batch: IngestResult) -> str:
    [(user_id,)] = warehouse.rows("select min(uuid) from raw.users where _dlt_load_id = %s", (batch.load_id,))
    return str(user_id)


def test_invalid_values_from_the_api_are_quarantined_and_fail_their_rules_checks(
    module_warehouse: Warehouse, batches: dict[str, IngestResult]
) -> None:
    batch = batches["invalid"]
    assert module_warehouse.batch_counts(batch.load_id) == (SIZE, SIZE - INVALID_USERS)

    report = run_checks("run-invalid", expected_rows=batch.users_new, load_id=batch.load_id,
                        transformer=module_warehouse.transformer)

    assert failing(report) == INVALID_FAULT_FAILURES
    assert module_warehouse.batch_counts(batch.load_id) == (SIZE, SIZE - INVALID_USERS)
    stored = module_warehouse.stored("run-invalid")
    for name in INVALID_FAULT_FAILURES:
        assert stored[name] == ("quarantine", "fail", 1)
    assert stored["incoming_users_batch.all_landed_users_modelled"] == ("gx", "pass", None)
    assert stored["incoming_users_batch.gender_known"][1] == "pass"  # the unknown gender is not modelled
    assert any(source == "dbt" for source, _, _ in stored.values())
    [(held,)] = module_warehouse.rows("select count(*) from public.incoming_users where gender = 'unknown'"
                                      " or nationality = 'XX'")
    assert held == 0


@pytest.mark.parametrize(("name", "alteration", "expected"), [
    ("registered", "update public.incoming_users set registered_date = date_of_birth - interval '1 day'"
                   " where user_id = %s", "incoming_users_batch.registered_after_birth"),
    ("longitude", "update public.incoming_users set longitude = 'east' where user_id = %s",
     "incoming_users_batch.longitude_is_number"),
    ("credential", "update raw.users set payload = jsonb_set(payload::jsonb, '{login,password}', '\"hunter2\"')"
                   " where uuid = %s", "raw_users_batch.no_credentials_in_payload"),
    ("nested_credential", "update raw.users set payload = payload::jsonb || '{\"extra\": {\"a\": {\"SHA1\": 1}}}'"
                          " where uuid = %s", "raw_users_batch.no_credentials_in_payload"),
    ("unmodelled", "delete from public.incoming_users where user_id = %s",
     "incoming_users_batch.all_landed_users_modelled"),
])
def test_an_altered_row_fails_exactly_its_check_and_is_recorded(
    module_warehouse: Warehouse, batches: dict[str, IngestResult], name: str, alteration: str, expected: str
) -> None:
    batch = batches[name]
    module_warehouse.execute(alteration, (first_user(module_warehouse, batch),))
    before = module_warehouse.batch_counts(batch.load_id)

    report = run_checks(f"run-{name}", expected_rows=batch.users_new, load_id=batch.load_id, run_dbt_tests=False)

    assert failing(report) == {expected}
    assert module_warehouse.batch_counts(batch.load_id) == before
    source, status, _ = module_warehouse.stored(f"run-{name}")[expected]
    assert (source, status) == ("gx", "fail")


def test_row_count_differing_from_what_ingestion_reported_fails(
    module_warehouse: Warehouse, batches: dict[str, IngestResult]
) -> None:
    batch = batches["count"]

    report = run_checks("run-count", expected_rows=batch.users_new + 1, load_id=batch.load_id, run_dbt_tests=False)

    assert failing(report) == {"ingestion_count.batch_rows_match_ingestion"}
    [result] = report.failures
    assert result.observed_value == f"{SIZE} (expected {SIZE + 1})"


@pytest.fixture()
def credential_column_without_key(module_warehouse: Warehouse) -> Iterator[None]:
    """incoming_users with a `password_sha256` column and no unique key on user_id, restored afterwards."""
    module_warehouse.execute("alter table public.incoming_users add column password_sha256 text")
    module_warehouse.execute("alter table public.incoming_users drop constraint incoming_users_pkey")
    yield
    module_warehouse.execute("alter table public.incoming_users drop column password_sha256")
    module_warehouse.execute("alter table public.incoming_users add primary key (user_id)")


def test_table_wide_checks_read_the_catalog(
    module_warehouse: Warehouse, batches: dict[str, IngestResult], credential_column_without_key: None
) -> None:
    report = run_checks("run-catalog", load_id=batches["catalog"].load_id, run_dbt_tests=False)

    assert failing(report) == {"warehouse_catalog.no_credential_columns",
                               "warehouse_catalog.incoming_users_user_id_unique_key"}


def test_cli_names_each_failing_check_and_exits_non_zero(
    module_warehouse: Warehouse, batches: dict[str, IngestResult]
) -> None:
    batch = batches["invalid"]

    done = module_warehouse.cli("check", "--skip-dbt", "--run-id", "cli-invalid", "--load-id", batch.load_id)

    assert done.returncode == 1
    for name in INVALID_FAULT_FAILURES:
        assert f"FAIL quarantine {name}" in done.stdout
    [last_line] = done.stderr.strip().splitlines()[-1:]
    assert last_line.startswith(f"error: {len(INVALID_FAULT_FAILURES)} check(s) failed in run cli-invalid: ")
    assert module_warehouse.batch_counts(batch.load_id) == (SIZE, SIZE - INVALID_USERS)


def test_unknown_load_or_bad_count_is_a_one_line_error(
    module_warehouse: Warehouse, batches: dict[str, IngestResult]
) -> None:
    with pytest.raises(UserpipeError, match=r"no load 'nope' in raw\._dlt_loads"):
        run_checks("run-x", load_id="nope", run_dbt_tests=False)
    with pytest.raises(UserpipeError, match="expected rows must be >= 0"):
        run_checks("run-x", expected_rows=-1, run_dbt_tests=False)


def test_nothing_landed_is_a_one_line_error(database_url: str) -> None:
    with pytest.raises(UserpipeError, match="no batch has landed yet"):
        run_checks("run-x", run_dbt_tests=False)


@pytest.fixture()
def email_column_renamed(module_warehouse: Warehouse) -> Iterator[None]:
    module_warehouse.execute("alter table public.incoming_users rename column email to e_mail")
    yield
    module_warehouse.execute("alter table public.incoming_users rename column e_mail to email")


def test_a_check_that_cannot_run_is_an_error_not_a_pass(
    module_warehouse: Warehouse, batches: dict[str, IngestResult], email_column_renamed: None
) -> None:
    report = run_checks("run-error", load_id=batches["catalog"].load_id, run_dbt_tests=False)

    [error] = report.failures
    assert (error.check_name, error.status) == ("incoming_users_batch.email_well_formed", "error")
    assert "email" in (error.observed_value or "")
    assert module_warehouse.stored("run-error")[error.check_name] == ("gx", "error", None)
