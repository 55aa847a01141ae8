"""The WebSocket feed itself: deterministic users by sequence, resume, frames, bad parameters, backpressure."""

from __future__ import annotations

import base64
import os
import socket
import time
from urllib.parse import urlsplit

import orjson
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from randomuser_api import build_response
from randomuser_api.stream import MAX_FRAME_USERS, LocalStream
from tests.stream.conftest import wait_until


def receive_users(url: str, count: int) -> tuple[dict[str, object], list[tuple[int, dict[str, object]]]]:
    """The hello and the first `count` (sequence, user) pairs of the feed at `url`."""
    users: list[tuple[int, dict[str, object]]] = []
    with connect(url, open_timeout=10) as ws:
        hello = orjson.loads(ws.recv(timeout=10))
        while len(users) < count:
            frame = orjson.loads(ws.recv(timeout=10))
            assert frame["type"] == "users"
            assert frame["info"]["results"] == len(frame["results"])
            assert frame["info"]["page"] == frame["seq"]
            users.extend((frame["seq"] + i, user) for i, user in enumerate(frame["results"]))
    return hello, users[:count]


def test_user_n_is_the_one_user_of_api_page_n(feed: LocalStream) -> None:
    hello, users = receive_users(f"{feed.url}?rate=500&seed=det&nat=fr,GB", 30)
    assert hello == {"type": "hello", "api": "userpipe-randomuser", "version": "1.4", "seed": "det", "rate": 500.0,
                     "nat": ["FR", "GB"], "from": 1}
    assert [seq for seq, _ in users] == list(range(1, 31))
    for seq, user in users[:5]:
        page = orjson.loads(build_response({"seed": "det", "results": "1", "page": str(seq), "nat": "FR,GB"}))
        assert user == page["results"][0]
    assert {user["nat"] for _, user in users} <= {"FR", "GB"}


def test_resume_from_a_sequence_has_no_gap_and_no_repeat(feed: LocalStream) -> None:
    _, first = receive_users(f"{feed.url}?rate=1000&seed=resume", 40)
    _, rest = receive_users(f"{feed.url}?rate=1000&seed=resume&from=26", 15)
    assert [seq for seq, _ in rest] == list(range(26, 41))
    assert [user for _, user in rest] == [user for _, user in first[25:40]]


def test_default_seed_is_fresh_and_announced(feed: LocalStream) -> None:
    hello_a, users_a = receive_users(feed.url, 1)
    hello_b, users_b = receive_users(feed.url, 1)
    assert hello_a["seed"] != hello_b["seed"] and users_a != users_b
    assert hello_a["rate"] == 1.0


def test_high_rate_batches_users_into_frames(feed: LocalStream) -> None:
    frames = []
    with connect(f"{feed.url}?rate=5000&seed=fast", open_timeout=10) as ws:
        ws.recv(timeout=10)
        for _ in range(20):
            frames.append(orjson.loads(ws.recv(timeout=10)))
    assert max(len(frame["results"]) for frame in frames) > 1
    assert all(len(frame["results"]) <= MAX_FRAME_USERS for frame in frames)
    seqs = [frame["seq"] for frame in frames]
    assert seqs == sorted(seqs) and all(isinstance(frame["emitted_at"], float) for frame in frames)


@pytest.mark.parametrize(("query", "message"), [
    ("rate=0", "rate must be in (0, 20000]"),
    ("rate=-1", "rate must be in (0, 20000]"),
    ("rate=abc", "rate must be a number"),
    ("rate=20001", "rate must be in (0, 20000]"),
    ("rate=nan", "rate must be a finite number"),
    ("from=0", "from must be a whole number"),
    ("from=1.5", "from must be a whole number"),
    ("nat=XX", "unknown nationality XX"),
    ("seed=a%20b", "seed must be 1-64 letters"),
])
def test_bad_parameters_are_refused_before_the_upgrade(feed: LocalStream, query: str, message: str) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{feed.url}?{query}", open_timeout=10)
    response = refused.value.response
    assert response.status_code == 400
    assert message in orjson.loads(response.body)["error"]


def test_other_paths_are_404(feed: LocalStream) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(feed.url.replace("/api/stream", "/api/"), open_timeout=10)
    assert refused.value.response.status_code == 404


def test_a_consumer_that_does_not_read_stalls_the_feed(feed: LocalStream) -> None:
    """Backpressure: a client that upgrades and never reads gets a bounded amount sent, not 20,000 users/s."""
    parts = urlsplit(feed.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall((f"GET {parts.path}?rate=20000&seed=slow HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                      f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        assert sock.recv(12) == b"HTTP/1.1 101"
        wait_until(lambda: feed.users_sent > 0, what="the first frame")

        def stalled() -> bool:
            before = feed.users_sent
            time.sleep(0.5)
            return feed.users_sent == before

        wait_until(stalled, timeout=30, what="the feed to stop sending to a client that does not read")
        held = feed.users_sent
        assert held < 20_000, f"{held} users sent to a client that read nothing"


def test_the_feed_runs_in_the_foreground_from_the_command_line(tmp_path: object) -> None:
    import subprocess
    import sys

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "randomuser_api.stream", "--port", str(port)],
                              stderr=subprocess.PIPE, text=True)
    try:
        def hello() -> dict[str, object] | None:
            try:
                with connect(f"ws://127.0.0.1:{port}/api/stream?seed=cli", open_timeout=5) as ws:
                    return dict(orjson.loads(ws.recv(timeout=5)))
            except OSError:
                return None

        assert wait_until(hello, timeout=30, what="the feed to listen")["seed"] == "cli"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_full_catch_up_frame_fits_a_default_websocket_client() -> None:
    """The largest frame the feed sends (MAX_FRAME_USERS users) is under websockets' default 1 MiB max_size."""
    from randomuser_api.stream import StreamRequest, users_frame

    request = StreamRequest(seed="big", rate=20_000)
    sizes = [len(users_frame(request, first, MAX_FRAME_USERS, 0.0)) for first in (1, 10**6, 10**12)]
    assert max(sizes) < 2**20
