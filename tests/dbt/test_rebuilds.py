"""Full refreshes, stale sources and failures: what a Transformer does when things are not routine."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from ingestion.pipeline import ingest
from randomuser_api import LocalApi
from tests.dbt.conftest import query, scalar
from userpipe.errors import UserpipeError
from userpipe.transform import Transformer, TransformError

NAMED_INDEXES = {"idx_incoming_users_created_at", "idx_incoming_users_country", "idx_incoming_users_gender",
                 "idx_incoming_users_synced_at"}
DEAD_DATABASE = "postgresql://postgres@127.0.0.1:9/nothing"
USERPIPE = Path(sys.executable).with_name("userpipe")


def incoming_users_indexes(url: str) -> set[str]:
    return {str(row[0]) for row in query(url, "select indexname from pg_indexes"
                                              " where schemaname = 'public' and tablename = 'incoming_users'")}


@pytest.fixture(scope="module")
def built(dbt_database: str, transformer: Transformer, local_api: LocalApi) -> str:
    ingest(150, seed="dbt-rebuilds", api_url=local_api.url, database_url=dbt_database)
    transformer.build()
    return dbt_database


def test_full_refresh_of_incoming_users_alone_is_caught_then_repaired(built: str, transformer: Transformer) -> None:
    # The swap drops the old table with its dependent views (kpis), so that build's own tests fail too.
    alone = transformer.build(select=["incoming_users"], full_refresh=True, raise_on_failure=False)
    assert [node.status for node in alone.nodes if node.name == "incoming_users"] == ["success"]
    assert incoming_users_indexes(built) >= NAMED_INDEXES  # the swapped-in table got the names back
    with pytest.raises(TransformError, match="full refresh") as caught:
        transformer.build()
    assert "\n" not in str(caught.value)
    assert caught.value.result is not None and caught.value.result.failures

    repaired = transformer.build(full_refresh=True)
    assert repaired.success
    assert incoming_users_indexes(built) >= NAMED_INDEXES
    assert scalar(built, "select count(*) from public.incoming_users") == 150
    assert scalar(built, "select sum(user_count) from marts.users_by_country") == 150
    assert scalar(built, "select total_users from marts.kpis") == 150


def test_stale_source_is_reported_not_raised(built: str, transformer: Transformer) -> None:
    with psycopg.connect(built) as conn:
        conn.execute("update raw.users set fetched_at = fetched_at - interval '2 hours'")
    result = transformer.source_freshness()
    [source] = [node for node in result.nodes if node.resource_type == "source"]
    assert source.status == "error"
    assert not result.success


def test_database_down_is_one_line(transformer: Transformer) -> None:
    with pytest.raises(UserpipeError) as caught:
        Transformer(database_url=DEAD_DATABASE, state_dir=transformer.state_dir).build()
    assert "cannot connect" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_database_without_raw_users_is_one_line(make_database: Callable[[], str], transformer: Transformer) -> None:
    with pytest.raises(UserpipeError, match=r"no raw\.users") as caught:
        Transformer(database_url=make_database(), state_dir=transformer.state_dir).build()
    assert "\n" not in str(caught.value)


def test_cli_help_and_one_line_error() -> None:
    helped = subprocess.run([str(USERPIPE), "transform", "--help"], capture_output=True, text=True, check=False)
    assert helped.returncode == 0
    assert "--full-refresh" in helped.stdout and "--select" in helped.stdout
    env = os.environ | {"USERPIPE_DATABASE_URL": DEAD_DATABASE}
    failed = subprocess.run([str(USERPIPE), "transform"], capture_output=True, text=True, check=False, env=env)
    assert failed.returncode == 1
    lines = [line for line in failed.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "cannot connect" in lines[0]


def test_a_selection_that_matches_nothing_fails_in_one_line(built: str) -> None:
    done = subprocess.run([str(USERPIPE), "transform", "--select", "nonexistent_model"],
                          capture_output=True, text=True, check=False, timeout=180)

    assert done.returncode == 1, done.stdout
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: dbt build could not run: "), done.stderr
    assert "The selection criterion 'nonexistent_model' does not match any enabled nodes" in done.stderr


@pytest.mark.parametrize(("select", "exclude", "message"), [
    (["incoming_users", "typo_model"], [], "The selection criterion 'typo_model' does not match any enabled nodes"),
    (["incoming_users"], ["incoming_users"], "--select incoming_users --exclude incoming_users leaves no node to run"),
])
def test_partial_or_empty_selections_are_errors(built: str, transformer: Transformer, select: list[str],
                                                exclude: list[str], message: str) -> None:
    with pytest.raises(TransformError, match=re.escape(message)):
        transformer.build(select, exclude)
    with pytest.raises(TransformError, match=re.escape(message)):
        transformer.test(select, exclude)


@pytest.mark.parametrize(("args", "message"), [
    (["--test", "--freshness"], "--freshness checks raw.users' freshness only: it takes no --test"),
    (["--freshness", "--select", "incoming_users"], "--freshness checks raw.users' freshness only"),
    (["--test", "--full-refresh"], "--test builds nothing, so --full-refresh has no meaning with it"),
])
def test_options_that_would_be_ignored_are_rejected(args: list[str], message: str) -> None:
    env = os.environ | {"USERPIPE_DATABASE_URL": DEAD_DATABASE}  # rejected before the database is asked
    done = subprocess.run([str(USERPIPE), "transform", *args], capture_output=True, text=True, check=False, env=env,
                          timeout=60)

    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(f"error: {message}"), done.stderr
