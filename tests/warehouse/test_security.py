"""The embedded PostgreSQL asks every login for its password (issue #13, item 10).

Real servers, real processes: another OS user of the machine (`nobody`, a subprocess dropped to it) cannot log
in without the password, nor read the password files; the pipeline's role owns its data but is no superuser; a
data dir made by the older trust set-up is upgraded in place with its data.
"""

from __future__ import annotations

import logging
import os
import pwd
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from randomuser_api.server import LocalApi
from userpipe import warehouse
from userpipe.dashboard import definition, reader
from userpipe.dashboard.queries import QueryRunner

ROOT = Path(__file__).resolve().parents[2]
READONLY_ROLE_SQL = (ROOT / "grafana" / "readonly_role.sql").read_text()
USERPIPE = str(Path(sys.executable).with_name("userpipe"))
NO_PASSFILE = "/nonexistent/pgpass"  # whatever PGPASSFILE an earlier test left in this process: none
as_root_only = pytest.mark.skipif(os.geteuid() != 0, reason="dropping to the OS user nobody needs root")


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[warehouse.EmbeddedPostgres]:
    embedded = warehouse.EmbeddedPostgres(tmp_path / "home")
    embedded.start()
    try:
        yield embedded
    finally:
        embedded.stop()


def port_of(server: warehouse.EmbeddedPostgres) -> int:
    return int(server.port_file.read_text())


def as_nobody(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`args` run as the OS user nobody (no supplementary groups), from /, with a bare environment."""
    nobody = pwd.getpwnam("nobody")
    return subprocess.run(list(args), user=nobody.pw_uid, group=nobody.pw_gid, extra_groups=[], cwd="/",
                          env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", **(env or {})},
                          capture_output=True, text=True, timeout=60, check=False)


def psql(conninfo: str, command: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The wheel's psql as nobody: never prompting (-w), stopping at the first error."""
    return as_nobody(str(warehouse._bin("psql")), "-w", "-X", "-v", "ON_ERROR_STOP=1", "-At", "-d", conninfo,
                     "-c", command, env=env)


def password_in(passfile: Path) -> str:
    return passfile.read_text().strip().split(":", 4)[4]


@as_root_only
def test_another_os_user_cannot_log_in_without_the_password(server: warehouse.EmbeddedPostgres) -> None:
    port = port_of(server)
    attack = "copy (select 1) to program 'id > /tmp/userpipe-pwned'"
    for user, database in (("postgres", "postgres"), ("postgres", "userpipe"), ("userpipe", "userpipe"),
                           ("grafana_reader", "userpipe")):
        refused = psql(f"postgresql://{user}@127.0.0.1:{port}/{database}", attack)
        assert refused.returncode != 0
        assert "no password supplied" in refused.stderr, refused.stderr
    replication = psql(f"host=127.0.0.1 port={port} user=postgres dbname=postgres replication=true",
                       "IDENTIFY_SYSTEM")
    assert replication.returncode != 0 and "no password supplied" in replication.stderr, replication.stderr
    assert not Path("/tmp/userpipe-pwned").exists()
    # the control: the same psql, as nobody, given the owner's password, gets in (so the refusals were the server's)
    allowed = psql(f"postgresql://userpipe@127.0.0.1:{port}/userpipe", "select current_user",
                   env={"PGPASSWORD": password_in(server.owner_passfile)})
    assert (allowed.returncode, allowed.stdout.strip()) == (0, "userpipe"), allowed.stderr


@as_root_only
def test_there_is_no_unix_socket_and_nobody_cannot_read_the_secrets(server: warehouse.EmbeddedPostgres) -> None:
    port = port_of(server)
    with psycopg.connect(server.superuser_url()) as conn:
        assert conn.execute("show unix_socket_directories").fetchone() == ("",)
        assert conn.execute("show listen_addresses").fetchone() == ("127.0.0.1",)
    assert f".s.PGSQL.{port}" not in Path("/proc/net/unix").read_text()
    for folder in ("/tmp", "/var/run/postgresql", str(server.pgdata)):
        refused = psql(f"host={folder} port={port} user=postgres dbname=postgres", "select 1")
        assert refused.returncode != 0, refused.stdout
        assert "No such file or directory" in refused.stderr or "Permission denied" in refused.stderr, refused.stderr
    for secret in (server.superuser_passfile, server.owner_passfile):
        read = as_nobody("cat", str(secret))
        assert read.returncode != 0 and "Permission denied" in read.stderr
    assert as_nobody("ls", str(server.pgdata)).returncode != 0  # the data dir: 0700, PostgreSQL's OS user's


def test_password_files_are_private_and_the_pg_hba_trusts_no_one(server: warehouse.EmbeddedPostgres) -> None:
    for secret in (server.superuser_passfile, server.owner_passfile):
        info = secret.stat()
        assert stat.S_IMODE(info.st_mode) == 0o600
        assert (info.st_uid, info.st_gid) == (os.getuid(), os.getgid())
    assert password_in(server.superuser_passfile) != password_in(server.owner_passfile)
    assert not list(server.root.glob(".initdb-*"))  # initdb's password file is gone
    with psycopg.connect(server.superuser_url()) as conn:
        methods = conn.execute("select distinct auth_method from pg_hba_file_rules").fetchall()
        kinds = conn.execute("select distinct type, database from pg_hba_file_rules order by 1, 2").fetchall()
    assert methods == [("scram-sha-256",)]
    assert ("host", ["replication"]) in kinds
    url = server.url()
    assert password_in(server.owner_passfile) not in url and "passfile=" in url
    with pytest.raises(psycopg.OperationalError, match="no password supplied"):
        psycopg.connect(url.split("?")[0], passfile=NO_PASSFILE, connect_timeout=5)


def test_the_pipeline_role_owns_its_database_but_is_no_superuser(server: warehouse.EmbeddedPostgres) -> None:
    with psycopg.connect(server.url(), autocommit=True) as conn:
        assert conn.execute("select current_user, rolsuper, rolcreaterole, rolcreatedb from pg_roles"
                            " where rolname = current_user").fetchone() == ("userpipe", False, False, False)
        assert conn.execute("select pg_get_userbyid(datdba) from pg_database where datname = current_database()"
                            ).fetchone() == ("userpipe",)
        conn.execute("create schema scratch")
        conn.execute("create table scratch.t (line text)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("copy scratch.t from program 'id'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select rolpassword from pg_authid")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("create role intruder superuser login")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select pg_read_file('pg_hba.conf')")


def make_trust_data_dir(root: Path) -> int:
    """A data dir as userpipe made it before passwords: initdb --auth=trust, database `userpipe` owned by
    postgres with the pipeline's objects in it (the grafana_reader role script applied), server stopped."""
    pgdata = root / "pgdata"
    pgdata.mkdir(parents=True)
    warehouse._prepare_for_system_user(pgdata)
    subprocess.run([str(warehouse._bin("initdb")), "-D", str(pgdata), "--auth=trust", "--encoding=UTF8",
                    "--locale=C.UTF-8", "--locale-provider=builtin", "--builtin-locale=C.UTF-8", "-U", "postgres"],
                   capture_output=True, text=True, check=True, user=warehouse._system_user(), timeout=120)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (root / "pg.port").write_text(str(port))
    pg_ctl = [str(warehouse._bin("pg_ctl")), "-D", str(pgdata), "-w", "-t", "60"]
    subprocess.run([*pg_ctl, "start", "-l", str(pgdata / "server.log"), "-o", f"-h 127.0.0.1 -p {port} -k ''"],
                   capture_output=True, text=True, check=True, user=warehouse._system_user(), timeout=120,
                   start_new_session=True)
    try:
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True) as conn:
            conn.execute("create database userpipe")
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/userpipe", autocommit=True) as conn:
            conn.execute(READONLY_ROLE_SQL.encode())
            conn.execute("create schema raw")
            conn.execute("create table raw.users (uuid text unique, payload jsonb)")
            conn.execute("""insert into raw.users values ('u-1', '{"name": "kept"}')""")
            conn.execute("create table ops.pipeline_runs (n bigint generated always as identity, status text)")
            conn.execute("insert into ops.pipeline_runs (status) values ('success')")
            conn.execute("create table marts.users_by_country (country text, user_count bigint)")
            conn.execute("create schema staging")
            conn.execute("create view staging.stg_users as select uuid from raw.users")
    finally:
        subprocess.run([*pg_ctl, "stop", "-m", "fast"], capture_output=True, text=True, check=True,
                       user=warehouse._system_user(), timeout=120)
    return port


def test_a_trust_data_dir_is_upgraded_in_place_and_keeps_its_data(tmp_path: Path,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "old-home"
    port = make_trust_data_dir(root)
    assert "trust" in (root / "pgdata" / "pg_hba.conf").read_text()
    server = warehouse.EmbeddedPostgres(root)
    try:
        with caplog.at_level(logging.INFO, logger="userpipe.warehouse"):
            url = server.start()
        assert "every login now needs its password" in caplog.text
        assert port_of(server) == port
        with pytest.raises(psycopg.OperationalError, match="no password supplied"):
            psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", passfile=NO_PASSFILE,
                            connect_timeout=5)
        with psycopg.connect(server.superuser_url()) as conn:
            assert conn.execute("select distinct auth_method from pg_hba_file_rules").fetchall() \
                == [("scram-sha-256",)]
        with psycopg.connect(url, autocommit=True) as conn:
            assert conn.execute("select payload->>'name' from raw.users").fetchall() == [("kept",)]
            owners = conn.execute(
                "select distinct pg_get_userbyid(c.relowner) from pg_class c join pg_namespace n"
                " on n.oid = c.relnamespace where n.nspname in ('raw', 'staging', 'marts', 'ops', 'public')"
                " and c.relkind in ('r', 'v', 'S', 'i')").fetchall()
            assert owners == [("userpipe",)]
            schemas = conn.execute("select nspname, pg_get_userbyid(nspowner) from pg_namespace"
                                   " where nspname in ('raw', 'staging', 'marts', 'ops') order by 1").fetchall()
            assert schemas == [(name, "userpipe") for name in ("marts", "ops", "raw", "staging")]
            # the owner writes, its identity column follows the table, and what it creates in marts is granted to
            # grafana_reader as the old owner's tables were
            conn.execute("insert into ops.pipeline_runs (status) values ('success')")
            conn.execute("insert into raw.users values ('u-2', '{}')")
            conn.execute("create table marts.users_by_gender (gender text, user_count bigint)")
            assert conn.execute("select has_table_privilege('grafana_reader', 'marts.users_by_gender', 'select'),"
                                " has_table_privilege('grafana_reader', 'marts.users_by_country', 'select'),"
                                " has_table_privilege('grafana_reader', 'raw.users', 'select')").fetchone() \
                == (True, True, False)
            assert conn.execute("select count(*) from ops.pipeline_runs").fetchone() == (2,)
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="userpipe.warehouse"):
            assert server.start() == url
        assert "setting up roles" not in caplog.text  # once upgraded, a start only checks
    finally:
        server.stop()
    assert server.start() == url  # after a restart too
    server.stop()


def test_the_pipeline_runs_as_the_owner_and_the_dashboard_as_the_reader(
        tmp_path: Path, local_api: LocalApi, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.delenv(warehouse.DATABASE_URL_ENV, raising=False)
    monkeypatch.delenv(reader.PASSWORD_ENV, raising=False)  # the page generates its own, as for a user
    monkeypatch.setenv(warehouse.HOME_ENV, str(home))
    server = warehouse.EmbeddedPostgres(home)

    def userpipe(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([USERPIPE, *args], capture_output=True, text=True, timeout=300, check=False)

    try:
        printed = userpipe("db", "url")
        assert printed.returncode == 0, printed.stderr
        url = printed.stdout.strip()
        assert url == server.url() and password_in(server.owner_passfile) not in printed.stdout
        cycle = userpipe("run", "--once", "-n", "20", "--api-url", local_api.url, "--plain", "--no-dashboard")
        assert cycle.returncode == 0, cycle.stdout + cycle.stderr
        with psycopg.connect(url) as conn:
            assert conn.execute("select status, users_new from ops.pipeline_runs").fetchall() == [("success", 20)]
            assert conn.execute("select count(*) from ops.check_results where status in ('fail', 'error')"
                                ).fetchone() == (0,)
            owners = conn.execute("select distinct tableowner from pg_tables where schemaname in"
                                  " ('raw', 'public', 'marts', 'ops')").fetchall()
            assert owners == [("userpipe",)]

        runner = QueryRunner(reader.reader_url(url)).open()
        try:
            assert stat.S_IMODE((home / reader.PASSWORD_FILE).stat().st_mode) == 0o600
            # a full refresh re-creates incoming_users as the owner: the grant trigger, set up by the superuser,
            # gives it to the reader again
            rebuilt = userpipe("transform", "--full-refresh")
            assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
            panels = runner.refresh(definition.load(), definition.time_range("now-30m"))["panels"]
        finally:
            runner.close()
        errors = {key: panel["error"] for key, panel in panels.items() if panel.get("error")}
        assert not errors
        with psycopg.connect(reader.reader_url(url)) as conn:
            assert conn.execute("select current_user, count(*) from public.incoming_users group by 1").fetchone() \
                == ("grafana_reader", 20)
    finally:
        server.stop()


def test_a_widened_password_file_is_made_private_again_at_the_next_start(server: warehouse.EmbeddedPostgres) -> None:
    server.owner_passfile.chmod(0o644)  # libpq would ignore it ("has group or world access")
    url = server.start()
    assert stat.S_IMODE(server.owner_passfile.stat().st_mode) == 0o600
    with psycopg.connect(url) as conn:
        assert conn.execute("select current_user").fetchone() == ("userpipe",)


def test_a_lost_superuser_password_file_is_one_error_line(server: warehouse.EmbeddedPostgres) -> None:
    kept = server.superuser_passfile.read_text()
    server.superuser_passfile.unlink()
    env = {**os.environ, warehouse.HOME_ENV: str(server.root)}
    env.pop(warehouse.DATABASE_URL_ENV, None)
    try:
        for _ in range(2):  # no new password is left in its place: the second start says the same
            done = subprocess.run([USERPIPE, "db", "url"], capture_output=True, text=True, env=env, timeout=120,
                                  check=False)
            assert done.returncode == 1
            assert done.stderr.strip().splitlines() == [
                f"error: the superuser password of the embedded PostgreSQL in {server.pgdata} is lost: "
                f"{server.superuser_passfile} is missing"]
    finally:
        server.superuser_passfile.write_text(kept)
        server.superuser_passfile.chmod(0o600)
