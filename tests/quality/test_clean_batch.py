"""A clean batch through the real pipeline passes the gate: dbt tests and GX suites, recorded, docs written."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from ingestion.pipeline import IngestResult
from quality.context import KEEP_RUNS, gx_project
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
    assert {r.source for r in report.results} == {"dbt", "gx", "quarantine"}
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
    assert {source for source, _, _ in stored.values()} == {"dbt", "gx", "quarantine"}
    assert all(status in {"pass", "warn"} for _, status, _ in stored.values())


def local_references(page: Path) -> list[str]:
    """The scripts' and styles' addresses of an HTML page, failing on any remote one."""
    html = page.read_text()
    tags = re.findall(r"<(?:script|link)\b[^>]*>", html, re.IGNORECASE)
    addresses = [found.group(1) for tag in tags if (found := re.search(r'(?:src|href)="([^"]+)"', tag))]
    remote = [address for address in addresses if re.match(r"(?:https?:)?//", address)]
    assert not remote, f"{page} loads {remote}"
    return addresses


def listed_runs(index: Path) -> set[str]:
    return set(re.findall(r"validations/[a-z_]+/(run-history-\d)/", index.read_text()))


def test_data_docs_render_offline_and_list_the_last_runs_across_processes(
        module_warehouse: Warehouse, clean: IngestResult) -> None:
    first = run_checks("run-history-0", load_id=clean.load_id, run_dbt_tests=False)
    assert first.docs_index is not None
    project = gx_project(first.docs_index.parent)
    project.keep_runs = 2
    try:
        for attempt in (1, 2):
            report = run_checks(f"run-history-{attempt}", load_id=clean.load_id, run_dbt_tests=False)
    finally:
        project.keep_runs = KEEP_RUNS
    docs = first.docs_index.parent

    assert listed_runs(docs / "index.html") == {"run-history-1", "run-history-2"}
    assert not list(docs.glob("validations/*/run-history-0"))  # pruned: its pages are gone
    assert list(docs.glob("validations/*/run-history-2/*/*.html"))
    pages = [docs / "index.html", *docs.glob("validations/*/run-history-2/*/*.html"), *docs.glob("expectations/*")]
    for page in pages:
        for address in local_references(page):
            assert (page.parent / address.split("?")[0]).resolve().is_file(), (page, address)

    done = module_warehouse.cli("check", "--run-id", "run-history-3", "--skip-dbt")  # another process
    assert done.returncode == 0, done.stderr
    assert listed_runs(docs / "index.html") == {"run-history-1", "run-history-2", "run-history-3"}
    assert report.passed


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium (apt-get install chromium)")
def test_the_data_docs_index_lists_the_runs_in_a_headless_browser_offline(
        module_warehouse: Warehouse, clean: IngestResult, tmp_path: Path) -> None:
    report = run_checks("run-browser", load_id=clean.load_id, run_dbt_tests=False)
    assert report.docs_index is not None
    dom = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path}",
         "--virtual-time-budget=10000", "--dump-dom", report.docs_index.as_uri()],
        capture_output=True, text=True, timeout=120, check=False)
    assert dom.returncode == 0, dom.stderr[-2000:]
    # bootstrap-table (vendored, with jquery and bootstrap) turned the index's data into table rows
    rows = re.findall(r"<tr[^>]*data-index=", dom.stdout)
    assert len(rows) >= 4, dom.stdout[:3000]
    assert "run-browser" in dom.stdout
