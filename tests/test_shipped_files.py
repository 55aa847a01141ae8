"""Every YAML and JSON file the repo ships parses (what cannot run here is at least well-formed)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _shipped(*suffixes: str) -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    paths = [ROOT / name for name in listed.decode().split("\0") if name]
    return sorted(path for path in paths if path.suffix in suffixes and path.is_file())


YAML_FILES = _shipped(".yml", ".yaml")
JSON_FILES = _shipped(".json")


def test_the_repo_ships_the_files_we_expect() -> None:
    names = {path.relative_to(ROOT).as_posix() for path in YAML_FILES + JSON_FILES}
    assert {"docker-compose.yml", "profiles.yml", "kestra/main_demo_synthetic_users_realtime.yml",
            "dbt_project/dbt_project.yml", "grafana/dashboards/realtime_user_analytics.json"} <= names


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_yaml_parses(path: Path) -> None:
    documents = list(yaml.safe_load_all(path.read_text()))
    assert documents and all(doc is not None for doc in documents), f"{path} is empty"


@pytest.mark.parametrize("path", JSON_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_json_parses(path: Path) -> None:
    assert json.loads(path.read_text()) is not None
