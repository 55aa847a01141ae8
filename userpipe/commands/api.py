"""`userpipe api`: run our randomuser.me-compatible API (randomuser_api) in the foreground."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from userpipe.errors import UserpipeError

if TYPE_CHECKING:
    from randomuser_api.faults import Fault

app = typer.Typer(no_args_is_help=True, help="Our randomuser.me API 1.4 compatible server, with fault switches.")

FAULT_HELP = (
    "Fault switch KIND or KIND:TIMES, repeatable. KIND is one of 429, 500, slow, truncate, malformed, invalid, "
    "oversize, drift; "
    "TIMES is how many API requests it applies to (-1 = always; default --fault-times). "
    "Example: --fault 429:2 --fault slow."
)


def parse_fault_flags(
    faults: list[str], times: int, delay: float, retry_after: int, invalid_fields: str | None,
    user_bytes: int = 200_000_000, drift: str | None = None, drift_share: float = 1.0,
) -> list[Fault]:
    """Turn `--fault KIND[:TIMES]` flags into Fault objects; any mistake is one readable UserpipeError."""
    from randomuser_api.drift import DRIFTS
    from randomuser_api.faults import INVALID_VALUES, Fault, FaultError

    fields = tuple(f.strip() for f in invalid_fields.split(",") if f.strip()) if invalid_fields else None
    drifts = tuple(d.strip() for d in drift.split(",") if d.strip()) if drift else None
    parsed: list[Fault] = []
    for flag in faults:
        kind, _, count = flag.partition(":")
        try:
            n = int(count) if count else times
        except ValueError:
            raise UserpipeError(f"--fault {flag}: TIMES must be an integer (-1 = always)") from None
        try:
            parsed.append(Fault(kind.strip().lower(), n, delay=delay, retry_after=retry_after,
                                fields=fields or tuple(INVALID_VALUES), user_bytes=user_bytes,
                                drift=drifts or tuple(DRIFTS), drift_share=drift_share))
        except FaultError as exc:
            raise UserpipeError(f"--fault {flag}: {exc}") from None
    return parsed


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on (0 = any free port)."),
    fault: list[str] = typer.Option([], "--fault", help=FAULT_HELP),  # noqa: B008
    fault_times: int = typer.Option(
        -1, "--fault-times", help="Requests each --fault without :TIMES applies to (-1 = always)."
    ),
    delay: float = typer.Option(2.0, "--delay", help="Seconds the 'slow' fault waits before answering."),
    retry_after: int = typer.Option(1, "--retry-after", help="Retry-After seconds sent with the 429 fault."),
    invalid_fields: str | None = typer.Option(
        None,
        "--invalid-fields",
        help="Comma list for the 'invalid' fault: email,gender,nat,age,latitude,picture,uuid (default: all; "
        "user i of a page gets the i-th invalid value).",
    ),
    oversize_bytes: int = typer.Option(
        200_000_000, "--oversize-bytes", metavar="N",
        help="Bytes of the one user the 'oversize' fault puts first on a page (sent chunked, never held whole)."),
    drift: str | None = typer.Option(
        None, "--drift",
        help="Comma list for the 'drift' fault: no_location,postcode_object,age_text,email_renamed,gender_unknown,"
        "nat_xx (default: all; each drifted user gets every one).",
    ),
    drift_share: float = typer.Option(
        1.0, "--drift-share", help="Share of each page's users the 'drift' fault changes, in (0, 1] (the first ones)."
    ),
    stream_port: int | None = typer.Option(
        None, "--stream-port", metavar="PORT",
        help="Port of the WebSocket feed ws://HOST:PORT/api/stream (default: --port + 1; any free one with "
        "--port 0; 0 = any free port)."),
    no_stream: bool = typer.Option(False, "--no-stream", help="Serve the HTTP API only, no WebSocket feed."),
) -> None:
    """Serve GET /api/ and /api/1.0/ .. /api/1.4/ (randomuser format), and the WebSocket feed /api/stream on its
    own port, until Ctrl-C.

    Faults (HTTP API only) can also be changed at runtime: PUT /_control/faults with
    {"faults": [{"kind": "429", "times": 2}]}, GET to read them, DELETE to clear.
    """
    from randomuser_api.server import serve as run_server
    from randomuser_api.stream import LocalStream

    if not 0 <= port <= 65535:
        raise UserpipeError(f"--port {port}: must be 0..65535")
    feed_port = stream_port if stream_port is not None else (port + 1 if port else 0)
    if not no_stream and not 0 <= feed_port <= 65535:
        raise UserpipeError(f"--stream-port {feed_port}: must be 0..65535")
    faults = parse_fault_flags(fault, fault_times, delay, retry_after, invalid_fields, oversize_bytes, drift,
                               drift_share)
    feed = None if no_stream else LocalStream(host, feed_port)
    if feed is not None:
        try:
            feed.start()
        except OSError as exc:
            raise UserpipeError(f"cannot listen on {host}:{feed_port} (--stream-port): {exc.strerror or exc}") from None
    also = f" and its WebSocket feed on {feed.url}" if feed is not None else ""
    try:
        run_server(host, port, faults,
                   on_ready=lambda url: typer.echo(f"randomuser-compatible API on {url}{also} (Ctrl-C to stop)"))
    except OSError as exc:
        raise UserpipeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    finally:
        if feed is not None:
            feed.stop()
