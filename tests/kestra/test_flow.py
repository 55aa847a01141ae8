"""The Kestra flow: its declared shape, and its tasks' commands run in order against a real database."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from ingestion.randomuser.settings import BATCH_TIME_LIMIT_SECONDS
from randomuser_api import LocalApi
from tests.fixtures.checks import WHOLE_TABLE_TESTS
from tests.kestra.flow_runner import (
    DBT_PLUGIN_VERSION,
    InternalStorage,
    UnknownExpression,
    base_environment,
    dbt_command,
    render,
    render_tree,
    run_task,
)
from userpipe.cycle import MAX_BATCH_SIZE, MIN_BATCH_SIZE
from userpipe.kestra_steps import DEFAULT_LOCK_WAIT_SECONDS
from userpipe.schedule import Schedule

REPO = Path(__file__).resolve().parents[2]
FLOW_FILE = REPO / "kestra" / "main_demo_synthetic_users_realtime.yml"  # the name: see test_flow_sync.py
SNAKE_CASE = re.compile(r"[a-z][a-z0-9_]*")


@pytest.fixture(scope="module")
def flow() -> dict[str, Any]:
    return yaml.safe_load(FLOW_FILE.read_text())


def context_for(database_url: str, api_url: str, execution_id: str, batch_size: int = 7) -> dict[str, Any]:
    """What Kestra would render with, the container paths mapped to this checkout."""
    return {
        "inputs": {"batch_size": batch_size},
        "vars": {"project_dir": str(REPO)},
        "envs": {"userpipe_database_url": database_url, "userpipe_api_url": api_url,
                 "userpipe_image": "userpipe:latest", "userpipe_network": "userpipe"},
        "execution": {"id": execution_id},
        "outputs": {},
    }


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()  # type: ignore[arg-type]


def test_flow_identity_trigger_input_and_concurrency(flow: dict[str, Any]) -> None:
    assert (flow["namespace"], flow["id"]) == ("demo", "synthetic_users_realtime")
    [trigger] = flow["triggers"]
    assert (trigger["id"], trigger["type"]) == ("realtime_schedule", "io.kestra.plugin.core.trigger.Schedule")
    assert trigger["cron"] == "*/1 * * * *" and Schedule(trigger["cron"])
    [batch_size] = flow["inputs"]
    # what `userpipe kestra ingest --batch-size` takes (Kestra's IntInput refuses a value below min or above max)
    assert batch_size == {**batch_size, "id": "batch_size", "type": "INT", "defaults": 10,
                          "min": MIN_BATCH_SIZE, "max": MAX_BATCH_SIZE}
    assert MAX_BATCH_SIZE == 100_000
    assert flow["concurrency"]["limit"] == 1 and flow["concurrency"]["behavior"] in ("QUEUE", "CANCEL")


def test_tasks_in_order_with_retries_errors_handler_and_project_image(flow: dict[str, Any]) -> None:
    tasks = flow["tasks"]
    assert [t["id"] for t in tasks] == ["ingest", "dbt_build", "checks"]
    assert all(SNAKE_CASE.fullmatch(t["id"]) for t in tasks + flow["errors"])
    assert [t["type"] for t in tasks] == ["io.kestra.plugin.scripts.python.Commands",
                                          "io.kestra.plugin.dbt.cli.DbtCLI",
                                          "io.kestra.plugin.scripts.python.Commands"]
    retry = tasks[0]["retry"]
    assert retry["type"] in ("constant", "exponential") and retry["maxAttempts"] >= 2
    assert re.fullmatch(r"PT\d+[SM]", retry["interval"])
    # plugin-dbt 1.0.0 reads results from projectDir but does not pass it to dbt: the command must
    assert tasks[1]["projectDir"] == "dbt_project"
    assert [c for c in tasks[1]["commands"] if c.startswith("dbt")] == [
        "dbt build --project-dir dbt_project --exclude tag:whole_table"]  # the minute build: batch tests only
    [handler] = flow["errors"]
    assert "userpipe kestra record-failure" in handler["commands"][0]
    defaults = {d["type"]: d["values"] for d in flow["pluginDefaults"]}
    for task in tasks + flow["errors"]:
        values = defaults[task["type"]]
        assert values["taskRunner"]["type"] == "io.kestra.plugin.scripts.runner.docker.Docker"
        assert values["containerImage"] and "USERPIPE_DATABASE_URL" in values["env"]


def iso_seconds(duration: str) -> int:
    """Seconds of an ISO-8601 duration of the form Kestra's `timeout` takes here (PT6M, PT1H, PT90S)."""
    match = re.fullmatch(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?", duration)
    assert match and any(match.groups()), duration
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def test_every_task_has_a_timeout_the_largest_batch_fits_in(flow: dict[str, Any]) -> None:
    """A hung task must not hold the one execution slot forever; the ingest's bound leaves room for the lock
    wait and the batch's own page time limit (the largest batch: 20 pages of 5,000)."""
    timeouts = {task["id"]: iso_seconds(task["timeout"]) for task in flow["tasks"]}
    assert timeouts["ingest"] > DEFAULT_LOCK_WAIT_SECONDS + BATCH_TIME_LIMIT_SECONDS
    assert timeouts["dbt_build"] >= 30 * 60 and timeouts["checks"] >= 5 * 60


def test_the_ingest_task_lands_the_largest_batch_the_input_allows(flow: dict[str, Any], database_url: str,
                                                                  local_api: LocalApi, tmp_path: Path) -> None:
    [batch_input] = flow["inputs"]
    context = context_for(database_url, local_api.url, "7Lp2QxMaxBatch", batch_size=batch_input["max"])
    env = base_environment(Path(sys.executable).parent, tmp_path / "home")
    ingest = run_task(flow, flow["tasks"][0], context, tmp_path / "ingest", env)
    assert ingest.returncode == 0, f"{ingest.script}\n{ingest.stderr[-3000:]}"
    assert ingest.outputs["users_fetched"] == ingest.outputs["users_new"] == batch_input["max"]
    assert query(database_url, "select count(*), count(distinct request_page) from raw.users") == [
        (batch_input["max"], batch_input["max"] // 5_000)]


def test_every_expression_of_the_flow_renders(flow: dict[str, Any]) -> None:
    context = context_for("postgresql://u@h/db", "http://api:8000/api/", "exec")
    context["outputs"] = {"ingest": {"vars": {"load_id": "1", "ingest_ended_at": "2026-01-01T00:00:00+00:00"}},
                          "dbt_build": {"vars": {}, "outputFiles": {"run_results.json": "kestra://r/run_results.json"}}}
    rendered = render_tree(flow, context)
    assert "{{" not in str(rendered)
    assert "--batch-size 7 " in rendered["tasks"][0]["commands"][0]
    assert rendered["tasks"][2]["inputFiles"] == {"run_results.json": "kestra://r/run_results.json"}


@pytest.mark.parametrize(("command", "run_as"), [
    ("dbt build", "dbt build --log-format json"),  # 1.0.0 does not add --project-dir for projectDir
    ("dbt build --project-dir dbt_project", "dbt build --project-dir dbt_project --log-format json"),
    ("dbt test --log-format text", "dbt test --log-format text --log-format json"),
    ('eval "$(userpipe kestra dbt-env)"', 'eval "$(userpipe kestra dbt-env)"'),
])
def test_dbt_lines_are_rewritten_as_plugin_dbt_1_0_does(command: str, run_as: str) -> None:
    assert DBT_PLUGIN_VERSION == "1.0.0"
    assert dbt_command(command) == run_as


@pytest.mark.parametrize("text", ["{{ inputs.nope }}", "{{ inputs.batch_size | upper }}", "{{ secret('X') }}",
                                  "{% if true %}x{% endif %}", "{{ inputs }}", "{{ a }", "{{ files['nope'] }}",
                                  "{{ files['a.json'] | upper }}", "{{ files[0] }}", "{{ files }}"])
def test_renderer_fails_loudly_on_what_it_does_not_know(text: str) -> None:
    with pytest.raises(UnknownExpression):
        render(text, {"inputs": {"batch_size": 1}, "a": 1, "files": {"a.json": "kestra://x"}})


def test_renderer_reads_dotted_names_and_quoted_subscripts() -> None:
    context = {"outputs": {"t": {"outputFiles": {"run_results.json": "kestra://x/run_results.json"}}}}
    assert render("{{ outputs.t.outputFiles['run_results.json'] }}", context) == "kestra://x/run_results.json"


def test_tasks_run_in_order_and_land_transform_check_record(flow: dict[str, Any], database_url: str,
                                                           local_api: LocalApi, tmp_path: Path) -> None:
    context = context_for(database_url, local_api.url, "4Xk9ZpQr7sTuVw")
    env = base_environment(Path(sys.executable).parent, tmp_path / "home")
    runs = []
    for task in flow["tasks"]:
        run = run_task(flow, task, context, tmp_path / task["id"], env)
        assert run.returncode == 0, f"{task['id']} failed:\n{run.script}\n{run.stdout[-2000:]}\n{run.stderr[-3000:]}"
        runs.append(run)
    ingest, dbt_build, checks = runs

    assert ingest.outputs["users_fetched"] == 7 and ingest.outputs["users_new"] == 7
    assert ingest.outputs["load_id"] and ingest.outputs["run_id"] == "4Xk9ZpQr7sTuVw"
    assert {m["name"] for m in ingest.metrics} >= {"users_new", "users_fetched", "ingest_seconds"}
    # what plugin-dbt 1.0.0 runs: the flow's own --project-dir, the plugin's --log-format
    assert dbt_build.script.splitlines()[-1] == ("dbt build --project-dir dbt_project --exclude tag:whole_table "
                                                 "--log-format json")
    build_results = InternalStorage(tmp_path / "kestra-storage").get(
        context["outputs"]["dbt_build"]["outputFiles"]["run_results.json"])
    build_tests = {r["unique_id"].split(".")[2]: r["status"] for r in json.loads(build_results.read_text())["results"]
                   if r["unique_id"].startswith("test.")}
    assert checks.outputs["status"] == "success" and checks.outputs["failed_checks"] == 0
    assert query(database_url, "select count(*) from raw.users") == [(7,)]
    assert query(database_url, "select count(*) from public.incoming_users") == [(7,)]
    assert query(database_url, "select total_users from marts.kpis") == [(7,)]
    [row] = query(database_url, "select trigger, status, users_new, ingest_seconds, transform_seconds, "
                                "check_seconds, error from ops.pipeline_runs where run_id = '4Xk9ZpQr7sTuVw'")
    assert row[:3] == ("kestra", "success", 7) and all(s is not None and s > 0 for s in row[3:6]) and row[6] is None
    assert query(database_url, "select count(*) > 0 from ops.check_results where run_id = '4Xk9ZpQr7sTuVw'"
                               " and source = 'gx'") == [(True,)]
    # the dbt tests recorded are the ones dbt build ran (not a second `dbt test`), batch-scoped only: the
    # whole-table ones wait for the slow schedule (one execution in 15)
    assert len(build_tests) > 5 and set(build_tests.values()) == {"pass"}
    assert not WHOLE_TABLE_TESTS & set(build_tests)
    assert dict(query(database_url, "select check_name, status from ops.check_results "  # type: ignore[arg-type]
                                    "where run_id = '4Xk9ZpQr7sTuVw' and source = 'dbt'")) == build_tests


def test_the_checks_task_runs_the_whole_table_tests_when_they_are_due(flow: dict[str, Any], database_url: str,
                                                                     local_api: LocalApi, tmp_path: Path) -> None:
    context = context_for(database_url, local_api.url, "exec-full-checks")
    env = base_environment(Path(sys.executable).parent, tmp_path / "home")
    ingest, dbt_build, checks = flow["tasks"]
    for task in (ingest, dbt_build):
        assert run_task(flow, task, context, tmp_path / task["id"], env).returncode == 0
    [command] = checks["commands"]
    assert command.endswith(" --full-checks-every 15")
    due = {**checks, "commands": [command.replace("--full-checks-every 15", "--full-checks-every 1")]}
    run = run_task(flow, due, context, tmp_path / "checks", env)
    assert run.returncode == 0, run.stderr[-3000:]
    recorded = query(database_url, "select check_name, status, scope from ops.check_results "
                                   "where run_id = 'exec-full-checks' and source = 'dbt'")
    assert {name for name, _, scope in recorded if scope == "table"} == WHOLE_TABLE_TESTS
    assert {status for name, status, scope in recorded if scope == "table"} == {"pass"}
    assert {name for name, _, scope in recorded if scope == "batch"} and \
        not {name for name, _, scope in recorded if scope == "batch"} & WHOLE_TABLE_TESTS


def test_checks_record_the_build_tests_instead_of_running_dbt_test_again(flow: dict[str, Any], database_url: str,
                                                                          local_api: LocalApi,
                                                                          tmp_path: Path) -> None:
    context = context_for(database_url, local_api.url, "exec-build-tests")
    env = base_environment(Path(sys.executable).parent, tmp_path / "home")
    ingest, dbt_build, checks = flow["tasks"]
    for task in (ingest, dbt_build):
        assert run_task(flow, task, context, tmp_path / task["id"], env).returncode == 0
    # a failure only the build's results hold: re-running `dbt test` on this good data would pass
    stored = InternalStorage(tmp_path / "kestra-storage").get(
        context["outputs"]["dbt_build"]["outputFiles"]["run_results.json"])
    document = json.loads(stored.read_text())
    failed = next(r for r in document["results"] if r["unique_id"].startswith("test."))
    failed.update(status="fail", failures=3, message="Got 3 results, configured to fail if != 0")
    stored.write_text(json.dumps(document))

    run = run_task(flow, checks, context, tmp_path / "checks", env)
    name = failed["unique_id"].split(".")[2]
    assert run.returncode == 1 and "checks failed: 1 of" in run.stderr and name in run.stderr
    assert query(database_url, "select status, failing_rows from ops.check_results where run_id = "
                               f"'exec-build-tests' and source = 'dbt' and check_name = '{name}'") == [("fail", 3)]
    assert query(database_url, "select status from ops.pipeline_runs where run_id = 'exec-build-tests'") == \
        [("failed",)]


def test_errors_handler_closes_the_run_of_a_failed_execution(flow: dict[str, Any], database_url: str,
                                                            local_api: LocalApi, tmp_path: Path) -> None:
    env = base_environment(Path(sys.executable).parent, tmp_path / "home")
    ingest, _, checks = flow["tasks"]
    [handler] = flow["errors"]

    # dbt_build "failed" after ingest: the handler names the step that did not finish
    context = context_for(database_url, local_api.url, "exec-dbt-failed")
    assert run_task(flow, ingest, context, tmp_path / "ingest", env).returncode == 0
    closed = run_task(flow, handler, context, tmp_path / "handler", env)
    assert closed.returncode == 0, closed.stderr
    assert query(database_url, "select status, error from ops.pipeline_runs where run_id = 'exec-dbt-failed'") == \
        [("failed", "transform failed in Kestra execution exec-dbt-failed (see its task logs)")]
    stored = tmp_path / "run_results.json"
    stored.write_text("{}")
    build_files = {"run_results.json": InternalStorage(tmp_path / "kestra-storage").put(stored)}
    context["outputs"]["dbt_build"] = {"vars": {}, "outputFiles": build_files}
    late = run_task(flow, checks, context, tmp_path / "checks", env)  # a closed run is not checked again
    assert late.returncode == 1 and "is failed: its ingest step did not complete" in late.stderr

    # failed before ingest recorded anything: no row to close, and none made up
    early = context_for(database_url, local_api.url, "exec-early")
    unrecorded = run_task(flow, handler, early, tmp_path / "handler-early", env)
    assert unrecorded.returncode == 1
    assert unrecorded.stderr.strip().splitlines() == [
        "error: run exec-early is not in ops.pipeline_runs: nothing to close (check the id; an execution that "
        "failed before its ingest step has no run row)"]
    assert query(database_url, "select count(*) from ops.pipeline_runs where run_id = 'exec-early'") == [(0,)]
