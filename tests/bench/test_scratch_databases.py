"""bench/scratch_databases.py: the benchmarks' databases on the embedded server, whose pipeline role may not
create databases (every benchmark failed with 'permission denied to create database' once passwords came)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import psycopg

from userpipe import warehouse

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("scratch_databases", BENCH / "scratch_databases.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_scratch_database_is_the_pipeline_roles_and_fresh_drops_it(own_server: warehouse.EmbeddedPostgres) -> None:
    scratch = _module()
    url = scratch.create("bench_scratch_test")
    with psycopg.connect(url, autocommit=True) as conn:
        who = conn.execute("select current_user, pg_get_userbyid(datdba) from pg_database"
                           " where datname = current_database()").fetchone()
        conn.execute("create table kept (n int)")
    assert who == ("userpipe", "userpipe")

    with psycopg.connect(scratch.create("bench_scratch_test", fresh=False)) as conn:
        assert conn.execute("select to_regclass('kept') is not null").fetchone() == (True,)
    with psycopg.connect(scratch.create("bench_scratch_test")) as conn:
        assert conn.execute("select to_regclass('kept') is not null").fetchone() == (False,)

    scratch.drop("bench_scratch_test")
    with psycopg.connect(own_server.superuser_url(), autocommit=True) as conn:
        assert conn.execute("select count(*) from pg_database where datname = 'bench_scratch_test'").fetchone() == (0,)
