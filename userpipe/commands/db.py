"""`userpipe db`: the database in use (embedded PostgreSQL unless USERPIPE_DATABASE_URL is set)."""

from __future__ import annotations

import os

import typer

from userpipe import warehouse

app = typer.Typer(no_args_is_help=True, help="The database in use: print its URL, stop the embedded server.")


@app.command("url")
def url() -> None:
    """Print the connection URL in use, starting the embedded PostgreSQL if needed.

    For the embedded server it names the password file (`?passfile=`), not the password; psql takes it as is."""
    typer.echo(warehouse.database_url())


@app.command("stop")
def stop() -> None:
    """Stop the embedded PostgreSQL (its data stays in $USERPIPE_HOME/pgdata).

    Any userpipe command that needs the database starts it again, a running `userpipe run` at its next
    cycle: stop the runner first to keep the server stopped."""
    if os.environ.get(warehouse.DATABASE_URL_ENV):
        typer.echo(f"{warehouse.DATABASE_URL_ENV} is set: userpipe does not manage that server")
        return
    stopped = warehouse.EmbeddedPostgres(warehouse.home()).stop()
    typer.echo(f"embedded PostgreSQL {'stopped' if stopped else 'was not running'}; {RESTARTED_BY}")


RESTARTED_BY = ("the next userpipe command that needs it starts it again, a running `userpipe run` at its next cycle "
                "(stop the runner first to keep it stopped)")
