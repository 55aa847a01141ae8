"""The saved dbt manifest: a fresh process with an unchanged project loads it instead of parsing; any change to
a project file (content, not mtime) makes the next one parse again."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ingestion.pipeline import ingest
from randomuser_api import LocalApi
from userpipe import warehouse
from userpipe.transform import PROJECT_DIR, Transformer

FRESH_PROCESS = """
import sys
from pathlib import Path
from userpipe.transform import Transformer
transformer = Transformer(project_dir=Path(sys.argv[1]), state_dir=Path(sys.argv[2]))
result = transformer.build()
print(transformer.manifest_source, result.success, len(result.nodes))
"""


@pytest.fixture
def project(dbt_database: str, local_api: LocalApi, tmp_path: Path) -> Path:
    """A copy of dbt_project/ this test may edit, over a database with users landed."""
    ingest(5, seed="saved-manifest", api_url=local_api.url, database_url=dbt_database)
    copy = tmp_path / "dbt_project"
    shutil.copytree(PROJECT_DIR, copy, ignore=shutil.ignore_patterns("target", "logs"))
    return copy


def fresh(project: Path, state: Path) -> Transformer:
    transformer = Transformer(project_dir=project, state_dir=state)
    transformer.parse()
    return transformer


def test_a_fresh_process_loads_the_saved_manifest_and_a_changed_file_is_parsed_again(
        project: Path, dbt_database: str, tmp_path: Path) -> None:
    state = tmp_path / "dbt-state"
    first = fresh(project, state)
    assert first.manifest_source == "parsed" and first.saved_manifest_path.is_file()
    nodes = set(first._manifest.nodes)

    env = {**os.environ, warehouse.DATABASE_URL_ENV: dbt_database}
    done = subprocess.run([sys.executable, "-c", FRESH_PROCESS, str(project), str(state)], env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    source, success, ran = done.stdout.split()
    # a build on the saved manifest runs what one on the parsed manifest runs
    assert (source, success) == ("saved", "True") and int(ran) == len(first.build().nodes) > 10

    # a new model: the next process must see it
    (project / "models" / "marts" / "probe_model.sql").write_text("select 1 as probe\n")
    added = fresh(project, state)
    assert added.manifest_source == "parsed" and "model.userpipe.probe_model" in added._manifest.nodes
    assert fresh(project, state).manifest_source == "saved"

    # the same size and mtime, another content: still parsed again (the key is the content)
    model = project / "models" / "marts" / "probe_model.sql"
    stat = model.stat()
    model.write_text("select 2 as probe\n")
    os.utime(model, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    changed = fresh(project, state)
    assert changed.manifest_source == "parsed"
    assert "select 2" in changed._manifest.nodes["model.userpipe.probe_model"].raw_code

    model.unlink()  # removed: parsed again, and gone from the manifest
    removed = fresh(project, state)
    assert removed.manifest_source == "parsed" and set(removed._manifest.nodes) == nodes


def test_a_truncated_saved_manifest_is_parsed_over(project: Path, tmp_path: Path) -> None:
    state = tmp_path / "dbt-state"
    saved = fresh(project, state).saved_manifest_path
    saved.write_bytes(saved.read_bytes()[:2000])  # the right key, a broken body
    again = fresh(project, state)
    assert again.manifest_source == "parsed" and len(again._manifest.nodes) > 10
    assert fresh(project, state).manifest_source == "saved"
