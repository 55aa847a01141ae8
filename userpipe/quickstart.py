"""The docker-compose quick start: check prerequisites, start the stack, run the flow once, show the dashboard.

Every failure is a `QuickstartError` whose message is one line saying what is wrong and what to do; without
Docker the answer is always the local way, `make run` (embedded PostgreSQL, no containers).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import requests

from userpipe.errors import UserpipeError

log = logging.getLogger(__name__)

STACK_PORTS = {5433: "analytics-postgres", 8090: "Kestra", 3000: "Grafana", 8000: "the local API"}
DASHBOARD_URL = "http://localhost:3000/d/realtime_users_001"
KESTRA_URL = "http://localhost:8090"
FLOW_NAMESPACE = "demo"
FLOW_ID = "synthetic_users_realtime"
FLOW_FILE = "kestra/main_demo_synthetic_users_realtime.yml"
FIRST_BATCH_SIZE = 10  # the flow's `batch_size` default, sent as the first execution's one form field
ANALYTICS_URL = "postgresql://analytics_user:{password}@localhost:5433/analytics"
LOCAL_WAY = "run the pipeline without containers instead: make run"
PASSWORD_KEYS_SUFFIX = "_PASSWORD"
BIND_ADDRESS_KEY = "USERPIPE_BIND_ADDRESS"  # where docker-compose.yml publishes the ports
DEFAULT_BIND_ADDRESS = "127.0.0.1"
# Kestra's basic-auth rules (webserver BasicAuthService): the username an email address, the password 8 to 256
# characters with a lower-case letter, an upper-case letter and a digit. Kestra refuses other credentials.
KESTRA_EMAIL = re.compile(r"[a-zA-Z0-9_!#$%&'*+/=?`{|}~^.-]+@[a-zA-Z0-9.-]+")
KESTRA_PASSWORD_RULE = "8 to 256 characters with a lower-case letter, an upper-case letter and a digit"

Printer = Callable[[str], None]


class QuickstartError(UserpipeError):
    """A prerequisite or step of the quick start failed; the message says which and what to do."""


def project_dir(given: Path | None = None) -> Path:
    """The folder holding docker-compose.yml: `given`, else the current one, else this package's checkout."""
    candidates = [given] if given is not None else [Path.cwd(), Path(__file__).resolve().parents[1]]
    for candidate in candidates:
        if (candidate / "docker-compose.yml").is_file():
            return candidate.resolve()
    where = given or "the current folder or the userpipe checkout"
    raise QuickstartError(f"docker-compose.yml not found in {where}: run userpipe quickstart from the checkout")


# --- prerequisites -------------------------------------------------------------------------------------

def find_docker(which: Callable[[str], str | None] = shutil.which) -> str:
    """The docker executable, or a QuickstartError when it is not installed."""
    docker = which("docker")
    if docker is None:
        raise QuickstartError(f"docker is not installed (no `docker` on PATH); {LOCAL_WAY}")
    return docker


def check_compose_plugin(docker: str) -> str:
    """The `docker compose` version, or a QuickstartError when the plugin is missing."""
    result = _run([docker, "compose", "version"])
    if result.returncode != 0:
        raise QuickstartError(f"the Docker Compose plugin is missing (`docker compose` failed: "
                              f"{_first_line(result.stderr)}); install it, or {LOCAL_WAY}")
    return result.stdout.strip()


def check_daemon(docker: str) -> str:
    """The Docker server version, or a QuickstartError when the daemon cannot be reached."""
    result = _run([docker, "info", "--format", "{{.ServerVersion}}"])
    version = result.stdout.strip()
    if result.returncode != 0 or not version:
        raise QuickstartError(f"the Docker daemon is not reachable ({_first_line(result.stderr)}); start Docker, "
                              f"or {LOCAL_WAY}")
    return version


def busy_ports(ports: Mapping[int, str]) -> dict[int, str]:
    """The ports of `ports` something already listens on (or that cannot be bound), with their use."""
    return {port: use for port, use in ports.items() if not _port_is_free(port)}


def check_ports(ports: Mapping[int, str] = STACK_PORTS) -> None:
    busy = busy_ports(ports)
    if busy:
        listing = ", ".join(f"{port} ({use})" for port, use in busy.items())
        raise QuickstartError(f"port(s) already in use: {listing}; stop what listens there "
                              f"(`make down` if it is an earlier userpipe stack), or {LOCAL_WAY}")


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


# --- .env ----------------------------------------------------------------------------------------------

def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE pairs of a .env file (comments and blank lines skipped)."""
    pairs: dict[str, str] = {}
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and "=" in stripped:
            key, _, value = stripped.partition("=")
            pairs[key.strip()] = value.strip().strip("'\"")
    return pairs


def ensure_env_file(root: Path) -> tuple[dict[str, str], bool]:
    """The stack's settings from `root/.env`, first writing it from .env.example with random passwords."""
    env_file = root / ".env"
    if env_file.exists():
        return read_env_file(env_file), False
    example = root / ".env.example"
    if not example.is_file():
        raise QuickstartError(f"{example} is missing: cannot create .env")
    lines = []
    for line in example.read_text().splitlines():
        key, sep, _value = line.partition("=")
        if sep and not line.lstrip().startswith("#") and key.strip().endswith(PASSWORD_KEYS_SUFFIX):
            line = f"{key}={random_password()}"
        lines.append(line)
    env_file.write_text("\n".join(lines) + "\n")
    env_file.chmod(0o600)
    return read_env_file(env_file), True


def check_passwords_changed(settings: Mapping[str, str], example: Path) -> None:
    """A QuickstartError naming every password of .env still left at .env.example's placeholder (or any
    `change-me...` value), before the stack starts with a password anyone can read in the repo."""
    placeholders = read_env_file(example) if example.is_file() else {}
    left = sorted(key for key, value in settings.items() if key.endswith(PASSWORD_KEYS_SUFFIX) and value
                  and (value == placeholders.get(key) or _looks_like_placeholder(value)))
    if left:
        raise QuickstartError(f"{', '.join(left)} in .env {'is' if len(left) == 1 else 'are'} still the placeholder "
                              "of .env.example: set real passwords in .env (or delete .env to get random ones)")


def _looks_like_placeholder(value: str) -> bool:
    return value.lower().replace("-", "").replace("_", "").startswith("changeme")


def random_password() -> str:
    """URL-safe (it goes into connection URLs), with the lower-case, upper-case letter and digit Kestra requires."""
    return "Up" + secrets.token_urlsafe(18).replace("-", "x").replace("_", "y") + "7"


def meets_kestra_password_rule(password: str) -> bool:
    """Whether Kestra accepts `password` for basic auth (KESTRA_PASSWORD_RULE)."""
    return (8 <= len(password) <= 256 and any(c.islower() for c in password)
            and any(c.isupper() for c in password) and any(c.isdigit() for c in password))


def check_kestra_login(settings: Mapping[str, str]) -> None:
    """A QuickstartError naming the .env setting Kestra would refuse, before the stack starts."""
    username = settings.get("KESTRA_BASIC_AUTH_USERNAME", "")
    if not (KESTRA_EMAIL.fullmatch(username) and len(username) <= 256):
        raise QuickstartError(f"KESTRA_BASIC_AUTH_USERNAME in .env must be an email address (Kestra refuses "
                              f"{username!r}): change it in .env")
    if not meets_kestra_password_rule(settings.get("KESTRA_BASIC_AUTH_PASSWORD", "")):
        raise QuickstartError(f"KESTRA_BASIC_AUTH_PASSWORD in .env must have {KESTRA_PASSWORD_RULE} (Kestra "
                              "refuses it otherwise): change it in .env")


# --- the stack -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Compose:
    """`docker compose` in the project folder."""

    docker: str
    root: Path

    def command(self, *args: str) -> list[str]:
        return [self.docker, "compose", "--project-directory", str(self.root), *args]

    def up(self) -> None:
        """`docker compose up -d --build`, its output going straight to the terminal."""
        result = subprocess.run(self.command("up", "-d", "--build"), cwd=self.root, check=False)
        if result.returncode != 0:
            raise QuickstartError(f"docker compose up failed (exit {result.returncode}): see its output above; "
                                  "`docker compose logs` shows the services' logs")

    def health(self) -> dict[str, str]:
        """Service -> health ("healthy", "starting", "unhealthy") or state when it has no health check."""
        result = _run(self.command("ps", "--all", "--format", "json"), cwd=self.root)
        if result.returncode != 0:
            raise QuickstartError(f"docker compose ps failed: {_first_line(result.stderr)}")
        return {row["Service"]: row.get("Health") or row.get("State", "") for row in parse_ps(result.stdout)}

    def running_services(self) -> set[str]:
        result = _run(self.command("ps", "--services", "--status", "running"), cwd=self.root)
        return set(result.stdout.split()) if result.returncode == 0 else set()


def parse_ps(output: str) -> list[dict[str, str]]:
    """`docker compose ps --format json`: a JSON array (older Compose) or one object per line (newer)."""
    text = output.strip()
    if not text:
        return []
    if text.startswith("["):
        rows: list[dict[str, str]] = json.loads(text)
        return rows
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def wait_until_healthy(health: Callable[[], dict[str, str]], services: set[str], timeout: float,
                       poll: float = 3.0) -> None:
    """Poll until every service reports healthy; name the laggards and their logs command on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        states = health()
        pending = {name: states.get(name, "missing") for name in sorted(services) if states.get(name) != "healthy"}
        if not pending:
            return
        if any(state in {"unhealthy", "exited", "dead"} for state in pending.values()) or \
                time.monotonic() > deadline:
            listing = ", ".join(f"{name} is {state}" for name, state in pending.items())
            first = next(iter(pending))
            raise QuickstartError(f"the stack is not healthy ({listing}); see `docker compose logs {first}`")
        time.sleep(poll)


# --- Kestra and the first users ------------------------------------------------------------------------

def trigger_execution(base_url: str, username: str, password: str, timeout: float = 60.0,
                      namespace: str = FLOW_NAMESPACE, flow_id: str = FLOW_ID,
                      inputs: Mapping[str, str] | None = None) -> str:
    """Start one execution of the flow through Kestra's API; its execution id.

    Kestra 1.0 serves `POST /api/v1/main/executions/{namespace}/{id}` (tenant `main`), which consumes only
    `multipart/form-data` (ExecutionController.createExecution), so the flow inputs go as form fields (by
    default `batch_size`; a multipart body needs at least one part). A 404 means the flow is not loaded yet
    (flow sync runs at startup), so it retries until `timeout`.
    """
    url = f"{base_url.rstrip('/')}/api/v1/main/executions/{namespace}/{flow_id}"
    fields = inputs if inputs is not None else {"batch_size": str(FIRST_BATCH_SIZE)}
    form = {name: (None, value) for name, value in fields.items()}  # (no file name, value): a plain form field
    deadline = time.monotonic() + timeout
    while True:
        try:
            response = requests.post(url, files=form, auth=(username, password), timeout=10)
        except requests.RequestException as exc:
            raise QuickstartError(f"Kestra is not reachable at {base_url}: {exc}") from exc
        if response.status_code in (401, 403):
            raise QuickstartError(f"Kestra refused the credentials (HTTP {response.status_code}): check "
                                  "KESTRA_BASIC_AUTH_USERNAME/PASSWORD in .env")
        if response.ok:
            try:
                execution_id: str = response.json()["id"]
            except (ValueError, KeyError, TypeError):
                raise QuickstartError(f"Kestra answered HTTP {response.status_code} without an execution id: "
                                      "see `docker compose logs kestra`") from None
            return execution_id
        if response.status_code != 404:
            raise QuickstartError(f"Kestra could not start {namespace}.{flow_id} (HTTP {response.status_code}): "
                                  "see `docker compose logs kestra`")
        if time.monotonic() > deadline:
            raise QuickstartError(f"flow {namespace}.{flow_id} is not in Kestra (HTTP 404): is {FLOW_FILE} "
                                  "valid? see `docker compose logs kestra`")
        time.sleep(2)


def count_users(database_url: str) -> int:
    """Rows in public.incoming_users (0 while the table does not exist yet)."""
    from userpipe import warehouse

    with warehouse.connect(database_url) as conn:
        exists = conn.execute("select to_regclass('public.incoming_users') is not null").fetchone()
        if not exists or not exists[0]:
            return 0
        row = conn.execute("select count(*) from public.incoming_users").fetchone()
        return int(row[0]) if row else 0


def wait_for_users(database_url: str, timeout: float, poll: float = 5.0) -> int:
    """Poll until users arrive in public.incoming_users; their count."""
    deadline = time.monotonic() + timeout
    while True:
        users = count_users(database_url)
        if users:
            return users
        if time.monotonic() > deadline:
            raise QuickstartError(f"no users in public.incoming_users after {timeout:.0f} s: check the execution "
                                  f"in Kestra ({KESTRA_URL}) and `docker compose logs kestra`")
        time.sleep(poll)


# --- the whole quick start ------------------------------------------------------------------------------

def check_prerequisites(root: Path, say: Printer) -> Compose:
    """Docker, the compose plugin, a reachable daemon, free ports (unless our stack already holds them)."""
    docker = find_docker()
    say(f"docker: {docker}")
    say(f"docker compose: {check_compose_plugin(docker)}")
    say(f"Docker daemon: {check_daemon(docker)}")
    compose = Compose(docker, root)
    if compose.running_services():
        say("the userpipe stack is already running: bringing it up to date")
    else:
        check_ports()
        say("ports 5433, 8090, 3000, 8000: free")
    return compose


def run(root: Path, say: Printer, health_timeout: float = 600.0, users_timeout: float = 240.0) -> int:
    """The quick start, step by step; the number of users found at the end."""
    compose = check_prerequisites(root, say)
    settings, created = ensure_env_file(root)
    if created:
        say(f"wrote {root / '.env'} with random passwords (keep it; it is gitignored)")
    check_passwords_changed(settings, root / ".env.example")
    check_kestra_login(settings)
    say(f"published ports listen on {settings.get(BIND_ADDRESS_KEY) or DEFAULT_BIND_ADDRESS} "
        f"({BIND_ADDRESS_KEY} in .env)")
    say("starting the stack: docker compose up -d --build (the first build takes a few minutes)")
    compose.up()
    services = {"analytics-postgres", "kestra-postgres", "api", "kestra", "grafana"}
    say("waiting for every service to be healthy ...")
    wait_until_healthy(compose.health, services, timeout=health_timeout)
    execution = trigger_execution(KESTRA_URL, settings.get("KESTRA_BASIC_AUTH_USERNAME", ""),
                                  settings.get("KESTRA_BASIC_AUTH_PASSWORD", ""))
    say(f"started Kestra execution {execution} of {FLOW_NAMESPACE}.{FLOW_ID}")
    database_url = ANALYTICS_URL.format(password=settings.get("POSTGRES_PASSWORD", ""))
    users = wait_for_users(database_url, timeout=users_timeout)
    say(f"{users} users in analytics.public.incoming_users")
    return users


def _run(command: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(command, capture_output=True, text=True, check=False, cwd=cwd, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return subprocess.CompletedProcess(command, 1, "", str(exc))


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else "no output"
