"""Fixtures for the gate: a database holding one landed batch (raw.users + incoming_users)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from tests.quality import landing

BATCH_SIZE = 60


@dataclass(frozen=True)
class LandedBatch:
    """A database with one load of `size` users; `load_id` names it."""

    url: str
    load_id: str
    size: int

    def counts(self) -> tuple[int, int]:
        """(raw.users rows, incoming_users rows): what a check must never change."""
        with psycopg.connect(self.url) as conn:
            raw = conn.execute("select count(*) from raw.users").fetchone()
            modelled = conn.execute("select count(*) from public.incoming_users").fetchone()
        assert raw is not None and modelled is not None
        return int(raw[0]), int(modelled[0])

    def execute(self, sql: str, *params: Any) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(sql, params or None)  # type: ignore[arg-type]


LandBatch = Callable[..., LandedBatch]


@pytest.fixture()
def land_batch(database_url: str) -> LandBatch:
    """Factory: land users (optionally altered by `alter(users)`) as one load in the test's database."""

    def land(alter: Callable[[list[dict[str, Any]]], None] | None = None, size: int = BATCH_SIZE,
             seed: str = "quality") -> LandedBatch:
        users = landing.api_users(size, seed=seed)
        if alter:
            alter(users)
        with psycopg.connect(database_url, autocommit=True) as conn:
            load_id = landing.land(conn, users)
        return LandedBatch(database_url, load_id, size)

    return land
