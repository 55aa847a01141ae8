"""The flow file and Kestra 1.0's local flow sync (`micronaut.io.watch`, cli `FileChangedEventListener`).

What the sync does with a file, read from kestra-io/kestra (1.0 line):
- it loads every `.yml`/`.yaml` under the watched paths, sub-folders included, and each valid one becomes a flow;
- the flow's tenant is the file name up to its first `_` (`getTenantIdFromPath`), its namespace and id come
  from the YAML; two files with the same YAML under two tenant prefixes are two flows, each scheduled;
- flows it writes back (UI edits of a flow without a file, and at startup every stored flow in later 1.x) go
  to `<first watched path>/<uid>.yml`, uid = `tenant_namespace_id` (`FlowId.uidWithoutRevision`, `_`-joined).
So the one file is named `main_demo_synthetic_users_realtime.yml`: tenant `main` (the only tenant of the open
source edition), and exactly the path Kestra itself writes the flow to, so it never adds a second copy.
Later 1.x versions read tenants with `_` in them (FileChangedEventListenerTenantFilenameTest): the name up to
`_<namespace>.<id>` or `_<namespace>_<id>`, `main` when the name is just `<namespace>.<id>`; that rule gives
our file the tenant `main` too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
FLOW_SUFFIXES = (".yml", ".yaml")


def tenant_from_file_name(path: Path) -> str:
    """The tenant Kestra 1.0's flow sync gives the flow in `path`: the file name up to the first `_`."""
    return path.name.split("_")[0]


def tenant_from_file_name_later(path: Path, namespace: str, flow_id: str) -> str:
    """The tenant later 1.x versions give the flow `namespace`.`flow_id` read from `path`."""
    stem = path.name.removesuffix(".yml").removesuffix(".yaml")
    for separator in (".", "_"):
        suffix = f"{namespace}{separator}{flow_id}"
        if stem == suffix:
            return "main"
        if stem.endswith(f"_{suffix}"):
            return stem.removesuffix(f"_{suffix}")
    return tenant_from_file_name(path)


def synced_flow(path: Path) -> tuple[str, str, str]:
    """(tenant, namespace, id) of the flow Kestra's sync registers from `path`."""
    flow = yaml.safe_load(path.read_text())
    return tenant_from_file_name(path), flow["namespace"], flow["id"]


def written_back_name(tenant: str, namespace: str, flow_id: str) -> str:
    """The file name Kestra writes a flow to: its uid without revision, `_`-joined, plus `.yml`."""
    return "_".join((tenant, namespace, flow_id)) + ".yml"


def watched_folders() -> list[Path]:
    """The host folders mounted where the Kestra service's `micronaut.io.watch.paths` point."""
    kestra: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())["services"]["kestra"]
    configuration = yaml.safe_load(kestra["environment"]["KESTRA_CONFIGURATION"].replace("${", "<").replace("}", ">"))
    paths = configuration["micronaut"]["io"]["watch"]["paths"]
    mounts = {target: source for source, target, *_ in (volume.split(":") for volume in kestra["volumes"])}
    return [(REPO / mounts[path]).resolve() for path in paths]


def flow_files(folder: Path) -> list[Path]:
    """Every file the sync would try to load from `folder` (it walks sub-folders too)."""
    return sorted(path for path in folder.rglob("*") if path.name.endswith(FLOW_SUFFIXES))


@pytest.mark.parametrize(("name", "tenant"), [("main_demo_synthetic_users_realtime.yml", "main"),
                                              ("main_demo.synthetic_users_realtime.yml", "main"),
                                              ("synthetic_users_realtime.yml", "synthetic"),
                                              ("demo.synthetic.yml", "demo.synthetic.yml")])
def test_the_tenant_is_the_file_name_up_to_its_first_underscore(name: str, tenant: str) -> None:
    assert tenant_from_file_name(Path("/app/flows") / name) == tenant


@pytest.mark.parametrize(("name", "namespace", "flow_id", "tenant"), [  # the cases of the upstream tests
    ("my_team_my_app.service_health.yml", "my_app", "service_health", "my_team"),
    ("my_build_team_my_app.service_health.yaml", "my_app", "service_health", "my_build_team"),
    ("my_team_my_app_service_health.yml", "my_app", "service_health", "my_team"),
    ("other_my_app.service_health.yml", "my_app", "service_health", "other"),
    ("myapp.service-health.yml", "myapp", "service-health", "main"),
    ("my_app.service_health.yaml", "my_app", "service_health", "main")])
def test_the_later_rule_reads_tenants_with_underscores(name: str, namespace: str, flow_id: str,
                                                       tenant: str) -> None:
    assert tenant_from_file_name_later(Path(name), namespace, flow_id) == tenant


def test_the_watched_folder_holds_exactly_one_flow_file_for_main_demo() -> None:
    [folder] = watched_folders()
    assert folder == REPO / "kestra"
    [flow_file] = flow_files(folder)
    assert not flow_file.is_symlink()
    assert synced_flow(flow_file) == ("main", "demo", "synthetic_users_realtime")
    assert tenant_from_file_name_later(flow_file, "demo", "synthetic_users_realtime") == "main"


def test_the_flow_file_has_the_name_kestra_writes_the_flow_back_to() -> None:
    [flow_file] = flow_files(REPO / "kestra")
    assert flow_file.name == written_back_name(*synced_flow(flow_file))
