"""The steps of the Kestra flow `demo.synthetic_users_realtime` (run as `userpipe kestra ...` in its tasks).

Kestra runs each task in its own container, so a cycle is spread over processes:

1. `ingest`: takes the cycle lock (waiting up to `lock_wait_seconds` for a local runner), writes the run row
   (`trigger = kestra`, `run_id` = the execution id, status `running`), lands a batch, records it, releases the
   lock. The `running` row is the execution's lease: local runners skip while it is open (runs.KESTRA_LEASE).
   Kestra retries re-use the same row.
2. `dbt_build`: Kestra's DbtCLI task (no userpipe code but `dbt-env`); DbtCLI keeps dbt's run_results.json.
3. `check`: runs the quality gate, records `transform_seconds` (end of ingest -> start of check: dbt build plus
   the task's start-up) and `check_seconds`, and closes the row `success` or `failed`. Given the build's
   run_results.json (`--dbt-results`), it records the tests `dbt build` ran, as the local cycle does, instead
   of running `dbt test` again.
4. `record-failure` (the flow's `errors` handler): closes a row left `running`, naming the step that failed.
   A run id with no row is an error (RunNotRecorded) and writes nothing: a guess or typo must not add a phantom
   failed run to `status` and the live view. An execution that failed before `ingest` wrote its row (the
   database unreachable, a bad argument) therefore has no row; its record is the Kestra execution itself.

Each step prints Kestra outputs and metrics (`::{"outputs": ...}::` lines, via the `kestra` package).
"""

from __future__ import annotations

import importlib
import json
import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from quality.scope import DEFAULT_FULL_CHECKS_EVERY
from userpipe import runs, warehouse
from userpipe.errors import UserpipeError
from userpipe.runs import RunRecord
from userpipe.transform import NodeResult, TransformResult

log = logging.getLogger(__name__)

TRIGGER = "kestra"
DEFAULT_LOCK_WAIT_SECONDS = 45.0
STEP_ORDER = ("ingest", "transform", "check")


class RunNotRecorded(UserpipeError):
    """`record-failure` for a run id that ops.pipeline_runs does not hold: nothing to close."""


def ingest_step(run_id: str, batch_size: int, api_url: str | None = None, nat: str | None = None,
                lock_wait_seconds: float = DEFAULT_LOCK_WAIT_SECONDS) -> dict[str, Any]:
    """Step 1: land one batch under the cycle lock; returns (and emits) the outputs later tasks use."""
    from ingestion.pipeline import ingest

    url = warehouse.database_url()
    with runs.CycleLock(url) as lock:
        runs.ensure_table(lock.conn)
        record = runs.load(lock.conn, run_id) or RunRecord.start(TRIGGER, run_id)
        if not lock.acquire(lock_wait_seconds):
            record.finish("skipped", f"another cycle held the lock for {lock_wait_seconds:.0f}s")
            runs.save(lock.conn, record)
            raise UserpipeError(f"run {run_id} skipped: another cycle held the lock for {lock_wait_seconds:.0f}s")
        runs.close_abandoned(lock.conn, TRIGGER, keep_run_id=run_id)  # concurrency 1: any other is stale
        record.status, record.ended_at, record.error = "running", None, None
        runs.save(lock.conn, record)
        started = time.perf_counter()
        try:
            result = ingest(batch_size, nat=nat, api_url=api_url, database_url=url)
        except Exception as exc:
            record.ingest_seconds = round(time.perf_counter() - started, 3)
            record.finish("failed", f"ingest failed: {exc}")
            runs.save(lock.conn, record)
            raise
        record.ingest_seconds = round(time.perf_counter() - started, 3)
        record.users_fetched, record.users_new = result.users_fetched, result.users_new
        runs.save(lock.conn, record)
    outputs = {
        "run_id": run_id,
        "load_id": result.load_id,
        "users_fetched": result.users_fetched,
        "users_new": result.users_new,
        "ingest_seconds": record.ingest_seconds,
        "ingest_ended_at": runs.utc_now().isoformat(),
    }
    _emit(outputs, counters={"users_fetched": result.users_fetched, "users_new": result.users_new},
          timers={"ingest_seconds": record.ingest_seconds})
    return outputs


def check_step(run_id: str, load_id: str | None = None, ingest_ended_at: str | None = None,
               dbt_results: Path | None = None,
               full_checks_every: int = DEFAULT_FULL_CHECKS_EVERY) -> dict[str, Any]:
    """Step 3: the quality gate on the execution's load; closes the run row. UserpipeError when checks fail.

    `dbt_results`: the run_results.json of the execution's `dbt build` (run without the whole-table tests),
    whose tests are recorded as they are (without it, `dbt test` runs again). When `full_checks_due` says so,
    the whole-table dbt tests run here too."""
    from quality.gate import run_checks
    from quality.scope import full_checks_due

    check_started = runs.utc_now()
    url = warehouse.database_url()
    with warehouse.connect(url, autocommit=True) as conn:
        runs.ensure_table(conn)
        record = runs.load(conn, run_id)
        if record is None or record.status != "running":
            state = "not recorded" if record is None else record.status
            raise UserpipeError(f"run {run_id} is {state}: its ingest step did not complete")
        build = dbt_build_outcome(dbt_results) if dbt_results is not None else None
        if ingest_ended_at:
            record.transform_seconds = round((check_started - _parse_time(ingest_ended_at)).total_seconds(), 3)
        started = time.perf_counter()
        try:
            full = full_checks_due(conn, full_checks_every)
            report = run_checks(run_id, expected_rows=record.users_new, load_id=load_id or None, database_url=url,
                                dbt_outcome=build, full=full)
        except Exception as exc:
            record.check_seconds = round(time.perf_counter() - started, 3)
            record.finish("failed", f"check failed: {exc}")
            runs.save(conn, record)
            raise
        record.check_seconds = round(time.perf_counter() - started, 3)
        failures = report.failures
        if failures:
            names = ", ".join(f.check_name for f in failures[:5])
            record.finish("failed", f"checks failed: {len(failures)} of {len(report.results)} ({names})")
        else:
            record.finish("success")
        runs.save(conn, record)
    outputs = {"run_id": run_id, "status": record.status, "checks": len(report.results),
               "failed_checks": len(failures), "check_seconds": record.check_seconds}
    _emit(outputs, counters={"failed_checks": len(failures)}, timers={"check_seconds": record.check_seconds})
    if failures:
        raise UserpipeError(record.error or "checks failed")
    return outputs


def dbt_build_outcome(path: Path) -> TransformResult:
    """The nodes of a dbt run from its run_results.json (what DbtCLI keeps of `dbt build`)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise UserpipeError(f"--dbt-results {path}: cannot read it ({exc.strerror or exc})") from None
    try:
        document = json.loads(text)
        items = document["results"]
        nodes = tuple(_node_result(item) for item in items)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UserpipeError(f"--dbt-results {path}: not a dbt run_results.json ({type(exc).__name__}: "
                            f"{str(exc)[:120]})") from None
    command = str(document.get("args", {}).get("which", "build"))
    success = not any(node.failed for node in nodes)
    return TransformResult(command, success, float(document.get("elapsed_time") or 0.0), nodes)


def _node_result(item: dict[str, Any]) -> NodeResult:
    """One entry of run_results.json; the unique id `<type>.<package>.<name>[.<hash>]` gives type and name."""
    unique_id = str(item["unique_id"])
    resource_type, _package, name, *_ = [*unique_id.split("."), "", ""]
    failures = item.get("failures")
    return NodeResult(unique_id=unique_id, name=name, resource_type=resource_type, status=str(item["status"]),
                      seconds=float(item.get("execution_time") or 0.0),
                      message=str(item["message"]) if item.get("message") else None,
                      failures=int(failures) if failures is not None else None)


def record_failure(run_id: str, reason: str | None = None) -> RunRecord:
    """The errors handler: close the run row of a failed execution (rows already closed are left as they are).

    RunNotRecorded, and nothing written, when no row has the id."""
    with warehouse.connect(autocommit=True) as conn:
        runs.ensure_table(conn)
        record = runs.load(conn, run_id)
        if record is None:
            raise RunNotRecorded(f"run {run_id} is not in ops.pipeline_runs: nothing to close (check the id; an "
                                 "execution that failed before its ingest step has no run row)")
        if record.status == "running":
            step = next((s for s in STEP_ORDER if getattr(record, f"{s}_seconds") is None), "check")
            record.finish("failed", reason or f"{step} failed in Kestra execution {run_id} (see its task logs)")
        else:
            log.info("run %s already closed as %s", run_id, record.status)
            return record
        runs.save(conn, record)
    return record


def _parse_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UserpipeError(f"--ingest-ended-at must be an ISO timestamp, got {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _emit(outputs: dict[str, Any], counters: dict[str, int], timers: dict[str, float | None]) -> None:
    """Print Kestra outputs and metrics on stdout (Kestra parses `::{...}::` lines)."""
    # imported by name: the repo's kestra/ folder (the flow) shadows the package for type checkers
    kestra = importlib.import_module("kestra")
    Kestra = kestra.Kestra
    Kestra.outputs(outputs)
    for name, value in counters.items():
        Kestra.counter(name, value, {"flow": "synthetic_users_realtime"})
    for name, seconds in timers.items():
        if seconds is not None:
            Kestra.timer(name, seconds, {"flow": "synthetic_users_realtime"})
