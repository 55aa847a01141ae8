"""The read-only role the page queries as: `grafana_reader`, the one Grafana uses (grafana/readonly_role.sql).

The dashboard connects as that role itself (a login of its own, so `default_transaction_read_only` and the
statement timeout of the role apply and no panel query can undo them, as a `SET ROLE` could). Set-up, as the
database's owner (on the embedded server, as its superuser: event triggers need one): the role script is
applied when the role or its grant trigger is missing. Password: the `USERPIPE_DASHBOARD_READER_PASSWORD`
variable when set (e.g. the compose stack's GRAFANA_READER_PASSWORD), else one generated once and kept in
`$USERPIPE_HOME/grafana_reader.password` (mode 0600). On another server it is given to the role when it has none
yet (the role's password is otherwise an administrator's business); on the embedded one, which userpipe
manages, the role is given the password in use.
"""

from __future__ import annotations

import logging
import os
import secrets
from importlib import resources
from pathlib import Path
from urllib.parse import quote, urlsplit

import psycopg
from psycopg import sql

from userpipe import warehouse
from userpipe.dashboard.definition import DashboardError

log = logging.getLogger(__name__)

READER = "grafana_reader"
PASSWORD_ENV = "USERPIPE_DASHBOARD_READER_PASSWORD"
PASSWORD_FILE = "grafana_reader.password"
TRIGGER = "grant_incoming_users_to_grafana_reader"


def reader_url(owner_url: str) -> str:
    """Make sure `grafana_reader` exists with its grants, and return a URL that logs in as it."""
    password = os.environ.get(PASSWORD_ENV) or _stored_password(warehouse.home() / PASSWORD_FILE)
    embedded_superuser = warehouse.embedded_superuser_url(owner_url)
    with warehouse.connect(embedded_superuser or owner_url, autocommit=True) as conn:
        if not _role_is_set_up(conn):
            _apply_role_script(conn, owner_url)
        if embedded_superuser:
            _set_password(conn, password)
        elif PASSWORD_ENV not in os.environ:
            _give_password_if_none(conn, password)
    parts = urlsplit(owner_url)
    host = parts.hostname or ""
    netloc = f"{READER}:{quote(password, safe='')}@{f'[{host}]' if ':' in host else host}"
    if parts.port:
        netloc += f":{parts.port}"
    return parts._replace(netloc=netloc).geturl()


def _stored_password(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    password = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(password + "\n")
    return password


def _role_is_set_up(conn: psycopg.Connection) -> bool:
    row = conn.execute(
        "select exists (select from pg_roles where rolname = %s),"
        " exists (select from pg_event_trigger where evtname = %s)", (READER, TRIGGER)).fetchone()
    return bool(row and row[0] and row[1])


def _apply_role_script(conn: psycopg.Connection, owner_url: str) -> None:
    script = (resources.files("userpipe.dashboard") / "readonly_role.sql").read_text(encoding="utf-8")
    try:
        conn.execute(script.encode())
    except psycopg.errors.InsufficientPrivilege as exc:
        if _role_exists(conn):  # set up by an administrator without the trigger: use it as it is
            log.warning("grafana_reader exists but %s cannot complete its set-up: %s", warehouse.redact(owner_url),
                        exc)
            return
        raise DashboardError(f"the role {READER} does not exist and {warehouse.redact(owner_url)} may not create it:"
                             " apply grafana/readonly_role.sql as a superuser") from exc
    log.info("role %s set up", READER)


def _role_exists(conn: psycopg.Connection) -> bool:
    row = conn.execute("select exists (select from pg_roles where rolname = %s)", (READER,)).fetchone()
    return bool(row and row[0])


def _give_password_if_none(conn: psycopg.Connection, password: str) -> None:
    try:
        row = conn.execute("select rolpassword is null from pg_authid where rolname = %s", (READER,)).fetchone()
    except psycopg.errors.InsufficientPrivilege:
        return  # not a superuser: the role's password is an administrator's business
    if row and row[0]:
        conn.execute(sql.SQL("alter role {} password {}").format(
            sql.Identifier(READER), sql.Literal(password)))


def _set_password(conn: psycopg.Connection, password: str) -> None:
    """The embedded server's reader gets `password`, hashed here (SCRAM, the server's only method)."""
    verifier = conn.pgconn.encrypt_password(password.encode(), READER.encode(), b"scram-sha-256")
    conn.execute(sql.SQL("alter role {} password {}").format(sql.Identifier(READER), sql.Literal(verifier.decode())))
