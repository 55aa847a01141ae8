"""The embedded PostgreSQL: starts, is reused across calls, survives its starter, stops."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from userpipe import warehouse


def test_embedded_server_starts_once_and_is_reused(tmp_path: Path) -> None:
    server = warehouse.EmbeddedPostgres(tmp_path)
    try:
        url = server.start()
        assert url == server.start()
        with psycopg.connect(url) as conn:
            assert conn.execute("select current_database()").fetchone() == ("userpipe",)
            locale = "select datlocprovider, datlocale from pg_database where datname = current_database()"
            assert conn.execute(locale).fetchone() == ("b", "C.UTF-8")  # code-point order, memcmp-fast
            for name, value in warehouse.server_settings().items():  # the settings sized for this machine
                if value[-2:] in ("MB", "GB"):
                    same = "select pg_size_bytes(current_setting(%s)) = pg_size_bytes(%s)"
                else:
                    same = "select current_setting(%s) = %s"
                assert conn.execute(same, (name, value)).fetchone() == (True,), name
        assert server.is_running()
    finally:
        assert server.stop()
    assert not server.is_running()
    assert not server.stop()


@pytest.mark.parametrize(("memory_gb", "shared", "cache"), [
    (2, "512MB", "1024MB"),  # a small machine: a quarter of memory
    (23, "4096MB", "11776MB"),  # this one: capped
    (0.25, "128MB", "128MB"),  # at least 128 MB
])
def test_server_settings_scale_with_memory_within_bounds(memory_gb: float, shared: str, cache: str) -> None:
    settings = warehouse.server_settings(int(memory_gb * 1024**3))
    assert (settings["shared_buffers"], settings["effective_cache_size"]) == (shared, cache)
    assert (settings["max_wal_size"], settings["checkpoint_timeout"]) == ("4GB", "15min")


def test_server_outlives_the_process_that_started_it(tmp_path: Path) -> None:
    code = "from pathlib import Path; from userpipe import warehouse; "
    code += f"print(warehouse.EmbeddedPostgres(Path({str(tmp_path)!r})).start())"
    url = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    server = warehouse.EmbeddedPostgres(tmp_path)
    try:
        with psycopg.connect(url) as conn:
            assert conn.execute("select 1").fetchone() == (1,)
    finally:
        server.stop()


def test_configured_url_wins_and_bad_url_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(warehouse.DATABASE_URL_ENV, "postgresql://nobody:secret@127.0.0.1:1/nowhere")
    assert warehouse.database_url() == "postgresql://nobody:secret@127.0.0.1:1/nowhere"
    with pytest.raises(warehouse.WarehouseError) as caught:
        warehouse.connect()
    message = str(caught.value)
    assert "\n" not in message and "secret" not in message and "127.0.0.1:1" in message


def test_dbt_env_splits_tcp_and_socket_urls() -> None:
    env = warehouse.dbt_env("postgresql://u:p%40ss@db.example:6543/analytics")
    assert env == {
        "USERPIPE_PG_HOST": "db.example",
        "USERPIPE_PG_PORT": "6543",
        "USERPIPE_PG_USER": "u",
        "USERPIPE_PG_PASSWORD": "p@ss",
        "USERPIPE_PG_DBNAME": "analytics",
    }
    socket_env = warehouse.dbt_env("postgresql://postgres@localhost/userpipe?host=/run/pg")
    assert socket_env["USERPIPE_PG_HOST"] == "/run/pg"
    assert socket_env["USERPIPE_PG_PORT"] == "5432"


def test_dbt_env_passes_a_password_file_on_and_only_embedded_owner_urls_have_a_superuser(tmp_path: Path) -> None:
    env = warehouse.dbt_env("postgresql://userpipe@127.0.0.1:5/userpipe?passfile=/home/me/.userpipe/pg_userpipe.pgpass")
    assert env["PGPASSFILE"] == "/home/me/.userpipe/pg_userpipe.pgpass" and env["USERPIPE_PG_PASSWORD"] == ""
    assert "PGPASSFILE" not in warehouse.dbt_env("postgresql://u:p@db.example:6543/analytics")
    (tmp_path / warehouse.SUPERUSER_PASSFILE).write_text("127.0.0.1:*:*:postgres:x\n")
    owner = f"postgresql://userpipe@127.0.0.1:5/userpipe?passfile={tmp_path / warehouse.OWNER_PASSFILE}"
    assert warehouse.embedded_superuser_url(owner) \
        == f"postgresql://postgres@127.0.0.1:5/userpipe?passfile={tmp_path / warehouse.SUPERUSER_PASSFILE}"
    assert warehouse.embedded_superuser_url("postgresql://userpipe:p@db.example:5432/userpipe") is None
    assert warehouse.embedded_superuser_url(owner.replace("userpipe@", "someone@")) is None
