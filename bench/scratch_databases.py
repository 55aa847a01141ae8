"""Scratch databases for the benchmarks, on the warehouse's server (USERPIPE_DATABASE_URL's, else the embedded one).

On the embedded server the pipeline's role `userpipe` may not create databases (no CREATEDB: see
docs/architecture.md, Warehouse), so a scratch database is created by the embedded superuser, owned by `userpipe`,
and the benchmark works in it as `userpipe`, as the pipeline does. On a server named by USERPIPE_DATABASE_URL that
URL's role creates it (it needs CREATEDB there).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from userpipe import warehouse


def _admin_and_owner() -> tuple[str, str]:
    owner = warehouse.database_url()
    admin = warehouse.embedded_superuser_url(owner) or owner
    return _on(admin, "postgres"), owner


def _on(url: str, database: str) -> str:
    return urlsplit(url)._replace(path=f"/{database}").geturl()


def create(name: str, *, fresh: bool = True) -> str:
    """Database `name` (dropped first when `fresh`), owned by the pipeline's role; its URL for that role."""
    admin, owner = _admin_and_owner()
    role = warehouse.ConnectionParams.from_url(owner).user
    with psycopg.connect(admin, autocommit=True) as conn:
        if fresh:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
        if not conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone():
            conn.execute(sql.SQL("create database {} owner {}").format(sql.Identifier(name), sql.Identifier(role)))
    return _on(owner, name)


def drop(name: str) -> None:
    """Drop database `name` if it exists."""
    admin, _ = _admin_and_owner()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
