"""The quality gate of one cycle: dbt tests plus the GX suites on the newest batch, recorded in ops.check_results.

A run checks the batch (`quality.scope`); with `full` it also runs the dbt tests that read whole tables.

Checks only read: a failing check never deletes, moves or hides data. It is recorded (status `fail` or
`error`), reported in the `CheckReport`, and makes `userpipe check` exit non-zero.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from quality import batch as batches
from quality import results
from quality.gx_worker import kill_pool
from quality.quarantine import quarantine_results
from quality.results import BATCH, ERROR, FAIL, PASS, TABLE, CheckResult
from quality.scope import WHOLE_TABLE_SELECTOR, WHOLE_TABLE_TAG
from quality.suite import EXPECTED_ROWS, INGESTION_COUNT, LANDED_ROWS, SUITES
from userpipe import warehouse
from userpipe.errors import UserpipeError, one_line

if TYPE_CHECKING:
    from quality.context import GxProject
    from quality.gx_worker import GxWorker

log = logging.getLogger(__name__)

DOCS_FOLDER = "gx_docs"
OBSERVED_MAX_CHARS = 200
CHECK_ORDER = {f"{suite}.{check.name}": i for i, (suite, check) in
               enumerate((suite, check) for suite, checks in SUITES.items() for check in checks)}


class DbtOutcome(Protocol):
    """What the gate reads of a userpipe.transform.TransformResult: its test nodes."""

    @property
    def tests(self) -> Sequence[Any]: ...


class DbtTester(Protocol):
    """What the gate needs from userpipe.transform.Transformer: `test()` runs the dbt tests."""

    def test(self, select: Sequence[str] = (), exclude: Sequence[str] = ()) -> DbtOutcome: ...


def record_dbt_tests(run_id: str, outcome: DbtOutcome, database_url: str | None = None) -> list[CheckResult]:
    """Store the tests of a dbt run that ended the cycle early (a failed `dbt build`) in ops.check_results."""
    found = dbt_check_results(outcome)
    with warehouse.connect(database_url or warehouse.database_url(), autocommit=True) as conn:
        results.store(conn, run_id, found, datetime.now(UTC))
    return found


@dataclass(frozen=True)
class CheckReport:
    """Every check of one run, where the data docs are, and how long it took."""

    run_id: str
    load_id: str
    results: tuple[CheckResult, ...]
    docs_index: Path | None
    checked_at: datetime
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        return tuple(r for r in self.results if r.failed)

    @property
    def passed(self) -> bool:
        return not self.failures


def run_checks(
    run_id: str,
    expected_rows: int | None = None,
    load_id: str | None = None,
    transformer: DbtTester | None = None,
    *,
    run_dbt_tests: bool = True,
    database_url: str | None = None,
    dbt_outcome: DbtOutcome | None = None,
    full: bool = False,
    gx: GxWorker | None = None,
) -> CheckReport:
    """Run the dbt tests and the GX suites on load `load_id` (default: the newest), store and return the results.

    `expected_rows` is how many users ingestion reported new in that load (IngestResult.new); without it the
    `ingestion_count` suite is skipped. `transformer` is a long-lived userpipe.transform.Transformer (one is
    made when None). `dbt_outcome` is the cycle's `dbt build` result (built without the whole-table tests):
    its tests ran moments ago on the same data, so they are recorded as they are instead of running `dbt test`
    again. `full` adds the dbt tests tagged whole_table (scope `table`); without it they do not run. `gx`: a
    GxWorker running the GX suites in its own, already warm process (None: in this process).
    Raises UserpipeError (one line) only when there is nothing to check.
    """
    if expected_rows is not None and expected_rows < 0:
        raise UserpipeError(f"expected rows must be >= 0, got {expected_rows}")
    started = time.perf_counter()
    checked_at = datetime.now(UTC)
    timings: dict[str, float] = {}
    url = database_url or warehouse.database_url()
    # first, before this process connects: a fresh process's dbt tests start in a forked child at once
    dbt_tests = _DbtTests(transformer, url, dbt_outcome, full) if run_dbt_tests else None
    with _ended_on_error(dbt_tests), warehouse.connect(url, autocommit=True) as conn:
        resolved_load = load_id or batches.latest_load_id(conn)
        batch = batches.read_batch(conn, resolved_load)
        timings["read_batch"] = time.perf_counter() - started
        lap = time.perf_counter()
        if gx is not None:
            found_gx, docs_index = gx.validate(batch, run_id, expected_rows, checked_at)
        else:
            found_gx, docs_index = gx_results(batch, run_id, expected_rows, checked_at, docs_dir())
        timings["gx"] = time.perf_counter() - lap
        found: list[CheckResult] = []
        if dbt_tests:
            lap = time.perf_counter()
            found += dbt_tests.results()
            timings["dbt_test"] = time.perf_counter() - lap  # after GX: the wait left, when run alongside
        found += found_gx
        found += quarantine_results(batch)
        lap = time.perf_counter()
        results.store(conn, run_id, found, checked_at)
        timings["store"] = time.perf_counter() - lap
    report = CheckReport(
        run_id=run_id,
        load_id=resolved_load,
        results=tuple(found),
        docs_index=docs_index,
        checked_at=checked_at,
        seconds=time.perf_counter() - started,
        timings=timings,
    )
    for failure in report.failures:
        log.info("check failed: %s %s (%s)", failure.source, failure.check_name, failure.observed_value)
    return report


def docs_dir() -> Path:
    """Where the GX data docs site is written: `$USERPIPE_HOME/gx_docs`."""
    return warehouse.home() / DOCS_FOLDER


@contextlib.contextmanager
def _ended_on_error(dbt_tests: _DbtTests | None) -> Iterator[None]:
    """Stop the dbt tests' child when the check fails before collecting them (e.g. nothing to check)."""
    try:
        yield
    except BaseException:
        if dbt_tests is not None:
            dbt_tests.abandon()
        raise


def gx_results(
    batch: batches.Batch, run_id: str, expected_rows: int | None, checked_at: datetime, docs: Path,
    docs_later: bool = False,
) -> tuple[list[CheckResult], Path | None]:
    """The GX suites on `batch` as CheckResults, data docs written to `docs` (in this process, or the worker's).
    `docs_later`: the pages are left for `render_pending_docs` (the GX worker renders them after answering)."""
    from quality.context import gx_project

    try:
        project = gx_project(docs)
        with project.lock:
            return _validate(project, batch, run_id, expected_rows, checked_at, docs_later), project.docs_index
    except Exception as exc:  # an unexpected GX failure must be recorded, not lose the dbt results
        log.exception("Great Expectations run failed")
        return [CheckResult("gx.checkpoint", "gx", ERROR, observed_value=_short(f"{type(exc).__name__}: {exc}"))], None


def render_pending_docs(docs: Path) -> None:
    """Write the data docs pages of the validations `gx_results(..., docs_later=True)` left pending."""
    from quality.context import build_pending_docs, gx_project

    try:
        project = gx_project(docs)
        with project.lock:
            build_pending_docs(project)
    except Exception:  # the results are stored already: those runs' pages are missing, later runs render
        log.exception("Great Expectations data docs failed")


def _validate(
    project: GxProject, batch: batches.Batch, run_id: str, expected_rows: int | None, checked_at: datetime,
    docs_later: bool = False,
) -> list[CheckResult]:
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    from quality.context import SUITE_ASSETS, build_docs

    frames = {
        "incoming_users_batch": batch.incoming_users,
        "raw_users_batch": batch.raw_users,
        "warehouse_catalog": batch.catalog,
    }
    parameters: dict[str, Any] = {LANDED_ROWS: batch.modelled_users}
    if expected_rows is not None:
        parameters[EXPECTED_ROWS] = expected_rows
    gx_run_id = RunIdentifier(run_name=run_id, run_time=checked_at)
    found: list[CheckResult] = []
    validated: list[Any] = []
    rendered: list[Any] = []
    for suite_name, checkpoint in project.checkpoints.items():
        if suite_name == INGESTION_COUNT and expected_rows is None:
            continue
        outcome = checkpoint.run(
            batch_parameters={"dataframe": frames[SUITE_ASSETS[suite_name]]},
            expectation_parameters=parameters,
            run_id=gx_run_id,
        )
        for identifier, suite_result in outcome.run_results.items():
            validated.append(identifier)
            rendered += [identifier, ExpectationSuiteIdentifier(name=suite_name)]
            found += sorted((_gx_result(suite_name, r, parameters) for r in suite_result.results),
                            key=lambda result: CHECK_ORDER.get(result.check_name, len(CHECK_ORDER)))
    if docs_later:
        project.pending_docs.append((validated, rendered))
    else:
        build_docs(project, validated, rendered)
    return found


def _gx_result(suite_name: str, outcome: Any, parameters: dict[str, Any]) -> CheckResult:
    config = outcome.expectation_config
    name = f"{suite_name}.{(config.meta or {}).get('check', config.type)}"
    details = outcome.result or {}
    if _raised(outcome.exception_info):
        return CheckResult(name, "gx", ERROR, observed_value=_short(_exception_message(outcome.exception_info)))
    failing = details.get("unexpected_count")
    return CheckResult(name, "gx", PASS if outcome.success else FAIL,
                       failing_rows=None if failing is None else int(failing),
                       observed_value=_short(_observed(details, config.kwargs, parameters)))


def _observed(details: dict[str, Any], kwargs: dict[str, Any], parameters: dict[str, Any]) -> str | None:
    """What the check saw, in a few words: a table-level value, or how many rows were off and examples."""
    if details.get("observed_value") is not None:
        expected = kwargs.get("value")
        if isinstance(expected, dict) and "$PARAMETER" in expected:
            expected = parameters.get(expected["$PARAMETER"])
        suffix = "" if expected is None else f" (expected {expected})"
        return f"{details['observed_value']}{suffix}"
    if details.get("unexpected_count"):
        examples = details.get("partial_unexpected_list", [])[:3]
        return f"{details['unexpected_count']} of {details.get('element_count')} rows unexpected, e.g. {examples}"
    return None


def _raised(info: Any) -> bool:
    if not info:
        return False
    if "raised_exception" in info:
        return bool(info["raised_exception"])
    return any(_raised(nested) for nested in info.values() if isinstance(nested, dict))


def _exception_message(info: Any) -> str:
    if "exception_message" in info:
        return str(info["exception_message"])
    for nested in info.values():
        if isinstance(nested, dict) and _raised(nested):
            return _exception_message(nested)
    return "expectation raised an exception"


@dataclass(frozen=True)
class _Selection:
    """Which dbt tests `dbt test` runs (None: none)."""

    select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


def dbt_test_selection(have_build: bool, full: bool) -> _Selection | None:
    """The `dbt test` a check run needs: after a build (its batch tests recorded) only the whole-table tests,
    and only when `full`; without one, the batch tests, plus the whole-table ones when `full`."""
    if have_build:
        return _Selection(select=(WHOLE_TABLE_SELECTOR,)) if full else None
    return _Selection() if full else _Selection(exclude=(WHOLE_TABLE_SELECTOR,))


class _DbtTests:
    """The dbt tests of one check. With a long-lived Transformer they run in this process when collected.
    Without one (a fresh `userpipe check` process) they start at once in a forked child, so dbt's import and
    parse overlap GX's import and validation instead of adding to them."""

    def __init__(self, transformer: DbtTester | None, url: str, outcome: DbtOutcome | None = None,
                 full: bool = False) -> None:
        self._transformer, self._url, self._outcome = transformer, url, outcome
        self._selection = dbt_test_selection(outcome is not None, full)
        self._pool: ProcessPoolExecutor | None = None
        self._future: Future[list[CheckResult]] | None = None
        if self._selection is not None and transformer is None and "fork" in multiprocessing.get_all_start_methods():
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
            self._future = self._pool.submit(_dbt_results, None, url, self._selection)

    def results(self) -> list[CheckResult]:
        built = dbt_check_results(self._outcome) if self._outcome is not None else []
        if self._selection is None:
            return built
        if self._pool is None or self._future is None:
            return built + _dbt_results(self._transformer, self._url, self._selection)
        try:
            return built + self._future.result()
        except Exception as exc:  # the child died: record it like a dbt run that could not start
            return [*built, CheckResult("dbt.test", "dbt", ERROR,
                                        observed_value=_short(f"{type(exc).__name__}: {exc}"))]
        finally:
            self._pool.shutdown()

    def abandon(self) -> None:
        """Kill the child running the dbt tests, if any (their results will not be collected)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            kill_pool(pool)


def _dbt_results(transformer: DbtTester | None, url: str, selection: _Selection) -> list[CheckResult]:
    """The dbt tests as CheckResults (a dbt run that cannot start is one `error` result)."""
    try:
        if transformer is None:
            from userpipe.transform import Transformer

            transformer = Transformer(database_url=url)
        outcome = transformer.test(select=selection.select, exclude=selection.exclude)
    except Exception as exc:
        log.exception("dbt test failed to run")
        return [CheckResult("dbt.test", "dbt", ERROR, observed_value=_short(f"{type(exc).__name__}: {exc}"))]
    return dbt_check_results(outcome)


def dbt_check_results(outcome: DbtOutcome) -> list[CheckResult]:
    """The test nodes of a dbt run (`dbt test` or `dbt build`) as CheckResults; a node tagged whole_table
    has scope `table`."""
    return [
        CheckResult(str(test.name), "dbt", _dbt_status(str(test.status)),
                    failing_rows=None if test.failures is None else int(test.failures),
                    observed_value=_short(getattr(test, "message", None)),
                    scope=TABLE if WHOLE_TABLE_TAG in (getattr(test, "tags", None) or ()) else BATCH)
        for test in outcome.tests
    ]


def _dbt_status(status: str) -> str:
    normalised = status.lower()
    return normalised if normalised in {PASS, FAIL, results.WARN, ERROR, results.SKIPPED} else ERROR


def _short(text: str | None) -> str | None:
    return None if text is None else one_line(text, OBSERVED_MAX_CHARS)
