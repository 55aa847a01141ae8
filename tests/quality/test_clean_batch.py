"""A clean batch through the real pipeline passes the gate: dbt tests and GX suites, recorded, docs written."""

from __future__ import annotations

import pytest

from ingestion.pipeline import IngestResult
from quality.context import gx_project, trim_validations
from quality.gate import run_checks
from randomuser_api import LocalApi
from tests.quality.conftest import Warehouse

SUITES = ("incoming_users_batch", "raw_users_batch", "ingestion_count", "warehouse_catalog")


@pytest.fixture(scope="module")
def clean(module_warehouse: Warehouse, local_api: LocalApi) -> IngestResult:
    batch = module_warehouse.land(local_api.url, seed="clean", size=100)
    module_warehouse.build()
    return batch


def test_clean_batch_passes_dbt_and_gx_and_every_result_is_stored(
    module_warehouse: Warehouse, clean: IngestResult
) -> None:
    report = run_checks("run-clean", expected_rows=clean.users_new, load_id=clean.load_id,
                        transformer=module_warehouse.transformer)

    assert report.passed, report.failures
    assert report.load_id == clean.load_id
    assert {r.source for r in report.results} == {"dbt", "gx"}
    assert {r.check_name.split(".")[0] for r in report.results if r.source == "gx"} == set(SUITES)
    stored = module_warehouse.stored("run-clean")
    assert set(stored) == {r.check_name for r in report.results}
    assert {status for _, status, _ in stored.values()} <= {"pass", "warn"}
    assert module_warehouse.batch_counts(clean.load_id) == (100, 100)


def test_data_docs_are_written_and_name_the_suites(module_warehouse: Warehouse, clean: IngestResult) -> None:
    report = run_checks("run-docs", expected_rows=clean.users_new, load_id=clean.load_id, run_dbt_tests=False)

    assert report.docs_index == module_warehouse.home / "gx_docs" / "index.html"
    index = report.docs_index.read_text()
    for suite in SUITES:
        assert suite in index
    assert list(report.docs_index.parent.glob("validations/incoming_users_batch/run-docs/*/*.html"))


def test_rerun_of_a_run_id_replaces_its_results(module_warehouse: Warehouse, clean: IngestResult) -> None:
    run_checks("run-twice", load_id=clean.load_id, run_dbt_tests=False)
    second = run_checks("run-twice", expected_rows=clean.users_new, load_id=clean.load_id, run_dbt_tests=False)

    [(count, distinct)] = module_warehouse.rows(
        "select count(*), count(distinct check_name) from ops.check_results where run_id = 'run-twice'")
    assert count == distinct == len(second.results)


def test_cli_checks_the_newest_load_and_exits_zero(module_warehouse: Warehouse, clean: IngestResult) -> None:
    done = module_warehouse.cli("check", "--run-id", "cli-clean", "--expected-rows", str(clean.users_new))

    assert done.returncode == 0, done.stderr
    assert f"checks of run cli-clean (load {clean.load_id}" in " ".join(done.stdout.split())
    assert "data docs:" in done.stdout
    stored = module_warehouse.stored("cli-clean")
    assert {source for source, _, _ in stored.values()} == {"dbt", "gx"}
    assert all(status in {"pass", "warn"} for _, status, _ in stored.values())


def test_a_long_lived_process_keeps_only_the_newest_validations(clean: IngestResult) -> None:
    for attempt in range(3):
        report = run_checks(f"run-keep-{attempt}", load_id=clean.load_id, run_dbt_tests=False)
    assert report.docs_index is not None
    project = gx_project(report.docs_index.parent)

    trim_validations(project, keep=2)

    kept = project.context.validation_results_store.list_keys()
    assert len(kept) == 2
    assert {key.run_id.run_name for key in kept} == {"run-keep-2"}  # type: ignore[attr-defined]
