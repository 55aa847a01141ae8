"""`userpipe quickstart`: what runs without a Docker engine (this machine has a docker CLI, no daemon)."""

from __future__ import annotations

import base64
import email.parser
import email.policy
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import psycopg
import pytest
import yaml

from userpipe import quickstart

ROOT = Path(__file__).resolve().parents[2]
USERPIPE = Path(sys.executable).parent / "userpipe"


def run_cli(*args: str, path: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": path}
    return subprocess.run([str(USERPIPE), *args], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=60, check=False)


def docker_daemon_reachable() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    result = subprocess.run([docker, "info"], capture_output=True, text=True, check=False, timeout=30)
    return result.returncode == 0


def test_without_docker_on_path_it_says_so_in_one_line_and_points_at_make_run(tmp_path: Path) -> None:
    result = run_cli("quickstart", path=str(tmp_path))
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: docker is not installed")
    assert line.endswith("make run")


@pytest.mark.skipif(docker_daemon_reachable(), reason="a reachable Docker daemon would really start the stack")
def test_with_this_machines_docker_but_no_engine_it_fails_in_one_line() -> None:
    result = run_cli("quickstart", path=os.environ["PATH"])
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert "Docker Compose plugin is missing" in line or "Docker daemon is not reachable" in line
    assert line.endswith("make run")


def test_a_docker_whose_daemon_is_down_is_reported(tmp_path: Path) -> None:
    docker = tmp_path / "docker"
    docker.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = compose ]; then echo "Docker Compose version v2.29.7"; exit 0; fi\n'
        'echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock." >&2; exit 1\n'
    )
    docker.chmod(0o755)
    result = run_cli("quickstart", path=str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "error: the Docker daemon is not reachable (Cannot connect to the Docker daemon at "
        "unix:///var/run/docker.sock.); start Docker, or run the pipeline without containers instead: make run"
    )


def test_busy_ports_finds_a_real_listener_and_not_a_free_port() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        busy = listener.getsockname()[1]
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as spare:
            spare.bind(("127.0.0.1", 0))
            free = spare.getsockname()[1]
        assert quickstart.busy_ports({busy: "Grafana", free: "Kestra"}) == {busy: "Grafana"}
        with pytest.raises(quickstart.QuickstartError, match=rf"port\(s\) already in use: {busy} \(Grafana\)"):
            quickstart.check_ports({busy: "Grafana"})


def test_env_file_is_written_once_with_random_kestra_compatible_passwords(tmp_path: Path) -> None:
    shutil.copy(ROOT / ".env.example", tmp_path / ".env.example")
    settings, created = quickstart.ensure_env_file(tmp_path)
    example = quickstart.read_env_file(ROOT / ".env.example")
    assert created and settings.keys() == example.keys()
    passwords = [value for key, value in settings.items() if key.endswith("_PASSWORD")]
    assert len(set(passwords)) == len(passwords) == 5
    for password in passwords:
        assert password not in example.values()
        assert quickstart.meets_kestra_password_rule(password)
        assert password.replace("-", "").replace("_", "").isalnum()
    quickstart.check_kestra_login(settings)
    assert settings["KESTRA_BASIC_AUTH_USERNAME"] == example["KESTRA_BASIC_AUTH_USERNAME"]
    assert oct((tmp_path / ".env").stat().st_mode & 0o777) == "0o600"
    assert quickstart.ensure_env_file(tmp_path) == (settings, False)


def test_compose_ps_output_of_old_and_new_compose_versions_parses() -> None:
    rows = [{"Service": "grafana", "State": "running", "Health": "healthy"},
            {"Service": "api", "State": "running", "Health": "starting"}]
    assert quickstart.parse_ps(json.dumps(rows)) == rows
    assert quickstart.parse_ps("\n".join(json.dumps(row) for row in rows)) == rows
    assert quickstart.parse_ps("") == []


def test_waiting_for_health_returns_when_all_are_healthy_and_names_a_failing_service() -> None:
    states = iter([{"api": "starting", "grafana": "healthy"}, {"api": "healthy", "grafana": "healthy"}])
    quickstart.wait_until_healthy(lambda: next(states), {"api", "grafana"}, timeout=5, poll=0)
    with pytest.raises(quickstart.QuickstartError, match=r"kestra is unhealthy.*docker compose logs kestra"):
        quickstart.wait_until_healthy(lambda: {"kestra": "unhealthy"}, {"kestra"}, timeout=5, poll=0)


@pytest.mark.parametrize(("password", "accepted"), [
    ("ChangeMe1234", True), ("aB3aB3aB", True), ("Ab3" * 85 + "x", True),
    ("CHANGEME1234", False),  # no lower-case letter
    ("changeme1234", False), ("ChangeMeAbcd", False), ("Ab3Ab3A", False), ("Ab3" * 86, False)])
def test_the_kestra_password_rule(password: str, accepted: bool) -> None:
    assert quickstart.meets_kestra_password_rule(password) is accepted


def test_placeholder_passwords_of_env_example_stop_the_quick_start_in_one_line(tmp_path: Path) -> None:
    shutil.copy(ROOT / ".env.example", tmp_path / ".env.example")
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")  # copied but not edited
    copied, created = quickstart.ensure_env_file(tmp_path)
    assert not created
    with pytest.raises(quickstart.QuickstartError) as caught:
        quickstart.check_passwords_changed(copied, tmp_path / ".env.example")
    message = str(caught.value)
    assert "\n" not in message and "still the placeholder of .env.example" in message
    assert all(key in message for key in copied if key.endswith("_PASSWORD"))
    (tmp_path / ".env").unlink()
    generated, _ = quickstart.ensure_env_file(tmp_path)
    quickstart.check_passwords_changed(generated, tmp_path / ".env.example")
    with pytest.raises(quickstart.QuickstartError, match=r"^GRAFANA_ADMIN_PASSWORD in \.env is still"):
        quickstart.check_passwords_changed({**generated, "GRAFANA_ADMIN_PASSWORD": "Change-Me-2"},
                                           tmp_path / ".env.example")
    assert generated["USERPIPE_BIND_ADDRESS"] == "127.0.0.1"


def test_kestra_credentials_kestra_would_refuse_stop_the_quick_start_in_one_line() -> None:
    example = quickstart.read_env_file(ROOT / ".env.example")
    quickstart.check_kestra_login(example)
    comment = next(line for line in (ROOT / ".env.example").read_text().splitlines() if "8 to 256" in line)
    assert "lower-case letter, an upper-case letter and a digit" in comment
    with pytest.raises(quickstart.QuickstartError, match=r"^KESTRA_BASIC_AUTH_PASSWORD in \.env must have 8 to"):
        quickstart.check_kestra_login({**example, "KESTRA_BASIC_AUTH_PASSWORD": "CHANGEME1234"})
    with pytest.raises(quickstart.QuickstartError, match=r"^KESTRA_BASIC_AUTH_USERNAME in \.env must be an email"):
        quickstart.check_kestra_login({**example, "KESTRA_BASIC_AUTH_USERNAME": "admin"})


class KestraLike(BaseHTTPRequestHandler):
    """Answers `POST /api/v1/main/executions/{namespace}/{id}` like Kestra 1.0's ExecutionController: basic auth,
    the one flow known, and only `multipart/form-data` bodies (HTTP 415 for any other content type)."""

    received: ClassVar[list[dict[str, str]]] = []  # the form fields of each execution started

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        expected = "Basic " + base64.b64encode(b"admin@userpipe.local:Secret123").decode()
        content_type = self.headers.get("Content-Type", "")
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("Authorization") != expected:
            self._reply(401, {"message": "Unauthorized"})
        elif self.path != "/api/v1/main/executions/demo/synthetic_users_realtime":
            self._reply(404, {"message": f"not found: {self.path}"})
        elif not content_type.startswith("multipart/form-data"):
            self._reply(415, {"message": f"Unsupported Media Type: {content_type}"})
        else:
            self.received.append(form_fields(content_type, body))
            self._reply(200, {"id": "4Xy1", "namespace": "demo", "flowId": "synthetic_users_realtime"})

    def _reply(self, status: int, body: dict[str, str]) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def form_fields(content_type: str, body: bytes) -> dict[str, str]:
    """The name -> value form fields of a multipart/form-data body (parsed by the standard library)."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    assert message.is_multipart(), "not a multipart body"
    fields = {}
    for part in message.iter_parts():
        assert part.get_content_disposition() == "form-data"
        fields[str(part.get_param("name", header="content-disposition"))] = part.get_content()
    return fields


@pytest.fixture
def kestra_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), KestraLike)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_fake_kestra_refuses_what_kestra_refuses(kestra_url: str) -> None:
    token = base64.b64encode(b"admin@userpipe.local:Secret123").decode()
    bare = urllib.request.Request(f"{kestra_url}/api/v1/main/executions/demo/synthetic_users_realtime", data=b"",
                                  method="POST", headers={"Authorization": f"Basic {token}"})
    with pytest.raises(urllib.error.HTTPError) as refused:  # urllib sends it as form-urlencoded
        urllib.request.urlopen(bare, timeout=10)
    assert refused.value.code == 415


def test_trigger_execution_posts_multipart_inputs_with_basic_auth(kestra_url: str) -> None:
    KestraLike.received.clear()
    assert quickstart.trigger_execution(kestra_url, "admin@userpipe.local", "Secret123") == "4Xy1"
    assert quickstart.trigger_execution(kestra_url, "admin@userpipe.local", "Secret123",
                                        inputs={"batch_size": "25"}) == "4Xy1"
    assert KestraLike.received == [{"batch_size": "10"}, {"batch_size": "25"}]
    flow = yaml.safe_load((ROOT / quickstart.FLOW_FILE).read_text())
    assert [(i["id"], i["defaults"]) for i in flow["inputs"]] == [("batch_size", quickstart.FIRST_BATCH_SIZE)]
    with pytest.raises(quickstart.QuickstartError, match="Kestra refused the credentials"):
        quickstart.trigger_execution(kestra_url, "admin@userpipe.local", "wrong")
    with pytest.raises(quickstart.QuickstartError, match=r"flow demo\.missing is not in Kestra"):
        quickstart.trigger_execution(kestra_url, "admin@userpipe.local", "Secret123", timeout=0, flow_id="missing")


def test_count_users_is_zero_before_the_table_exists(database_url: str) -> None:
    assert quickstart.count_users(database_url) == 0
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("create table public.incoming_users (user_id text primary key)")
        conn.execute("insert into public.incoming_users values ('a'), ('b')")
    assert quickstart.wait_for_users(database_url, timeout=1) == 2
