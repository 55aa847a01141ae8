"""The committed dashboard and provisioning: generated, complete, pointed at the read-only datasource."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "grafana"
DASHBOARD_FILE = GRAFANA / "dashboards" / "realtime_user_analytics.json"

ORIGINAL_PANELS = {
    "Total Users": "stat",
    "Users Last Minute": "stat",
    "Unique Countries": "stat",
    "Average Age": "stat",
    "Real-time Ingestion Rate": "timeseries",
    "Gender Distribution": "piechart",
    "Top 10 Countries": "piechart",
    "Latest Users": "table",
    "Users by Nationality": "table",
    "Age Distribution": "barchart",
}
HEALTH_PANELS = {
    "Last Cycle Status": "stat",
    "Last Cycle Duration": "stat",
    "Freshness Lag": "stat",
    "Failed Checks (last cycle)": "stat",
    "Cycle Durations": "timeseries",
    "Failed Checks": "table",
    "Quarantined users": "stat",
}
LIVE_PANELS = {
    "Users per Second (last 5 minutes)": "timeseries",
    "Live Total Users": "stat",
    "Stream Lag": "stat",
    "Last Stream Commit": "stat",
    "Streamed Users": "stat",
    "Latest Users (live)": "table",
}


def load_builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_dashboard", GRAFANA / "build_dashboard.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def board() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD_FILE.read_text())
    return loaded


def data_panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    return [panel for panel in board["panels"] if panel["type"] != "row"]


def test_committed_json_is_what_the_builder_generates() -> None:
    assert DASHBOARD_FILE.read_text() == load_builder().render(), "run: python grafana/build_dashboard.py"


def test_dashboard_is_live_every_5s_over_the_last_30_minutes(board: dict[str, Any]) -> None:
    assert board["uid"] == "realtime_users_001"
    assert board["refresh"] == "5s"
    assert board["time"] == {"from": "now-30m", "to": "now"}
    assert board["liveNow"] is True
    assert board["schemaVersion"] >= 39


def test_it_has_the_original_panels_and_pipeline_health(board: dict[str, Any]) -> None:
    panels = {panel["title"]: panel["type"] for panel in data_panels(board)}
    assert panels == ORIGINAL_PANELS | HEALTH_PANELS | LIVE_PANELS
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    donut = next(p for p in board["panels"] if p["title"] == "Gender Distribution")
    assert donut["options"]["pieType"] == "donut"


def test_latest_users_shows_pictures_as_images(board: dict[str, Any]) -> None:
    table = next(p for p in board["panels"] if p["title"] == "Latest Users")
    assert "limit 50" in table["targets"][0]["rawSql"]
    picture = next(o for o in table["fieldConfig"]["overrides"] if o["matcher"]["options"] == "picture")
    cell = next(p for p in picture["properties"] if p["id"] == "custom.cellOptions")
    assert cell["value"]["type"] == "image"


def test_every_query_uses_the_provisioned_datasource_and_reads_marts_or_ops(board: dict[str, Any]) -> None:
    for panel in data_panels(board):
        assert panel["datasource"] == {"type": "grafana-postgresql-datasource", "uid": "userpipe-postgres"}
        (target,) = panel["targets"]
        assert target["datasource"] == panel["datasource"]
        sql = target["rawSql"]
        relations = set(re.findall(r"\b(?:from|join)\s+([a-z_]+\.[a-z_]+)", sql, flags=re.IGNORECASE))
        assert relations, f"{panel['title']}: no schema-qualified relation in {sql!r}"
        allowed = {"marts", "ops"} | ({"public"} if panel["title"] == "Latest Users" else set())
        assert {name.split(".")[0] for name in relations} <= allowed, f"{panel['title']} reads {relations}"
        assert "--" not in sql and "/*" not in sql, "comments are stripped differently across Grafana versions"


def test_datasource_provisioning_uses_the_read_only_role_and_env_secrets() -> None:
    config = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "userpipe-postgres.yml").read_text())
    (source,) = config["datasources"]
    assert source["type"] == "grafana-postgresql-datasource"
    assert source["uid"] == "userpipe-postgres"
    assert re.fullmatch(r"\$\{[A-Z_]+\}", source["secureJsonData"]["password"]), "password must come from env"
    role = re.search(r"create role (\w+) login", (GRAFANA / "readonly_role.sql").read_text())
    assert role and source["user"] == role.group(1), "the datasource must log in as the read-only role"


def test_dashboard_provider_loads_the_dashboards_folder() -> None:
    config = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "userpipe.yml").read_text())
    (provider,) = config["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"
