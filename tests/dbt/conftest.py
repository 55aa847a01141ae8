"""One database and one long-lived Transformer per test module: dbt parses once, the builds are few."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from userpipe import warehouse
from userpipe.transform import Transformer


@pytest.fixture(scope="module")
def dbt_database(make_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database made the one userpipe uses for the whole module, with a private USERPIPE_HOME."""
    url = make_database()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(warehouse.DATABASE_URL_ENV, url)
        patch.setenv(warehouse.HOME_ENV, str(tmp_path_factory.mktemp("userpipe-home")))
        yield url


@pytest.fixture(scope="module")
def transformer(dbt_database: str, tmp_path_factory: pytest.TempPathFactory) -> Transformer:
    """The module's Transformer (dbt state in a temporary folder)."""
    return Transformer(database_url=dbt_database, state_dir=Path(tmp_path_factory.mktemp("dbt-state")))


def query(url: str, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]


def scalar(url: str, sql: str, params: tuple[object, ...] = ()) -> object:
    return query(url, sql, params)[0][0]


PROBE_PROJECT = """
name: probe
version: "1.0.0"
config-version: 2
profile: userpipe
flags:
  send_anonymous_usage_stats: false
  version_check: false
models:
  probe:
    +materialized: table
"""
# a node that leaves session state behind: a setting, a temporary table, a session advisory lock
PROBE_LEAVES_STATE = """
{{ config(pre_hook=["set statement_timeout = '4321s'", "create temporary table leftover as select 1 as x",
                    "select pg_advisory_lock(4321)"]) }}
select pg_backend_pid() as pid
"""
# the next node on the same thread: what it sees of the session
PROBE_SEES_SESSION = """
-- depends_on: {{ ref('leaves_state') }}
select pg_backend_pid() as pid, current_setting('statement_timeout') as statement_timeout,
    to_regclass('pg_temp.leftover') is null as no_leftover,
    not exists (select 1 from pg_locks where locktype = 'advisory' and pid = pg_backend_pid()) as no_lock
"""


@pytest.fixture
def probe_project(dbt_database: str, tmp_path: Path) -> Path:
    """A two-model project over the module's database (the Transformer needs raw.users to exist)."""
    with psycopg.connect(dbt_database) as conn:
        conn.execute("create schema if not exists raw; create table if not exists raw.users (uuid text)")
    project = tmp_path / "probe"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text(PROBE_PROJECT)
    (project / "models" / "leaves_state.sql").write_text(PROBE_LEAVES_STATE)
    (project / "models" / "sees_session.sql").write_text(PROBE_SEES_SESSION)
    return project
