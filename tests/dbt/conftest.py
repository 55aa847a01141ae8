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
