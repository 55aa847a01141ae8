"""docker-compose.yml, .env.example, Dockerfile: structure checked by parsing (no docker engine here)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(?::?[-?+])[^}]*)?\}")
SYSTEM_MOUNTS = {"/var/run/docker.sock", "/tmp/kestra-wd"}  # host paths Kestra's Docker task runner needs

PUBLISHED_PORTS = {"analytics-postgres": "5433:5432", "kestra": "8090:8080", "grafana": "3000:3000",
                   "api": "8000:8000"}
BIND = "${USERPIPE_BIND_ADDRESS:-127.0.0.1}"  # loopback unless .env opens them


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def env_example() -> dict[str, str]:
    pairs = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def mounts(service: dict[str, Any]) -> list[tuple[str, str]]:
    pairs = []
    for volume in service.get("volumes", []):
        source, target, *_ = volume.split(":")
        pairs.append((source, target))
    return pairs


def kestra_configuration(services: dict[str, dict[str, Any]]) -> dict[str, Any]:
    text = services["kestra"]["environment"]["KESTRA_CONFIGURATION"]
    config: dict[str, Any] = yaml.safe_load(VARIABLE.sub(lambda m: f"<{m.group(1)}>", text))
    return config


def test_services_publish_the_documented_ports(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) == {"analytics-postgres", "kestra-postgres", "kestra", "grafana", "api", "stream"}
    for name, port in PUBLISHED_PORTS.items():
        assert services[name]["ports"] == [f"{BIND}:{port}"], name
    assert "ports" not in services["kestra-postgres"], "Kestra's metadata database stays internal"


def test_every_service_is_health_checked_and_waits_for_healthy_dependencies(
        services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        assert service["healthcheck"]["test"][0] in {"CMD", "CMD-SHELL"}, name
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            assert condition == {"condition": "service_healthy"}, f"{name} -> {dependency}"
    assert set(services["kestra"]["depends_on"]) == {"kestra-postgres", "analytics-postgres", "api"}
    assert set(services["grafana"]["depends_on"]) == {"analytics-postgres"}


def test_analytics_database_matches_the_original_setup(services: dict[str, dict[str, Any]]) -> None:
    postgres = services["analytics-postgres"]
    assert re.fullmatch(r"postgres:1[67](\..*)?", postgres["image"])
    assert postgres["container_name"] == "analytics-postgres"
    assert postgres["environment"]["POSTGRES_DB"] == "analytics"
    assert postgres["environment"]["POSTGRES_USER"] == "analytics_user"
    assert VARIABLE.fullmatch(postgres["environment"]["POSTGRES_PASSWORD"])
    init = {target: source for source, target in mounts(postgres) if "docker-entrypoint-initdb.d" in target}
    assert "./grafana/readonly_role.sql" in init.values(), "the read-only role must be created at init"
    assert sorted(init) == sorted(init, key=lambda target: Path(target).name), "init scripts run by name order"


def test_secrets_come_from_env_and_every_variable_is_in_env_example(compose: dict[str, Any]) -> None:
    used = set(VARIABLE.findall(COMPOSE_FILE.read_text()))
    documented = env_example()
    assert used == set(documented), f"in compose only: {used - set(documented)}, unused: {set(documented) - used}"
    assert all(name.endswith(("PASSWORD", "USERNAME")) for name in documented.keys() - {"USERPIPE_BIND_ADDRESS"})


def test_every_published_port_listens_on_loopback_unless_env_opens_it(
        services: dict[str, dict[str, Any]]) -> None:
    published = [port for service in services.values() for port in service.get("ports", [])]
    assert len(published) == len(PUBLISHED_PORTS)
    assert all(re.fullmatch(r"\$\{USERPIPE_BIND_ADDRESS:-127\.0\.0\.1\}:\d+:\d+", port) for port in published)
    assert env_example()["USERPIPE_BIND_ADDRESS"] == "127.0.0.1"
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()


def test_every_mounted_host_path_exists_in_the_repo(services: dict[str, dict[str, Any]],
                                                    compose: dict[str, Any]) -> None:
    named = set(compose["volumes"])
    for name, service in services.items():
        for source, _target in mounts(service):
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
            elif source.startswith("/"):
                assert source in SYSTEM_MOUNTS, f"{name} mounts an unexpected host path {source}"
            else:
                assert source in named, f"{name} uses undeclared volume {source}"


def test_grafana_gets_provisioning_and_dashboards(services: dict[str, dict[str, Any]]) -> None:
    grafana = dict((target, source) for source, target in mounts(services["grafana"]))
    assert grafana["/etc/grafana/provisioning"] == "./grafana/provisioning"
    provider = yaml.safe_load((ROOT / "grafana/provisioning/dashboards/userpipe.yml").read_text())["providers"][0]
    assert grafana[provider["options"]["path"]] == "./grafana/dashboards"
    environment = services["grafana"]["environment"]
    assert VARIABLE.fullmatch(environment["GF_SECURITY_ADMIN_PASSWORD"])
    datasource = (ROOT / "grafana/provisioning/datasources/userpipe-postgres.yml").read_text()
    for variable in VARIABLE.findall(datasource):
        assert variable in environment, f"Grafana cannot expand ${{{variable}}}"
    host = yaml.safe_load(datasource)["datasources"][0]["url"].split(":")[0]
    assert host in services


def test_kestra_syncs_the_flows_folder_with_basic_auth_and_postgres(services: dict[str, dict[str, Any]]) -> None:
    kestra = services["kestra"]
    assert kestra["command"] == "server standalone"
    config = kestra_configuration(services)
    flows = dict((source, target) for source, target in mounts(kestra))["./kestra"]
    assert config["micronaut"]["io"]["watch"] == {"enabled": True, "paths": [flows]}
    auth = config["kestra"]["server"]["basic-auth"]
    assert auth == {"username": "<KESTRA_BASIC_AUTH_USERNAME>", "password": "<KESTRA_BASIC_AUTH_PASSWORD>"}
    assert config["kestra"]["repository"]["type"] == config["kestra"]["queue"]["type"] == "postgres"
    assert config["datasources"]["postgres"]["url"].startswith("jdbc:postgresql://kestra-postgres:5432/")


def test_the_flow_file_is_in_the_synced_folder() -> None:
    assert (ROOT / "kestra" / "main_demo_synthetic_users_realtime.yml").is_file()


def test_flow_tasks_get_the_project_image_network_and_urls(compose: dict[str, Any],
                                                           services: dict[str, dict[str, Any]]) -> None:
    environment = services["kestra"]["environment"]
    assert environment["ENV_USERPIPE_IMAGE"] == services["api"]["image"]
    assert environment["ENV_USERPIPE_NETWORK"] == compose["networks"]["default"]["name"]
    assert "@analytics-postgres:5432/analytics" in environment["ENV_USERPIPE_DATABASE_URL"]
    assert environment["ENV_USERPIPE_API_URL"] == "http://api:8000/api/"


def test_api_runs_the_project_image(services: dict[str, dict[str, Any]]) -> None:
    api = services["api"]
    assert api["build"] == {"context": ".", "dockerfile": "Dockerfile"}
    assert api["command"] == ["userpipe", "api", "serve", "--host", "0.0.0.0", "--port", "8000"]
    assert api["user"] == "10001:10001", "the always-on server runs unprivileged"
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.startswith("#") and "FROM python:3.11" in dockerfile
    assert "pip install --no-deps -e ." in dockerfile
    assert "useradd --create-home --uid 10001 userpipe" in dockerfile
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert {".env", ".venv", ".userpipe", ".git"} <= set(ignored)
