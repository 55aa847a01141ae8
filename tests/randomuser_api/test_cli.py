"""`userpipe api serve`: faults parsed, bad flags or a busy port one readable line, the URL told once bound."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from typer.testing import CliRunner

from userpipe.commands.api import app, parse_fault_flags
from userpipe.errors import UserpipeError

USERPIPE = str(Path(sys.executable).with_name("userpipe"))


def test_fault_flags_parse() -> None:
    faults = parse_fault_flags(["429:2", "slow", "invalid"], times=-1, delay=0.5, retry_after=3,
                               invalid_fields="email,uuid")
    assert [(f.kind, f.times) for f in faults] == [("429", 2), ("slow", -1), ("invalid", -1)]
    assert faults[0].retry_after == 3 and faults[1].delay == 0.5
    assert faults[2].fields == ("email", "uuid")


@pytest.mark.parametrize("flags", [["teapot"], ["429:x"], ["429:-5"]])
def test_bad_fault_flags_are_one_line_errors(flags: list[str]) -> None:
    with pytest.raises(UserpipeError) as info:
        parse_fault_flags(flags, times=1, delay=1.0, retry_after=1, invalid_fields=None)
    assert "\n" not in str(info.value)


def test_bad_invalid_fields() -> None:
    with pytest.raises(UserpipeError, match="unknown invalid field"):
        parse_fault_flags(["invalid"], times=1, delay=1.0, retry_after=1, invalid_fields="shoe")


def test_help_lists_the_fault_flags() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"], terminal_width=200)
    assert result.exit_code == 0
    for flag in ("--host", "--port", "--fault", "--fault-times", "--delay", "--retry-after"):
        assert flag in result.output


def test_bad_port_exits_non_zero() -> None:
    result = CliRunner().invoke(app, ["serve", "--port", "70000"])
    assert result.exit_code != 0


def test_a_busy_port_is_one_error_line_and_no_announcement() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run([USERPIPE, "api", "serve", "--port", str(port)], capture_output=True, text=True,
                              timeout=60, check=False)

    assert done.returncode == 1
    assert done.stdout == ""  # no "API on http://..." for a server that never listened
    assert done.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}: ") and done.stderr.count("\n") == 1


def test_the_url_is_announced_once_bound_with_the_real_port() -> None:
    server = subprocess.Popen([USERPIPE, "api", "serve", "--port", "0"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        line = server.stdout.readline()  # the process ends (EOF) rather than hang if it fails
        url = line.split(" on ", 1)[1].split(" ", 1)[0]
        assert line.startswith("randomuser-compatible API on http://127.0.0.1:") and ":0/" not in url, line
        answer = requests.get(url, params={"results": "2", "seed": "bound"}, timeout=30)
        assert answer.status_code == 200 and len(answer.json()["results"]) == 2
    finally:
        server.terminate()
        server.communicate(timeout=30)


def test_the_websocket_feed_is_served_beside_the_api() -> None:
    from websockets.sync.client import connect

    server = subprocess.Popen([USERPIPE, "api", "serve", "--port", "0"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        assert " and its WebSocket feed on ws://127.0.0.1:" in line, line
        feed_url = line.split(" feed on ", 1)[1].split(" ", 1)[0]
        api_url = line.split(" on ", 1)[1].split(" ", 1)[0]
        with connect(f"{feed_url}?rate=1000&seed=beside", open_timeout=30) as feed:
            frame = json.loads(feed.recv(timeout=30))
            while frame["type"] != "users":  # the feed says hello first
                frame = json.loads(feed.recv(timeout=30))
        first = frame["results"][0]
        page_1 = requests.get(api_url, params={"results": "1", "seed": "beside"}, timeout=30).json()["results"][0]
        assert first["login"]["uuid"] == page_1["login"]["uuid"]
    finally:
        server.terminate()
        server.communicate(timeout=30)


def test_a_busy_stream_port_is_one_error_line() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run([USERPIPE, "api", "serve", "--port", "0", "--stream-port", str(port)],
                              capture_output=True, text=True, timeout=60, check=False)

    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port} (--stream-port): ")
    assert done.stderr.count("\n") == 1


def test_no_stream_serves_the_api_only() -> None:
    server = subprocess.Popen([USERPIPE, "api", "serve", "--port", "0", "--no-stream"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        assert line.startswith("randomuser-compatible API on http://") and "WebSocket" not in line, line
    finally:
        server.terminate()
        server.communicate(timeout=30)
