"""Fixtures for the gate: one database per module, batches landed by the real ingestion and modelled by dbt."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ingestion.pipeline import IngestResult, ingest
from userpipe import warehouse
from userpipe.transform import Transformer


@dataclass
class Warehouse:
    """A module's database, its USERPIPE_HOME, and the long-lived dbt Transformer that models its batches."""

    url: str
    home: Path
    transformer: Transformer

    def land(self, api_url: str, seed: str, size: int = 40) -> IngestResult:
        """One batch through the real ingestion (dlt) from the API at `api_url`; not modelled yet."""
        return ingest(size, seed=seed, api_url=api_url, database_url=self.url)

    def build(self) -> None:
        """dbt build (failing dbt tests do not stop the batch: it stays landed, as in a cycle)."""
        self.transformer.build(raise_on_failure=False)

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(sql.encode(), params)

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url) as conn:
            return conn.execute(sql.encode(), params).fetchall()

    def batch_counts(self, load_id: str) -> tuple[int, int]:
        """(raw.users rows, incoming_users rows) of one load: what a check must never change."""
        [(raw, modelled)] = self.rows(
            "select count(*), count(i.user_id) from raw.users as r"
            " left join public.incoming_users as i on i.user_id = r.uuid where r._dlt_load_id = %s",
            (load_id,),
        )
        return int(raw), int(modelled)

    def stored(self, run_id: str) -> dict[str, tuple[str, str, int | None]]:
        """ops.check_results of `run_id`: check_name -> (source, status, failing_rows)."""
        rows = self.rows(
            "select check_name, source, status, failing_rows from ops.check_results where run_id = %s", (run_id,)
        )
        return {name: (source, status, failing) for name, source, status, failing in rows}

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`userpipe <args>` in a real subprocess on this database."""
        env = {**os.environ, warehouse.DATABASE_URL_ENV: self.url, warehouse.HOME_ENV: str(self.home)}
        command = [sys.executable, "-c", "from userpipe.cli import app; app()", *args]
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)


@pytest.fixture(scope="module")
def module_warehouse(
    make_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Warehouse]:
    """A fresh database made the one userpipe uses for the whole module (dbt parses once per module)."""
    url = make_database()
    home = Path(tmp_path_factory.mktemp("userpipe-home"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(warehouse.DATABASE_URL_ENV, url)
        patch.setenv(warehouse.HOME_ENV, str(home))
        yield Warehouse(url, home, Transformer(database_url=url, state_dir=home / "dbt"))
